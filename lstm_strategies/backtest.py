"""Backtest configs (TOML) → Cerebro → a result with returns, records and provenance.

A config::

    name = "btc_vol_target_lstm"
    [data]
    dataset = "btc_usdt_1h"        # a file in the data folder, or file = "path", or "arch:sp500"
    start = "2021-06-01"           # first bar read (warm-up)
    end = "2026-06-30"
    [backtest]
    start = "2022-01-01"           # first bar traded and scored
    cash = 100000
    commission = 0.001             # fraction of traded value
    slippage = 0.0005              # fraction of price
    [strategy]
    name = "vol_target"
    forecaster = "lstm"
    params = { target_vol = 0.4 }
    forecaster_params = { model = "btc-1h" }
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd

from lstm_strategies.btfeed import FractionalCommission, to_bt_feed
from lstm_strategies.data import fingerprint
from lstm_strategies.datasets import load_dataset
from lstm_strategies.errors import ConfigError, DataError

KNOWN_SECTIONS = {"name", "description", "data", "backtest", "strategy", "report"}


def read_toml(path: str | Path, what: str = "config") -> dict:
    """Parse a TOML file; a missing or malformed file is a :class:`ConfigError` naming it."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: {what} file not found")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


@dataclass
class BacktestConfig:
    """A validated backtest configuration."""

    name: str
    strategy: str
    forecaster: str = "lstm"
    strategy_params: dict = field(default_factory=dict)
    forecaster_params: dict = field(default_factory=dict)
    data_file: str | None = None
    dataset: str | None = None
    data_start: str | None = None
    data_end: str | None = None
    start: str | None = None
    cash: float = 100_000.0
    commission: float = 0.001
    slippage: float = 0.0005
    calendar: str = "crypto"
    baselines: bool = True
    path: str = ""

    @classmethod
    def from_dict(cls, raw: dict, path: str = "<dict>") -> BacktestConfig:
        from lstm_strategies.indicators import FORECASTERS
        from strategies import STRATEGIES

        unknown = sorted(set(raw) - KNOWN_SECTIONS)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {unknown}; known: {sorted(KNOWN_SECTIONS)}")
        data, bt_cfg, strat = raw.get("data", {}), raw.get("backtest", {}), raw.get("strategy")
        if not isinstance(strat, dict) or "name" not in strat:
            raise ConfigError(f"{path}: strategy.name is missing; choose one of {sorted(STRATEGIES)}")
        if strat["name"] not in STRATEGIES:
            raise ConfigError(f"{path}: strategy.name = {strat['name']!r} is unknown; choose one of "
                              f"{sorted(STRATEGIES)}")
        forecaster = strat.get("forecaster", "lstm")
        if forecaster not in FORECASTERS:
            raise ConfigError(f"{path}: strategy.forecaster = {forecaster!r} is unknown; choose one of "
                              f"{sorted(FORECASTERS)}")
        if not data.get("file") and not data.get("dataset"):
            raise ConfigError(f"{path}: data.file or data.dataset is required")
        for key, value in (("data.start", data.get("start")), ("data.end", data.get("end")),
                           ("backtest.start", bt_cfg.get("start"))):
            if value is not None:
                try:
                    pd.Timestamp(value)
                except (ValueError, TypeError):
                    raise ConfigError(f"{path}: {key} = {value!r} is not a date (use YYYY-MM-DD)") from None
        if data.get("start") and data.get("end") and pd.Timestamp(data["start"]) >= pd.Timestamp(data["end"]):
            raise ConfigError(f"{path}: data.start {data['start']} is not before data.end {data['end']}")
        for key in ("cash", "commission", "slippage"):
            if key in bt_cfg and (not isinstance(bt_cfg[key], (int, float)) or bt_cfg[key] < 0):
                raise ConfigError(f"{path}: backtest.{key} = {bt_cfg[key]!r} must be a non-negative number")
        params = dict(strat.get("params", {}))
        cls_params = set(STRATEGIES[strat["name"]].params._getkeys())
        bad = sorted(set(params) - cls_params)
        if bad:
            raise ConfigError(f"{path}: strategy.params {bad} not accepted by {strat['name']}; it takes "
                              f"{sorted(cls_params - {'forecaster', 'forecaster_params', 'start'})}")
        return cls(
            name=raw.get("name", Path(path).stem), strategy=strat["name"], forecaster=forecaster,
            strategy_params=params, forecaster_params=dict(strat.get("forecaster_params", {})),
            data_file=data.get("file"), dataset=data.get("dataset"), data_start=data.get("start"),
            data_end=data.get("end"), start=bt_cfg.get("start"), cash=float(bt_cfg.get("cash", 100_000.0)),
            commission=float(bt_cfg.get("commission", 0.001)), slippage=float(bt_cfg.get("slippage", 0.0005)),
            calendar=data.get("calendar", "crypto"), baselines=bool(raw.get("report", {}).get("baselines", True)),
            path=str(path))

    @classmethod
    def from_toml(cls, path: str | Path) -> BacktestConfig:
        return cls.from_dict(read_toml(path, "config"), str(path))

    def with_overrides(self, **overrides) -> BacktestConfig:
        """A copy with fields or ``strategy_params.<key>`` / ``forecaster_params.<key>`` replaced."""
        import copy

        new = copy.deepcopy(self)
        for key, value in overrides.items():
            if key.startswith(("strategy_params.", "params.")):
                new.strategy_params[key.split(".", 1)[1]] = value
            elif key.startswith("forecaster_params."):
                new.forecaster_params[key.split(".", 1)[1]] = value
            elif hasattr(new, key):
                setattr(new, key, value)
            else:
                raise ConfigError(f"override {key!r} is not a config field or params.<name>")
        return new

    def load_data(self, override: str | None = None) -> pd.DataFrame:
        spec = override or self.data_file or self.dataset
        key = "--data" if override else ("data.file" if self.data_file else "data.dataset")
        try:
            df = load_dataset(spec)
        except DataError as exc:
            raise ConfigError(f"{self.path}: {key} = {spec!r}: {exc}") from None
        if self.data_start:
            df = df[df.index >= pd.Timestamp(self.data_start, tz="UTC")]
        if self.data_end:
            df = df[df.index < pd.Timestamp(self.data_end, tz="UTC") + pd.Timedelta("1D")]
        if len(df) < 50:
            raise DataError(f"{spec}: only {len(df)} bars between data.start and data.end")
        if self.start and pd.Timestamp(self.start, tz="UTC") > df.index[-1]:
            raise ConfigError(f"{self.path}: backtest.start {self.start} is after the last bar {df.index[-1]}")
        return df


@dataclass
class BacktestResult:
    """What one run produced."""

    config: BacktestConfig
    returns: pd.Series          # daily strategy returns from the trading start
    benchmark: pd.Series        # daily buy-and-hold returns of the same asset
    records: pd.DataFrame       # per-bar forecast, weights, hedge ratio
    data: pd.DataFrame
    provenance: dict
    extras: dict = field(default_factory=dict)


def _daily_returns(values: pd.Series) -> pd.Series:
    daily = values.resample("1D").last().dropna()
    return daily.pct_change().dropna()


def run_backtest(config: BacktestConfig, data: pd.DataFrame | None = None, runonce: bool = True,
                 progress: bool = False) -> BacktestResult:
    """Run one configured backtest and collect its returns, records and provenance."""
    import lstm_strategies
    from strategies import STRATEGIES, RecordsAnalyzer

    df = data if data is not None else config.load_data()
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(to_bt_feed(df, name=config.name))
    cerebro.broker.setcash(config.cash)
    cerebro.broker.addcommissioninfo(FractionalCommission(commission=config.commission))
    if config.slippage:
        cerebro.broker.set_slippage_perc(config.slippage, slip_open=True, slip_limit=True, slip_match=True)
    params = dict(config.strategy_params)
    if max(params.get("max_leverage", 1.0), params.get("weight", 0.0), params.get("max_weight", 0.0)) > 1.0:
        cerebro.broker.set_checksubmit(False)  # allow borrowing cash for leverage
    cls = STRATEGIES[config.strategy]
    cerebro.addstrategy(cls, forecaster=config.forecaster, forecaster_params=config.forecaster_params,
                        start=config.start, **params)
    cerebro.addanalyzer(RecordsAnalyzer, _name="records")
    if progress:
        from strategies import ProgressAnalyzer

        cerebro.addanalyzer(ProgressAnalyzer, total=len(df), desc=config.name)
    strategy = cerebro.run()[0]
    records = strategy.analyzers.records.get_analysis()
    start = pd.Timestamp(config.start, tz="UTC") if config.start else df.index[0]
    # nothing trades before `start`: the starting cash is the base of the first daily return
    traded_values = records["value"][records.index >= start] if len(records) else pd.Series(dtype="float64")
    values = pd.concat([pd.Series([config.cash], index=[start - pd.Timedelta("1ns")]), traded_values])
    returns = _daily_returns(values).rename(config.name)
    close = pd.concat([df["close"][df.index < start].iloc[-1:], df["close"][df.index >= start]])
    benchmark = _daily_returns(close).rename("buy_and_hold").reindex(returns.index).fillna(0.0)
    forecast = strategy.forecast
    fc = getattr(forecast, "forecaster", None)
    card = getattr(fc, "card", None)
    provenance = {
        "config": config.path, "strategy": config.strategy, "forecaster": config.forecaster,
        "data_source": df.attrs.get("source"), "data_fingerprint": fingerprint(df),
        "data_first_bar": str(df.index[0]), "data_last_bar": str(df.index[-1]),
        "trading_start": str(start), "bars": len(df), "timeframe": df.attrs.get("timeframe"),
        "model": getattr(fc, "path", None) or config.forecaster,
        "model_train_window": [card.train_start, card.train_end] if card else None,
        "in_sample": bool(getattr(forecast, "in_sample", False)),
        "lstm_strategies": lstm_strategies.__version__,
    }
    extras = {"rolls": pd.DataFrame(getattr(strategy, "rolls", [])),
              "hedges": pd.DataFrame(getattr(strategy, "hedges", [])),
              "traded_value": strategy.traded_value, "orders": strategy.n_orders,
              "commission": strategy.commission_paid}
    result = BacktestResult(config, returns, benchmark, records, df, provenance, extras)
    if config.baselines and config.strategy == "vol_target" and len(records):
        traded = records[records.index >= start]
        avg = float(np.nanmean(traded["weight"])) if len(traded) else 1.0
        keep = {k: v for k, v in config.strategy_params.items() if k in ("band", "rebalance")}
        const = config.with_overrides(strategy="constant_exposure", baselines=False,
                                      strategy_params={"weight": avg, **keep},
                                      forecaster="ewma", forecaster_params={})
        const.name = f"{config.name}_constant"
        result.extras["constant_exposure"] = run_backtest(const, df, runonce=runonce, progress=progress).returns
        result.extras["constant_weight"] = avg
    return result
