"""A validated config (:mod:`lstm_strategies.backtest.config`) → Cerebro → returns, records and provenance.

The runner knows no strategy by name: each strategy declares the leverage it needs (the broker
lends up to it, at ``borrow_rate``), its comparison baseline and its extra tables.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import backtrader as bt
import pandas as pd

from lstm_strategies._version import __version__
from lstm_strategies.backtest.config import BacktestConfig, read_toml
from lstm_strategies.core.errors import BacktestError, DataError
from lstm_strategies.data.bars import fingerprint, frame_timeframe
from lstm_strategies.data.calendar import Calendar, get_calendar
from lstm_strategies.strategies.base import RecordsAnalyzer
from lstm_strategies.strategies.registry import strategy_class
from lstm_strategies.trading.feed import FractionalCommission, MarginBroker, to_bt_feed

__all__ = ["BacktestConfig", "BacktestResult", "read_toml", "run_backtest"]

#: Backtrader's `leverage` for strategies that may borrow. Its cash check counts only cash, not
#: unrealized gains, so a tight value would refuse rebalances a real margin account accepts; the
#: strategy caps its own weights at max_leverage, and MarginBroker charges interest on what is borrowed.
CREDIT_LINE = 1000.0


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


def daily_returns(values: pd.Series) -> pd.Series:
    """Daily simple returns of an equity curve (last value of each UTC day)."""
    daily = values.resample("1D").last().dropna()
    return daily.pct_change().dropna()


def _check_history(config: BacktestConfig, df: pd.DataFrame, forecaster) -> pd.Timestamp:
    """The trading start; a history too short for the forecaster's warm-up is a clear error."""
    need = forecaster.warmup_bars
    if config.backtest.start:
        start = pd.Timestamp(config.backtest.start, tz="UTC")
        before = int((df.index < start).sum())
        if before < need - 1:
            days = need / forecaster.bars_in_day
            raise DataError(f"{config.path}: the {config.strategy.forecaster} forecaster needs {need - 1} bars "
                            f"({days:.0f} days) of history before [backtest] start {config.backtest.start} to warm up; "
                            f"the data has {before}. Move [data] start earlier or [backtest] start later.")
        if int((df.index >= start).sum()) < 2 * forecaster.bars_in_day:
            raise DataError(f"{config.path}: fewer than 2 days of bars after [backtest] start {config.backtest.start}")
        return start
    if len(df) < need + 2 * forecaster.bars_in_day:
        raise DataError(f"{config.path}: {len(df)} bars, but the {config.strategy.forecaster} forecaster needs "
                        f"{need - 1} bars to warm up and the run at least 2 days after that; pass a longer history")
    return df.index[need - 1]


def run_backtest(config: BacktestConfig, data: pd.DataFrame | None = None, runonce: bool = True,
                 progress: bool = False, with_baseline: bool | None = None) -> BacktestResult:
    """Run one configured backtest and collect its returns, records, provenance and baseline.

    Raises
    ------
    BacktestError
        The broker rejected or cancelled orders and ``[backtest] allow_rejected_orders`` is false.
    DataError
        The history is shorter than the forecaster's warm-up.
    """
    from lstm_strategies.forecasters.registry import make_forecaster

    df = data if data is not None else config.load_data()
    cal = get_calendar(config.data.calendar)
    cls = strategy_class(config.strategy.name)
    if len(df) < 2:
        raise DataError(f"{config.path}: {len(df)} bar(s); a backtest needs a history")
    strat = config.strategy
    probe = make_forecaster(strat.forecaster, config.data.calendar, **strat.forecaster_params).bind(frame_timeframe(df))
    start = _check_history(config, df, probe)

    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    params = dict(config.strategy.params)
    leverage = cls.leverage_needed(params)
    ppy = cal.periods_per_year(df.attrs.get("timeframe") or probe.timeframe)
    cerebro.broker = MarginBroker(borrow_rate=config.backtest.borrow_rate, periods_per_year=ppy)
    cerebro.adddata(to_bt_feed(df, name=config.name))
    cerebro.broker.setcash(config.backtest.cash)
    cerebro.broker.addcommissioninfo(FractionalCommission(
        commission=config.backtest.commission, leverage=1.0 if leverage <= 1.0 else CREDIT_LINE))
    if config.backtest.slippage:
        cerebro.broker.set_slippage_perc(config.backtest.slippage, slip_open=True, slip_limit=True, slip_match=True)
    inputs = config.load_inputs()
    cerebro.addstrategy(cls, forecaster=strat.forecaster, forecaster_params=strat.forecaster_params, inputs=inputs,
                        calendar=config.data.calendar, start=str(start), allow_in_sample=strat.allow_in_sample,
                        **params)
    cerebro.addanalyzer(RecordsAnalyzer, _name="records")
    if progress:
        from lstm_strategies.strategies.base import ProgressAnalyzer

        cerebro.addanalyzer(ProgressAnalyzer, total=len(df), desc=config.name)
    try:
        strategy = cerebro.run()[0]
    finally:  # a failed run must not leave a dangling progress bar on the terminal
        for strat in getattr(cerebro, "runstrats", None) or []:
            for analyzer in getattr(strat[0] if isinstance(strat, list) else strat, "analyzers", []):
                bar = getattr(analyzer, "bar", None)
                if bar is not None:
                    bar.close()

    rejected = pd.DataFrame(strategy.rejected)
    if len(rejected):
        first = rejected.iloc[0]
        message = (f"{config.name}: the broker rejected or cancelled {len(rejected)} of "
                   f"{len(rejected) + strategy.n_orders} orders (first {first['datetime']}: {first['status']}, "
                   f"size {first['size']:.6g}); the weights held are not the strategy's")
        print(f"warning: {message}", file=sys.stderr)
        if not config.backtest.allow_rejected_orders:
            raise BacktestError(f"{config.path}: {message}. Fix the cause (cash, leverage) or set "
                                "[backtest] allow_rejected_orders = true to keep such a run.")

    records = strategy.analyzers.records.get_analysis()
    traded = records[records.index >= start] if len(records) else records
    # nothing trades before `start`: the starting cash is the base of the first daily return
    values = pd.concat([pd.Series([config.backtest.cash], index=[start - pd.Timedelta("1ns")]),
                        traded["value"] if len(traded) else pd.Series(dtype="float64")])
    returns = daily_returns(values).rename(config.name)
    close = pd.concat([df["close"][df.index < start].iloc[-1:], df["close"][df.index >= start]])
    benchmark = daily_returns(close).rename("buy_and_hold").reindex(returns.index).fillna(0.0)
    fc = strategy.forecast.forecaster
    card = getattr(fc, "card", None)
    provenance = {
        "config": config.path, "strategy": config.strategy.name, "forecaster": config.strategy.forecaster,
        "forecaster_repr": repr(fc), "data_source": df.attrs.get("source"), "data_fingerprint": fingerprint(df),
        "data_first_bar": str(df.index[0]), "data_last_bar": str(df.index[-1]), "trading_start": str(start),
        "bars": len(df), "timeframe": df.attrs.get("timeframe"), "calendar": cal.name,
        "model": getattr(fc, "path", None) or config.strategy.forecaster,
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
    extras = {**strategy.extras(), "traded_value": strategy.traded_value, "orders": strategy.n_orders,
              "commission": strategy.commission_paid, "slippage": strategy.slippage_paid,
              "rejected_orders": int(len(rejected)), "borrowing": cerebro.broker.borrowing()}
    result = BacktestResult(config, returns, benchmark, traded, df, provenance, cal, extras,
                            horizon_days=strategy.forecast.horizon)
    if (config.report.baselines if with_baseline is None else with_baseline) and len(traded):
        spec = cls.baseline(params, traded)
        if spec is not None:
            name, bparams, label = spec
            base = config.with_overrides(strategy=name, strategy_params=bparams, forecaster="ewma",
                                         baselines=False, name=f"{config.name}_baseline")
            base_result = run_backtest(base, df, runonce=runonce, progress=progress, with_baseline=False)
            result.baseline = (label, base_result.returns)
    return result


def turnover_per_year(result: BacktestResult) -> float:
    """Traded value over mean equity, per year of the calendar."""
    days = len(result.returns)
    values = result.records["value"] if len(result.records) else pd.Series(dtype="float64")
    if days <= 0 or not len(values):
        return math.nan
    return float(result.extras.get("traded_value", 0.0) / values.mean() * result.calendar.days_per_year / days)
