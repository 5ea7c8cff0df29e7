"""What a forecaster does with the exogenous series it declares (``inputs``): give them, look values up as
they are known at each bar's close, and refuse or record the bars without one (a mixin of
:class:`~lstm_strategies.forecasters.base.Forecaster`)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.market.exogenous import MAX_AGE, load_input, missing_input_advice, refuse_missing

__all__ = ["ExogenousInputs"]


class ExogenousInputs:
    """The exogenous-input part of a forecaster: declarations, the series given, causal lookups, fallbacks."""

    #: exogenous series the forecaster reads besides the bars (e.g. ("implied_vol",)); none by default
    inputs: ClassVar[tuple[str, ...]] = ()
    #: a bar without a known value of an input: "refuse" (DataError) or "fallback" (recorded)
    missing_input: ClassVar[str] = "refuse"
    #: with "fallback", what such a bar's forecast falls back to (recorded in input_fallbacks)
    input_fallback: ClassVar[str] = ""
    #: the series given to set_inputs (name -> Series indexed by the time each value becomes known)
    _input_series: dict = {}

    def set_inputs(self, **series) -> ExogenousInputs:
        """Give the exogenous series the class declares (``implied_vol=...``: a Series from
        :func:`~lstm_strategies.implied.load_implied_vol`, a shipped name or a CSV path); resets the
        streaming state. An input the class does not declare is a :class:`ConfigError`."""
        unknown = sorted(set(series) - set(self.inputs))
        if unknown:
            raise ConfigError(f"{type(self).__name__} reads the exogenous inputs {list(self.inputs)}, not {unknown}")
        self._input_series = {**self._input_series, **{k: load_input(k, v) for k, v in series.items()}}
        self.reset()
        return self

    @property
    def input_series(self) -> dict[str, pd.Series]:
        """The exogenous series given so far (name -> Series indexed by the time each value is known)."""
        return dict(self._input_series)

    @property
    def input_fallbacks(self) -> dict[str, dict]:
        """Bars forecast without an input value (since the last reset or batched pass), by reason."""
        return self._fallbacks.as_dict()

    def require_inputs(self) -> None:
        """A :class:`ConfigError` saying how to give it, for a declared input that was not given."""
        for name in self.inputs:
            if name not in self._input_series:
                raise ConfigError(missing_input_advice(self.name, name))

    def input_lookup(self, name: str):
        """The causal lookup of input ``name`` (one per reset: it keeps a cursor for bars in time order)."""
        lookup = self._lookups.get(name)
        if lookup is None:
            from lstm_strategies.market.implied import ImpliedVolLookup

            self.require_inputs()
            lookup = self._lookups[name] = ImpliedVolLookup(self._input_series[name], MAX_AGE)
        return lookup

    def bar_closes(self, index: pd.DatetimeIndex) -> np.ndarray:
        """UTC epoch nanoseconds of each bar's close (its stamp plus the bar size): when inputs are read."""
        return index.as_unit("ns").asi8 + pd.Timedelta(self.timeframe).value

    def input_values(self, name: str, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Batched: input ``name`` known at each bar's close, and the value before it (NaN: none known)."""
        return self.input_lookup(name).values_at(self.bar_closes(df.index))

    def missing_inputs(self, name: str, times_ns, missing=None, reason: str | None = None) -> None:
        """Bars (stamps) whose forecast lacks input ``name``: refuse them or record the fallback,
        as the class declares. ``missing`` masks ``times_ns``; ``reason`` overrides the record's reason."""
        times = np.atleast_1d(np.asarray(times_ns, dtype="int64"))
        if missing is not None:
            times = times[np.asarray(missing, dtype=bool)]
        if not times.size:
            return
        if self.missing_input == "refuse":
            raise refuse_missing(self.name, name, self._input_series[name], times)
        self._fallbacks.record(reason or f"no {name} value known at the bar's close", self.input_fallback, times)
