"""Backtrader indicators over the forecasters: one generic indicator and thin named aliases.

:class:`VolatilityForecast` takes its forecaster as a parameter, the way Backtrader's
``BollingerBands`` takes ``movav``: a registry name with ``forecaster_params``, a
:class:`~lstm_strategies.forecasters.base.Forecaster` class or a ready instance (copied and reset,
so one object can serve several runs)::

    VolatilityForecast(data, forecaster="ewma", forecaster_params={"lam": 0.97})
    LSTMVolatility(data, model="btc-1h", horizon=30)          # the alias, same thing for "lstm"

Lines: ``vol_1d``, ``vol_7d``, ``vol_30d`` and the matching ``var_*`` — a day, a week and a month
of calendar time: for crypto the 1/7/30-day horizons, for equity models the 1/5/21-session ones —
and ``vol`` / ``var`` for the horizon chosen by ``horizon``; ``var`` is the variance over the
horizon, ``vol`` its annualised volatility.
:meth:`VolatilityForecast.vol_at` answers the volatility over any remaining life.

**Exogenous inputs** (e.g. implied volatility for ``har_iv``, ``implied``, ``lstm_iv``) are given as
series, not as a second data feed: ``inputs={"implied_vol": load_implied_vol("btc_dvol_daily")}`` (or
a shipped name / CSV path). Each value is stamped with the time it becomes known, and at each bar the
forecaster reads the last value known at the bar's close, in both modes; a series is independent of
the feed's bar size and its calendar, so there is nothing to align or resample. Inputs a forecaster
does not declare are ignored (a config's ``[data] implied`` reaches every strategy's forecaster);
one it declares and is not given is a :class:`~lstm_strategies.errors.ConfigError` at construction::

    VolatilityForecast(data, forecaster="lstm_iv", forecaster_params={"model": "btc-1h-iv"},
                       inputs={"implied_vol": "btc_dvol_daily"})

Both Backtrader modes give the same numbers: runonce computes every forecast in one batched pass
in :meth:`once`; next mode (``runonce=False``, live, resampled or replayed data) streams one bar at
a time through :meth:`~lstm_strategies.forecasters.base.Forecaster.update`. Bars are validated in
both. A pretrained model raises :class:`~lstm_strategies.errors.LeakageError` when its forecasts
would fall inside its training window, unless ``allow_in_sample=True``.
"""

from __future__ import annotations

import copy
import math
from array import array

import backtrader as bt
import numpy as np
import pandas as pd

from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.data.calendar import interpolate_variance_scalar
from lstm_strategies.forecasters.base import Forecaster
from lstm_strategies.forecasters.registry import forecaster_params, make_forecaster
from lstm_strategies.trading.feed import (
    bt_dates_to_index,
    bt_num_to_ns,
    bt_num_to_timestamp,
    bt_timeframe,
    feed_timeframe,
    timestamp_to_bt_num,
)

#: the term-structure lines: a day, a week and a month of the calendar (its default horizons:
#: 1/7/30 days for crypto, 1/5/21 sessions for equities)
HORIZON_LABELS = ["1d", "7d", "30d"]


def line_label(horizon: float, calendar) -> str | None:
    """The line of a horizon (days of its calendar): the calendar's day, week or month span within
    15% of it, else None (such a horizon is read with ``vol_at``)."""
    spans = calendar.horizons
    i = min(range(len(spans)), key=lambda k: abs(spans[k] - horizon))
    return HORIZON_LABELS[i] if abs(spans[i] - horizon) <= 0.15 * spans[i] + 1e-9 else None


def _declared(name: str) -> tuple:
    """Indicator params of a registered forecaster: its constructor's, declared there only."""
    return tuple((k, v) for k, v in forecaster_params(name).items())


class VolatilityForecast(bt.Indicator):
    """Volatility term structure forecast by any registered forecaster.

    Params
    ------
    forecaster : str, Forecaster class or instance
        a registered name (``lstm``, ``lstm_refit``, ``ewma``, ``garch``, ``har``, ``log_har``,
        ``har_iv``, ``implied``, ``implied_level``, ``lstm_iv``, ``lstm_iv_refit``) or an object.
    forecaster_params : dict
        Constructor arguments when ``forecaster`` is a name or a class.
    inputs : dict or None
        Exogenous series by input name (``{"implied_vol": series}``): given to the forecaster when it
        declares that input, ignored otherwise.
    calendar : str or None
        ``crypto`` or ``equity`` (None: the forecaster's own; an LSTM's comes from its card).
    horizon : int or None
        Days of the horizon on the ``vol``/``var`` lines (None: the shortest).
    snap_horizon : bool
        Use the forecaster's horizon nearest to ``horizon`` instead of requiring an exact one.
    start : str or None
        First date whose forecast is published; earlier bars only warm the model up (NaN).
    allow_in_sample : bool
        Let a pretrained model forecast dates it was trained on (the run is marked in-sample).
    """

    lines = ("vol", "var", *(f"vol_{h}" for h in HORIZON_LABELS), *(f"var_{h}" for h in HORIZON_LABELS))
    params = (("forecaster", "ewma"), ("forecaster_params", None), ("inputs", None), ("calendar", None),
              ("horizon", None), ("snap_horizon", False), ("start", None), ("allow_in_sample", False))
    plotinfo = dict(subplot=True, plotname="forecast vol")
    plotlines = dict(var=dict(_plotskip=True), vol=dict(color="darkred"),
                     **{f"{kind}_{h}": dict(_plotskip=True) for kind in ("vol", "var") for h in HORIZON_LABELS})

    def _plotlabel(self):
        return [self.forecaster.name, f"{self.horizon}d"]

    def _forecaster_kwargs(self) -> dict:
        kwargs = dict(self.p.forecaster_params or {})
        name = self.p.forecaster
        if isinstance(name, str):
            for key in forecaster_params(name):
                if hasattr(self.p, key) and key not in kwargs:
                    kwargs[key] = getattr(self.p, key)
        return kwargs

    def _build_forecaster(self) -> Forecaster:
        spec = self.p.forecaster
        if isinstance(spec, Forecaster):
            forecaster = copy.copy(spec)  # reset() below gives the copy its own streaming state
        elif isinstance(spec, type) and issubclass(spec, Forecaster):
            kwargs = self._forecaster_kwargs()
            if self.p.calendar is not None and "calendar" in spec.param_names():
                kwargs["calendar"] = self.p.calendar
            forecaster = spec(**kwargs)
        elif isinstance(spec, str):
            forecaster = make_forecaster(spec, self.p.calendar, **self._forecaster_kwargs())
        else:
            raise ConfigError(f"forecaster={spec!r}: pass a registered name, a Forecaster class or an instance")
        given = {name: series for name, series in (self.p.inputs or {}).items() if name in forecaster.inputs}
        if given:
            forecaster.set_inputs(**given)
        forecaster.require_inputs()  # a declared input nobody gave: one clear error now, not at the first bar
        return forecaster

    #: the horizon (days of the forecaster's calendar) on the ``vol``/``var`` lines, set at construction
    horizon: int

    def __init__(self):
        self.forecaster = f = self._build_forecaster()
        feed_tf = feed_timeframe(self.data)
        if f.timeframe is not None and pd.Timedelta(f.timeframe) != pd.Timedelta(feed_tf):
            tf, comp = bt_timeframe(pd.Timedelta(f.timeframe))
            raise DataError(
                f"feed {self.data._name!r} has {feed_tf} bars but {f!r} expects {f.timeframe} bars: build the "
                f"feed with timeframe=bt.TimeFrame.{bt.TimeFrame.getname(tf, comp).rstrip('s').title()}s and "
                f"compression={comp} (to_bt_feed does this from the data), or resample it")
        f.bind(feed_tf)  # also resets: every piece of streaming state is fresh
        if self.p.start:
            f.publish_from(pd.Timestamp(self.p.start, tz="UTC").value)
        if self.p.horizon is None:
            self.horizon = f.horizons[0]
        elif self.p.snap_horizon:
            days = f.cal.trading_days(float(self.p.horizon))
            self.horizon = min(f.horizons, key=lambda h: abs(h - days))
        else:
            self.horizon = self.p.horizon
        if self.horizon not in f.horizons:
            raise ConfigError(f"horizon={self.p.horizon!r}: {f.name} forecasts the horizons {list(f.horizons)} "
                              "(days); pick one of them, or use vol_at(tau) for any other")
        self._primary = f.horizons.index(self.horizon)
        labels = [line_label(h, f.cal) for h in f.horizons]
        self._var_lines = [getattr(self.lines, f"var_{lab}") if lab else None for lab in labels]
        self._vol_lines = [getattr(self.lines, f"vol_{lab}") if lab else None for lab in labels]
        self.in_sample = False
        self._publish_num = timestamp_to_bt_num(self.p.start)
        self._publish_from = pd.Timestamp(self.p.start, tz="UTC") if self.p.start else None
        # annualised vol = sqrt(var * factor_h); computed once, not per bar
        self._vol_factor = [f.cal.days_per_year / h for h in f.horizons]
        self._checked = False
        self._batched = None
        self._streamed: list[np.ndarray] = []
        self._nan = np.full(len(f.horizons), np.nan)
        # next mode's per-bar work, resolved once: the feed's fields and, per horizon, the lines it fills
        d = self.data
        self._fields = (d.datetime, d.open, d.high, d.low, d.close, d.volume)
        self._writes = []
        for j, factor in enumerate(self._vol_factor):
            primary = j == self._primary
            var_lines = [self.lines.var] * primary + [line for line in (self._var_lines[j],) if line is not None]
            vol_lines = [self.lines.vol] * primary + [line for line in (self._vol_lines[j],) if line is not None]
            self._writes.append((factor, tuple(var_lines), tuple(vol_lines)))
        self.addminperiod(f.lookback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.forecaster!r}, horizon={self.horizon})"

    # -- term structure at the current bar -------------------------------------------------------
    def term_structure(self, ago: int = 0) -> np.ndarray:
        """The variance over each of the forecaster's horizons at the current bar (or ``ago`` bars back)."""
        i = len(self) - 1 - ago
        rows = self._batched if self._batched is not None else self._streamed
        return rows[i] if 0 <= i < len(rows) else self._nan

    def variance_at(self, tau_days: float, ago: int = 0) -> float:
        """Variance over the next ``tau_days`` days (of the calendar), interpolated in total variance."""
        return interpolate_variance_scalar(self.term_structure(ago).tolist(), self.forecaster.horizons, tau_days)

    def vol_at(self, tau_days: float, ago: int = 0) -> float:
        """Annualised volatility over the next ``tau_days`` days (e.g. an option's remaining life)."""
        if tau_days <= 0:
            return self.vol[-ago]
        var = self.variance_at(tau_days, ago)
        return math.sqrt(var * self.forecaster.cal.days_per_year / tau_days) if var >= 0 else math.nan

    # -- guard ---------------------------------------------------------------------------------
    def _guard(self, first_forecast: pd.Timestamp) -> None:
        check = getattr(self.forecaster, "check_out_of_sample", None)
        if check is not None:
            self.in_sample = check(first_forecast, self.p.allow_in_sample)
        self._checked = True

    # -- runonce: one batched pass -------------------------------------------------------------
    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        self.once(start, end)

    def _compute_batched(self) -> np.ndarray:
        d = self.data
        n = d.buflen()
        frame = pd.DataFrame({c: np.asarray(getattr(d, c).array[:n], dtype="float64")
                              for c in ("open", "high", "low", "close", "volume")},
                             index=bt_dates_to_index(d.datetime.array[:n]))
        frame.attrs["timeframe"] = self.forecaster.timeframe
        frame.attrs["source"] = f"feed {d._name!r}"
        var = self.forecaster.predict_batch(frame, start=self._publish_from)
        if self._publish_from is not None:
            var[frame.index < self._publish_from] = np.nan
        valid = np.flatnonzero(np.isfinite(var[:, 0]))
        if valid.size:
            self._guard(frame.index[valid[0]])
        return var

    def once(self, start, end):
        if self._batched is None or len(self._batched) < end:
            self._batched = self._compute_batched()
        var = self._batched[start:end]
        vol = np.sqrt(var * np.asarray(self._vol_factor))
        targets = [(line, var[:, j]) for j, (_, var_lines, _) in enumerate(self._writes) for line in var_lines]
        targets += [(line, vol[:, j]) for j, (_, _, vol_lines) in enumerate(self._writes) for line in vol_lines]
        for line, values in targets:
            dst = line.array
            if isinstance(dst, array) and len(dst) >= end:
                dst[start:end] = array("d", values.tobytes())
            else:
                for i, v in enumerate(values.tolist(), start):
                    dst[i] = v

    # -- next: streaming -----------------------------------------------------------------------
    def prenext(self):
        # warm-up bars must reach the streaming forecaster too
        self.next()

    def next(self):
        dt, open_, high, low, close, volume = self._fields
        num = dt[0]
        var = self.forecaster.update_fields(bt_num_to_ns(num), open_[0], high[0], low[0], close[0], volume[0])
        if num < self._publish_num:
            var = self._nan
        elif not self._checked and not math.isnan(var[0]):
            self._guard(bt_num_to_timestamp(num))
        self._streamed.append(var)
        for (factor, var_lines, vol_lines), v in zip(self._writes, var.tolist(), strict=True):
            vol = math.sqrt(v * factor) if v >= 0 else math.nan
            for line in var_lines:
                line[0] = v
            for line in vol_lines:
                line[0] = vol


class LSTMVolatility(VolatilityForecast):
    """Term structure of a pretrained :class:`~lstm_strategies.model.VolatilityLSTM` (``model`` param:
    a bundled name such as ``"btc-1h"`` or a checkpoint folder)."""

    alias = ("LSTMVol",)
    params = (("forecaster", "lstm"), *_declared("lstm"))
    plotinfo = dict(plotname="LSTM vol")


class LSTMIVVolatility(VolatilityForecast):
    """Term structure of an LSTM with implied volatility (``model``: ``"btc-1h-iv"``, ``"eth-1h-iv"`` or a
    folder); give the series with ``inputs={"implied_vol": ...}``."""

    alias = ("LSTMIVVol",)
    params = (("forecaster", "lstm_iv"), *_declared("lstm_iv"))
    plotinfo = dict(plotname="LSTM-IV vol")


class HARIVVolatility(VolatilityForecast):
    """HAR-IV forecast (log-HAR plus log implied variance) refit every ``refit_every_days``; give the series
    with ``inputs={"implied_vol": ...}``."""

    alias = ("HARIVVol",)
    params = (("forecaster", "har_iv"), *_declared("har_iv"))
    plotinfo = dict(plotname="HAR-IV vol")


class RefittingLSTMVolatility(VolatilityForecast):
    """The self-refitting LSTM: retrained every ``refit_every`` on the bars it has seen."""

    alias = ("RefitLSTMVol",)
    params = (("forecaster", "lstm_refit"), *_declared("lstm_refit"))
    plotinfo = dict(plotname="LSTM (refit) vol")


class EWMAVolatility(VolatilityForecast):
    """RiskMetrics EWMA forecast with daily decay ``lam``."""

    alias = ("EWMAVol",)
    params = (("forecaster", "ewma"), *_declared("ewma"))
    plotinfo = dict(plotname="EWMA vol")


class GARCHVolatility(VolatilityForecast):
    """GARCH(1,1)-t forecast refit every ``refit_every_days`` on an expanding window."""

    alias = ("GARCHVol",)
    params = (("forecaster", "garch"), *_declared("garch"))
    plotinfo = dict(plotname="GARCH vol")


class HARVolatility(VolatilityForecast):
    """HAR-RV forecast (direct regression per horizon) refit every ``refit_every_days``."""

    alias = ("HARVol",)
    params = (("forecaster", "har"), *_declared("har"))
    plotinfo = dict(plotname="HAR vol")


class LogHARVolatility(VolatilityForecast):
    """log-HAR forecast (direct regression per horizon) refit every ``refit_every_days``."""

    alias = ("LogHARVol",)
    params = (("forecaster", "log_har"), *_declared("log_har"))
    plotinfo = dict(plotname="log-HAR vol")
