"""A validated config (:mod:`lstm_strategies.backtest.config`) → Cerebro → returns, records and provenance.

The runner knows no strategy by name: each strategy declares the leverage it needs (the broker
lends up to it, at ``borrow_rate``), its comparison baseline and its extra tables.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any

import backtrader as bt
import pandas as pd

from lstm_strategies._version import __version__
from lstm_strategies.backtest.config import BacktestConfig, read_toml
from lstm_strategies.backtest.spec import RunSpec, resolve
from lstm_strategies.core.errors import BacktestError
from lstm_strategies.data.bars import fingerprint
from lstm_strategies.data.calendar import Calendar
from lstm_strategies.strategies.base import ProgressAnalyzer, RecordsAnalyzer
from lstm_strategies.trading.feed import FractionalCommission, MarginBroker, to_bt_feed

__all__ = ["BacktestConfig", "BacktestResult", "RunSpec", "read_toml", "resolve", "run_backtest"]

#: Backtrader's `leverage` for strategies that may borrow. Its cash check counts only cash, not
#: unrealized gains, so a tight value would refuse rebalances a real margin account accepts; the
#: strategy caps its own weights at max_leverage, and MarginBroker charges interest on what is borrowed.
CREDIT_LINE = 1000.0


@dataclass(frozen=True)
class BrokerTotals:
    """What the broker saw over a run: value traded, orders filled and refused, costs, borrowing."""

    traded_value: float = 0.0
    orders: int = 0
    commission: float = 0.0
    slippage: float = 0.0
    rejected_orders: int = 0
    borrowing: dict = field(default_factory=dict)


@dataclass
class BacktestResult:
    """What one run produced."""

    config: BacktestConfig
    returns: pd.Series          # daily strategy returns from the trading start
    benchmark: pd.Series        # daily buy-and-hold returns of the same asset
    records: pd.DataFrame       # per-bar forecast, weights, hedge ratio (traded period)
    data: pd.DataFrame
    provenance: dict
    calendar: Calendar
    extras: dict = field(default_factory=dict)
    baseline: tuple[str, pd.Series] | None = None   # (label, daily returns) of the comparison run
    horizon_days: int | None = None  # the forecast horizon (days of the calendar) the strategy's decision read
    params: Any = None               # the strategy's validated parameters (its Params model, defaults filled in)
    strategy: type | None = None     # the strategy class (its declarations and report hooks)
    broker: BrokerTotals = field(default_factory=BrokerTotals)


def daily_returns(values: pd.Series) -> pd.Series:
    """Daily simple returns of an equity curve (last value of each UTC day)."""
    daily = values.resample("1D").last().dropna()
    return daily.pct_change().dropna()


def run_backtest(config: BacktestConfig | RunSpec, data: pd.DataFrame | None = None, runonce: bool = True,
                 progress: bool = False, with_baseline: bool | None = None) -> BacktestResult:
    """Run one backtest (a config, resolved here, or a :class:`~lstm_strategies.backtest.spec.RunSpec`) and
    collect its returns, records, provenance and, when the config asks for it, its baseline.

    Raises
    ------
    BacktestError
        The broker rejected or cancelled orders and ``[backtest] allow_rejected_orders`` is false.
    DataError
        The history is shorter than the forecaster's warm-up.
    """
    spec = config if isinstance(config, RunSpec) else resolve(config, data)
    result = _run(spec, runonce, progress)
    wanted = spec.config.report.baselines if with_baseline is None else with_baseline
    if wanted and len(result.records):
        baseline = spec.baseline(result.records)
        if baseline is not None:
            base_spec, label = baseline
            result.baseline = (label, _run(base_spec, runonce, progress).returns)
    return result


def _cerebro(spec: RunSpec, runonce: bool, progress: bool) -> bt.Cerebro:
    """Backtrader set up for ``spec``: the broker (lending up to the strategy's leverage), the feed, costs, the
    strategy with the spec's forecaster, the records analyzer."""
    cfg = spec.config
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    leverage = spec.leverage
    cerebro.broker = MarginBroker(borrow_rate=cfg.backtest.borrow_rate, periods_per_year=spec.periods_per_year)
    cerebro.adddata(to_bt_feed(spec.data, name=cfg.name))
    cerebro.broker.setcash(cfg.backtest.cash)
    cerebro.broker.addcommissioninfo(FractionalCommission(
        commission=cfg.backtest.commission, leverage=1.0 if leverage <= 1.0 else CREDIT_LINE))
    if cfg.backtest.slippage:
        cerebro.broker.set_slippage_perc(cfg.backtest.slippage, slip_open=True, slip_limit=True, slip_match=True)
    cerebro.addstrategy(spec.strategy, **spec.strategy_kwargs())
    cerebro.addanalyzer(RecordsAnalyzer, _name="records")
    if progress:
        cerebro.addanalyzer(ProgressAnalyzer, total=len(spec.data), desc=cfg.name)
    return cerebro


def _close_progress_bars(cerebro: bt.Cerebro) -> None:
    for strat in getattr(cerebro, "runstrats", None) or []:
        for analyzer in getattr(strat[0] if isinstance(strat, list) else strat, "analyzers", []):
            bar = getattr(analyzer, "bar", None)
            if bar is not None:
                bar.close()


def _check_orders(spec: RunSpec, strategy) -> int:
    """Orders the broker rejected or cancelled: a warning, and an error unless the config accepts them."""
    rejected = pd.DataFrame(strategy.rejected)
    if len(rejected):
        first = rejected.iloc[0]
        message = (f"{spec.name}: the broker rejected or cancelled {len(rejected)} of "
                   f"{len(rejected) + strategy.n_orders} orders (first {first['datetime']}: {first['status']}, "
                   f"size {first['size']:.6g}); the weights held are not the strategy's")
        print(f"warning: {message}", file=sys.stderr)
        if not spec.config.backtest.allow_rejected_orders:
            raise BacktestError(f"{spec.config.path}: {message}. Fix the cause (cash, leverage) or set "
                                "[backtest] allow_rejected_orders = true to keep such a run.")
    return int(len(rejected))


def _model_name(forecaster) -> str | None:
    """The model as the config names it: a bundled model by its name (its weights' SHA-256 identifies it), a
    folder as the user wrote it; never this machine's absolute path of the package."""
    if "model" not in forecaster.param_names():
        return None
    model = forecaster.get_params().get("model")
    return None if model is None else str(model)


def _provenance(spec: RunSpec, strategy) -> dict:
    cfg, df, fc = spec.config, spec.data, strategy.forecast.forecaster
    card = getattr(fc, "card", None)
    provenance = {
        "config": cfg.path, "strategy": cfg.strategy.name, "forecaster": cfg.strategy.forecaster,
        "forecaster_repr": repr(fc), "data_source": df.attrs.get("source"), "data_fingerprint": fingerprint(df),
        "data_first_bar": str(df.index[0]), "data_last_bar": str(df.index[-1]), "trading_start": str(spec.start),
        "bars": len(df), "timeframe": df.attrs.get("timeframe"), "calendar": spec.calendar.name,
        "model": _model_name(fc) or cfg.strategy.forecaster,
        "model_weights_sha256": card.weights_sha256 if card else None,
        "model_train_window": [card.train_start, card.train_end] if card else None,
        "in_sample": bool(strategy.forecast.in_sample), "horizon_days": strategy.forecast.horizon,
        "lstm_strategies": __version__,
    }
    if getattr(fc, "fold_log", None):
        provenance["refit_folds"] = fc.fold_log
    if fc.inputs:
        provenance["inputs"] = {name: fc.input_series[name].attrs.get("source") for name in fc.inputs}
        provenance["input_fallbacks"] = fc.input_fallbacks
    return provenance


def _run(spec: RunSpec, runonce: bool, progress: bool) -> BacktestResult:
    """One Backtrader run of ``spec``: returns after costs from the trading start, records, provenance, extras."""
    cerebro = _cerebro(spec, runonce, progress)
    try:
        strategy = cerebro.run()[0]
    finally:  # a failed run must not leave a dangling progress bar on the terminal
        _close_progress_bars(cerebro)
    rejected = _check_orders(spec, strategy)
    cfg, df, start = spec.config, spec.data, spec.start
    records = strategy.analyzers.records.get_analysis()
    traded = records[records.index >= start] if len(records) else records
    # nothing trades before `start`: the starting cash is the base of the first daily return
    values = pd.concat([pd.Series([cfg.backtest.cash], index=[start - pd.Timedelta("1ns")]),
                        traded["value"] if len(traded) else pd.Series(dtype="float64")])
    returns = daily_returns(values).rename(cfg.name)
    close = pd.concat([df["close"][df.index < start].iloc[-1:], df["close"][df.index >= start]])
    benchmark = daily_returns(close).rename("buy_and_hold").reindex(returns.index).fillna(0.0)
    broker = BrokerTotals(strategy.traded_value, strategy.n_orders, strategy.commission_paid, strategy.slippage_paid,
                          rejected, cerebro.broker.borrowing())
    # the broker's totals stay in extras too (0.3.0's keys), beside the strategy's own tables and numbers
    extras = {**strategy.extras(), "traded_value": broker.traded_value, "orders": broker.orders,
              "commission": broker.commission, "slippage": broker.slippage, "rejected_orders": rejected,
              "borrowing": broker.borrowing}
    return BacktestResult(cfg, returns, benchmark, traded, df, _provenance(spec, strategy), spec.calendar, extras,
                          horizon_days=strategy.forecast.horizon, params=spec.params, strategy=spec.strategy,
                          broker=broker)


def turnover_per_year(result: BacktestResult) -> float:
    """Traded value over mean equity, per year of the calendar."""
    days = len(result.returns)
    values = result.records["value"] if len(result.records) else pd.Series(dtype="float64")
    if days <= 0 or not len(values):
        return math.nan
    return float(result.broker.traded_value / values.mean() * result.calendar.days_per_year / days)
