"""A run resolved once: the strategy class and its validated parameters, the forecaster, the data, the inputs,
the calendar and the trading start, checked before Backtrader sees a bar.

:func:`resolve` turns a validated :class:`~lstm_strategies.backtest.config.BacktestConfig` into a
:class:`RunSpec`. Nothing is validated or built twice: the config's validation already built the forecaster
(its constructor checks its arguments) and typed the strategy's parameters; resolving copies that
forecaster, fixes its bar size, gives it the exogenous series, and checks what needs the data: enough
history for the warm-up and, before any forecast is computed, that a pretrained model is not asked to
forecast its own training window. The runner (:mod:`lstm_strategies.backtest.runner`) hands the spec to the
strategy, and the strategy's indicator uses its forecaster.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lstm_strategies.backtest.config import BacktestConfig
from lstm_strategies.core.errors import DataError, LeakageError
from lstm_strategies.data.bars import frame_timeframe
from lstm_strategies.data.calendar import Calendar, get_calendar
from lstm_strategies.strategies.registry import strategy_class

__all__ = ["RunSpec", "resolve"]


@dataclass(frozen=True)
class RunSpec:
    """Everything one backtest needs, resolved once from a config.

    Attributes
    ----------
    config : BacktestConfig
        The validated config (what provenance and the reports quote).
    strategy : type
        The strategy class (:class:`~lstm_strategies.strategies.ForecastStrategy` subclass).
    params : lstm_strategies.core.declarations.Params
        The strategy's parameters, validated and typed, defaults filled in.
    forecaster : Forecaster
        This run's forecaster: bound to the data's bar size, with its exogenous inputs.
    data : DataFrame
        The bars (warm-up included).
    inputs : dict of str to Series
        The exogenous series of ``[data]`` (``{"implied_vol": ...}``).
    calendar : Calendar
    start : Timestamp
        The first bar traded and scored.
    """

    config: BacktestConfig
    strategy: type
    params: Any
    forecaster: Any
    data: pd.DataFrame
    inputs: Mapping[str, pd.Series]
    calendar: Calendar
    start: pd.Timestamp

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def leverage(self) -> float:
        """The largest weight the strategy may hold (the broker lends up to it)."""
        return float(self.strategy.leverage_needed(self.params))

    @property
    def periods_per_year(self) -> float:
        """Bars a year on this calendar at the data's bar size (interest accrues per bar)."""
        return self.calendar.periods_per_year(self.data.attrs.get("timeframe") or self.forecaster.timeframe)

    def strategy_kwargs(self) -> dict:
        """What ``cerebro.addstrategy`` receives: the runner's parameters and the strategy's own (as given)."""
        return {"forecaster": self.forecaster, "forecaster_params": None, "inputs": dict(self.inputs) or None,
                "calendar": self.config.data.calendar, "start": str(self.start),
                "allow_in_sample": self.config.strategy.allow_in_sample, "params_checked": True,
                **self.config.strategy.params}

    def baseline(self, records: pd.DataFrame) -> tuple[RunSpec, str] | None:
        """The strategy's comparison run on the same bars (its own spec) and its label, or None."""
        declared = self.strategy.baseline(dict(self.config.strategy.params), records)
        if declared is None:
            return None
        name, params, label = declared
        config = self.config.with_overrides(strategy=name, strategy_params=params, forecaster="ewma",
                                            baselines=False, name=f"{self.config.name}_baseline")
        return resolve(config, self.data), label


def _trading_start(config: BacktestConfig, df: pd.DataFrame, forecaster) -> pd.Timestamp:
    """The first bar traded; a history too short for the forecaster's warm-up is a clear error."""
    need = forecaster.warmup_bars
    name = config.strategy.forecaster
    if config.backtest.start:
        start = pd.Timestamp(config.backtest.start, tz="UTC")
        before = int((df.index < start).sum())
        if before < need - 1:
            days = need / forecaster.bars_in_day
            raise DataError(f"{config.path}: the {name} forecaster needs {need - 1} bars ({days:.0f} days) of history "
                            f"before [backtest] start {config.backtest.start} to warm up; the data has {before}. Move "
                            "[data] start earlier or [backtest] start later.")
        if int((df.index >= start).sum()) < 2 * forecaster.bars_in_day:
            raise DataError(f"{config.path}: fewer than 2 days of bars after [backtest] start {config.backtest.start}")
        return start
    if len(df) < need + 2 * forecaster.bars_in_day:
        raise DataError(f"{config.path}: {len(df)} bars, but the {name} forecaster needs {need - 1} bars to warm up "
                        "and the run at least 2 days after that; pass a longer history")
    return df.index[need - 1]


def _check_out_of_sample(config: BacktestConfig, forecaster, start: pd.Timestamp) -> None:
    """Before any forecast is computed: a pretrained model must not forecast the dates it was trained on."""
    check = getattr(forecaster, "check_out_of_sample", None)
    if check is None:
        return
    try:
        check(start, config.strategy.allow_in_sample)
    except LeakageError as exc:
        raise LeakageError(f"{config.path}: {exc}") from None


def resolve(config: BacktestConfig, data: pd.DataFrame | None = None) -> RunSpec:
    """The run of ``config`` on its data (or on ``data``, a frame of bars), checked before it starts.

    Raises
    ------
    DataError
        Fewer than two bars, or a history shorter than the forecaster's warm-up.
    LeakageError
        A pretrained model would forecast inside its training window (``[strategy] allow_in_sample``).
    ConfigError
        An exogenous series named in ``[data]`` cannot be read.
    """
    df = data if data is not None else config.load_data()
    if len(df) < 2:
        raise DataError(f"{config.path}: {len(df)} bar(s); a backtest needs a history")
    forecaster = config.new_forecaster().bind(frame_timeframe(df))
    inputs = config.load_inputs()
    given = {name: series for name, series in inputs.items() if name in forecaster.inputs}
    if given:
        forecaster.set_inputs(**given)
    start = _trading_start(config, df, forecaster)
    _check_out_of_sample(config, forecaster, start)
    return RunSpec(config=config, strategy=strategy_class(config.strategy.name), params=config.strategy_params(),
                   forecaster=forecaster, data=df, inputs=inputs, calendar=get_calendar(config.data.calendar),
                   start=start)
