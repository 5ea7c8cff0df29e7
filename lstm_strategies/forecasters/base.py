"""The interface every volatility forecaster follows (no Backtrader import here).

A forecaster maps OHLCV bars to a **term structure**: the variance of log returns over each of
its ``horizons`` (days of its calendar: 1, 7 and 30 for crypto), forecast at the close of each bar
with bars ``<= t`` only.

**Declarations.** A subclass declares, on the class: ``name`` (its registry name: defining the class
registers it, see :mod:`lstm_strategies.forecasters`), ``kind`` (``"baseline"``, ``"model"``...),
``refits`` (it re-estimates itself as bars arrive) and ``inputs`` (exogenous series it reads besides
the bars). Its parameters are its constructor's keyword arguments, merged along the class hierarchy
(scikit-learn's ``get_params`` convention); an argument annotated with a range of
:mod:`lstm_strategies.core.declarations` (``lam: Annotated[float, Range(0, 1, low_open=True)]``, ``Count``)
is checked before the constructor's body runs, in the words of a strategy's ``Params`` and a config key
(:mod:`lstm_strategies.core.arguments`); checks across arguments stay in the constructor.

**Life cycle** (as nautilus_trader's indicators and scikit-learn's estimators):

* ``__init__`` validates the arguments and calls :meth:`reset`;
* :meth:`reset` is final: it clears the base state (the bar checker, the default streaming buffer,
  ``initialized``, ``quiet_until``) and then calls every class's own ``_reset`` hook along the
  hierarchy, base first, so no subclass can forget the base state or its parent's (a subclass that
  defines ``reset`` is refused when it is defined);
* :meth:`fit` (or :meth:`bind`, which only fixes the bar size) must come before any forecast:
  an unfitted forecaster refuses to predict instead of guessing the bar size;
* :meth:`predict_batch` gives all forecasts of a frame in one vectorised pass;
  :meth:`update` one bar at a time; both validate the bars they are given and agree to 1e-6.

**Composition protocol** (a forecaster that drives another one, as the LSTM drives its log-HAR
head and the self-refitting LSTM its fold models): :meth:`step` takes one already-validated bar
and returns the forecast; :meth:`advance` takes one bar in without forecasting (a refitting
forecaster may defer a due refit until a forecast is read).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections import deque
from typing import ClassVar

import numpy as np
import pandas as pd

from lstm_strategies.core.arguments import checked_init
from lstm_strategies.core.errors import ConfigError, DataError, NotFittedError
from lstm_strategies.data.bars import (
    Bar,
    BarChecker,
    as_bar,
    check_frame,
    frame_timeframe,  # noqa: F401  (re-exported)
    timeframe_label,
    utc_timestamp,
)
from lstm_strategies.data.calendar import get_calendar, interpolate_variance, validate_horizons
from lstm_strategies.forecasters.history import BarHistory, rows_to_frame  # noqa: F401  (re-exported)
from lstm_strategies.forecasters.inputs import ExogenousInputs
from lstm_strategies.forecasters.level import corrected_batch, level_spans, trailing_level
from lstm_strategies.market.exogenous import FallbackLog

__all__ = ["Bar", "BarHistory", "Forecaster", "frame_timeframe", "rows_to_frame"]


def __getattr__(name: str):
    if name == "check_number":   # 0.3.0's home of the deprecated range check
        from lstm_strategies.core.checks import check_number

        return check_number
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



class Forecaster(ExogenousInputs, ABC):
    """Base class of the volatility forecasters.

    Parameters
    ----------
    calendar : {"crypto", "equity"}
        Annualisation and horizon conventions (365 or 252 days; see :mod:`lstm_strategies.data.calendar`).
    horizons : sequence of int, optional
        Forecast horizons in days of the calendar (default: the calendar's, 1/7/30 for crypto).
    timeframe : str, optional
        Bar size the forecaster expects (``"1h"``); set by :meth:`fit` or :meth:`bind` otherwise.
    """

    #: name in the registry and in configs (defining a class with its own name registers it)
    name: ClassVar[str] = "base"
    #: what the forecaster is, for reports and races: "baseline" (statistical benchmark) or "model"
    kind: ClassVar[str] = "baseline"
    #: True when the forecaster re-estimates itself on the bars it has seen (refits, retraining)
    refits: ClassVar[bool] = False
    #: False for a forecaster ``evaluate`` scores only when asked for (``extra``), not in its default set
    scored_by_default: ClassVar[bool] = True
    #: the level correction (forecasters.level), set by the classes that take ``level_correction``; None: off
    _level = None
    _published_first: int | None = None  # the first row published while the correction computes earlier ones

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "reset" in vars(cls):
            raise TypeError(f"{cls.__name__} defines reset(); reset() is final: put the class's own streaming "
                            "state in a _reset() hook (called along the hierarchy after the base state is cleared)")
        if "__init__" in vars(cls):   # arguments annotated with declarations' ranges are checked before the body
            cls.__init__ = checked_init(cls, vars(cls)["__init__"])
        if "name" in vars(cls):
            from lstm_strategies.forecasters.registry import register

            register(cls)

    def __init__(self, *, calendar: str = "crypto", horizons=None, timeframe: str | None = None):
        self.cal = get_calendar(calendar)
        self.calendar = self.cal.name
        self.horizons = validate_horizons(horizons, self.cal)
        self.timeframe = None if timeframe is None else _timeframe(timeframe)
        self.reset()

    # -- parameters ----------------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        """Keyword arguments of the constructor (scikit-learn's ``get_params`` convention)."""
        names = []
        for klass in cls.__mro__:
            if klass is object or "__init__" not in vars(klass):
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in names:
                    names.append(p.name)
        return names

    @classmethod
    def param_defaults(cls) -> dict:
        """Constructor defaults by name (what configs and indicator params may set)."""
        out = {}
        for klass in reversed(cls.__mro__):
            if klass is object or "__init__" not in vars(klass):
                continue
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
                    out[p.name] = None if p.default is inspect.Parameter.empty else p.default
        return {k: out[k] for k in cls.param_names()}

    @classmethod
    def param_ranges(cls) -> dict[str, str]:
        """What each declared argument allows (``{"lam": "in (0, 1)"}``), as the config reference shows it."""
        out: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            model = getattr(vars(klass).get("__init__"), "arguments", None)
            for name, info in (model.model_fields.items() if model is not None else ()):
                texts = [getattr(getattr(m, "func", None), "text", "") for m in info.metadata]
                out[name] = "; ".join(t for t in texts if t)
        return {k: v for k, v in out.items() if v}

    @classmethod
    def scoring_params(cls, setup) -> dict | None:
        """Constructor arguments ``evaluate`` builds this forecaster with, or ``None`` to sit the race out.

        Parameters
        ----------
        setup : ScoringSetup
            The evaluation's model, horizons, calendar and given inputs
            (:class:`~lstm_strategies.forecasters.scoring.ScoringSetup`).

        Returns
        -------
        dict or None
            By default the evaluation's horizons when every input the class reads is given and
            ``scored_by_default`` is true; a model that needs more (a checkpoint, a refit interval)
            overrides this.
        """
        if not cls.scored_by_default or not setup.has_inputs(cls):
            return None
        return {"horizons": list(setup.horizons)} if "horizons" in cls.param_names() else {}

    def get_params(self) -> dict:
        """The constructor arguments this object was built with."""
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def bars_in_day(self) -> int:
        """Bars per day of the calendar at the forecaster's bar size."""
        self._require_fitted()
        cached = self.__dict__.get("_bars_in_day")
        if cached is None or cached[0] != self.timeframe:  # computed once per bar size, not per bar
            cached = self._bars_in_day = (self.timeframe, self.cal.bars_per_day(self.timeframe))
        return cached[1]

    @property
    def horizon_labels(self) -> list[str]:
        """Column/line suffixes of the horizons: ``["1d", "7d", "30d"]``."""
        return [self.cal.horizon_label(h) for h in self.horizons]

    @property
    @abstractmethod
    def lookback(self) -> int:
        """Bars of history the first forecast needs (earlier forecasts are NaN)."""

    @property
    def warmup_bars(self) -> int:
        """Bars before the first forecast can exist (refitting forecasters also wait for a first fit)."""
        return self.lookback

    # -- life cycle ----------------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        """True once the bar size is known (:meth:`fit` or :meth:`bind`)."""
        return self.timeframe is not None

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{self!r} is not fitted: call fit(df) (or bind(timeframe)) before forecasting, "
                                 "so that the bar size is known")

    def bind(self, timeframe: str) -> Forecaster:
        """Fix the bar size without fitting (the indicators use the feed's); a mismatch is an error."""
        label = _timeframe(timeframe)
        if self.timeframe is not None and pd.Timedelta(label) != pd.Timedelta(self.timeframe):
            raise DataError(f"bars are {label} apart but {type(self).__name__} expects {self.timeframe} bars; "
                            "resample the data or use a matching model")
        self.timeframe = label
        self.reset()
        return self

    def fit(self, df: pd.DataFrame) -> Forecaster:
        """Validate a training frame, take its bar size and fit what the forecaster fits up front."""
        df = check_frame(df)
        self.bind(frame_timeframe(df))
        self._fit(df)
        return self

    def _fit(self, df: pd.DataFrame) -> None:  # noqa: B027  (an optional hook, not an abstract method)
        """Subclass hook: fit on ``df`` (default: nothing; refitting forecasters refit as they go)."""

    def reset(self) -> None:
        """Forget every streamed bar (fitted parameters stay): clear the base state, then run every
        class's ``_reset`` hook along the hierarchy, base first. Final: subclasses define ``_reset``."""
        self._checker = BarChecker(type(self).__name__)
        self.initialized = False
        self.quiet_until: int | None = None
        self._published_ns: int | None = None
        self._level_state = None
        self._buffer = None
        self._lookups: dict = {}
        self._fallbacks = FallbackLog()
        self._needs_inputs = any(name not in self._input_series for name in self.inputs)
        for klass in reversed(type(self).__mro__):
            hook = vars(klass).get("_reset")
            if hook is not None:
                hook(self)

    def _reset(self) -> None:  # noqa: B027  (an optional hook, not an abstract method)
        """Subclass hook: build this class's own streaming state (the base state is already clear, and
        the parents' hooks have run); never call ``super()._reset()``."""

    def publish_from(self, when) -> None:
        """Streamed forecasts before ``when`` (a time, or UTC epoch nanoseconds; None: every bar) will
        not be read: a forecaster may skip work that only produces them (the LSTM's recurrent steps,
        refits), as long as every later forecast is unchanged. :meth:`reset` clears it."""
        if when is None or isinstance(when, (int, np.integer)):
            self.quiet_until = None if when is None else int(when)
        else:
            self.quiet_until = utc_timestamp(when).as_unit("ns").value
        self._published_ns = self.quiet_until
        if self._level is not None and self.quiet_until is not None:
            # the level correction reads the uncorrected forecasts of the window before: compute them
            self.quiet_until -= self._level.lead_ns(level_spans(self))

    # -- batched -------------------------------------------------------------------------------
    def predict_batch(self, df: pd.DataFrame, start=None) -> np.ndarray:
        """Variance over each horizon for every bar of ``df``: shape ``(len(df), len(horizons))``.

        The bars are validated like the loader's (duplicates, order, NaN, non-positive prices,
        OHLC consistency); rows in warm-up are NaN. With ``start`` (a time), forecasts before it
        may be left NaN instead of computed (the bars before it still feed the later ones).
        """
        self._require_fitted()
        self.require_inputs()
        df = check_frame(df)
        self._fallbacks = FallbackLog()  # the record describes this pass
        step = frame_timeframe(df) if len(df) > 1 else self.timeframe
        if pd.Timedelta(step) != pd.Timedelta(self.timeframe):
            raise DataError(f"{df.attrs.get('source', 'data')}: bars are {step} apart but {self!r} was fitted on "
                            f"{self.timeframe} bars")
        first = 0
        if start is not None:
            first = int(np.searchsorted(df.index.asi8, utc_timestamp(start).as_unit("ns").value))
        if self._level is not None:  # the causal level correction (lstm_strategies.forecasters.level)
            return corrected_batch(self, df, first)
        return self._predict_batch(df, first)

    def _level_step(self, ts_ns: int, close: float, raw: np.ndarray) -> np.ndarray:
        """Streaming: the forecast of one more bar times its level factor."""
        if self._level_state is None:
            self._level_state = trailing_level(self)
        return self._level_state.step(ts_ns, close, raw)

    @abstractmethod
    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        """Subclass: the ``(n, H)`` variance forecasts of a validated frame (rows before ``first`` may be NaN)."""

    def forecast_series(self, df: pd.DataFrame) -> pd.DataFrame:
        """Forecasts as a frame: ``var_<h>`` (variance over the horizon) and ``vol_<h>`` (annualised).

        Fits the bar size from ``df`` when the forecaster is not fitted yet.
        """
        df = check_frame(df)
        if not self.is_fitted:
            self.fit(df)
        var = self.predict_batch(df)
        vol = self.annualise(var)
        cols = {f"var_{lab}": var[:, j] for j, lab in enumerate(self.horizon_labels)}
        cols |= {f"vol_{lab}": vol[:, j] for j, lab in enumerate(self.horizon_labels)}
        return pd.DataFrame(cols, index=df.index)

    def forecast_risk(self, df: pd.DataFrame, horizon: int = 1, spec=None, start=None, end=None,
                      allow_in_sample: bool = False) -> pd.DataFrame:
        """h-day VaR and ES, long and short, at each day's close from ``start`` on (filtered historical
        simulation of this forecaster's own standardised returns): :func:`lstm_strategies.forecasters.risk.
        forecast_risk`, whose docstring says which origins, pools and fallbacks."""
        from lstm_strategies.forecasters.risk import forecast_risk

        return forecast_risk(self, df, horizon, spec, start=start, end=end, allow_in_sample=allow_in_sample)

    # -- term structure ------------------------------------------------------------------------
    def annualise(self, var: np.ndarray) -> np.ndarray:
        """Annualised volatility of each horizon's variance (last axis = horizons)."""
        return self.cal.annualise(var, np.asarray(self.horizons, dtype="float64"))

    def variance_at(self, var: np.ndarray, tau_days) -> np.ndarray:
        """Variance over ``tau_days`` (any remaining life) from the term structure ``var``."""
        return interpolate_variance(var, self.horizons, tau_days)

    # -- streaming -----------------------------------------------------------------------------
    def update(self, bar) -> np.ndarray:
        """Add one bar (a :class:`~lstm_strategies.bars.Bar`, a pandas row, a dict or a tuple)
        and return the term structure forecast at its close (NaN during warm-up)."""
        self._require_fitted()
        if self._needs_inputs:
            self.require_inputs()
        b = as_bar(bar)
        ts = b.timestamp.value
        self._checker.check(ts, b.open, b.high, b.low, b.close, b.volume)
        out = self._update(ts, b.open, b.high, b.low, b.close, b.volume)
        return out if self._level is None else self._level_step(ts, b.close, out)

    def update_fields(self, ts_ns: int, open_: float, high: float, low: float, close: float,
                      volume: float) -> np.ndarray:
        """:meth:`update` from raw fields (the indicators' hot path: no object per bar)."""
        if self._needs_inputs:
            self.require_inputs()
        self._checker.check(ts_ns, open_, high, low, close, volume)
        out = self._update(ts_ns, open_, high, low, close, volume)
        return out if self._level is None else self._level_step(ts_ns, close, out)

    def step(self, ts_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> np.ndarray:
        """Composition protocol: one bar the caller has already validated; the forecast at its close."""
        out = self._update(ts_ns, open_, high, low, close, volume)
        return out if self._level is None else self._level_step(ts_ns, close, out)

    def advance(self, ts_ns: int, open_: float, high: float, low: float, close: float, volume: float,
                defer_fit: bool = False) -> None:
        """Composition protocol: take one validated bar in without forecasting. ``defer_fit``: no forecast
        will be read yet, so a refitting forecaster may postpone a due refit (default: :meth:`step`)."""
        self._update(ts_ns, open_, high, low, close, volume)

    def _update(self, ts_ns: int, open_: float, high: float, low: float, close: float,
                volume: float) -> np.ndarray:
        """Default streaming: keep the last :attr:`lookback` bars and run the batched path on them
        (exact for forecasters with a finite lookback). Subclasses with recursions override it."""
        buffer = self._buffer
        if buffer is None or buffer.maxlen != self.lookback:  # reset() clears it: a copy never shares it
            buffer = self._buffer = deque(maxlen=self.lookback)
        buffer.append((ts_ns, open_, high, low, close, volume))
        if len(buffer) < self.lookback:
            return np.full(len(self.horizons), np.nan)
        self.initialized = True
        return self._predict_batch(rows_to_frame(list(buffer), self.timeframe))[-1]


def _timeframe(value) -> str:
    try:
        step = pd.Timedelta(value)
    except (ValueError, TypeError):
        raise ConfigError(f"timeframe {value!r} is not a bar size (e.g. '1h', '1D')") from None
    if step <= pd.Timedelta(0):
        raise ConfigError(f"timeframe {value!r} must be positive")
    return timeframe_label(step)
