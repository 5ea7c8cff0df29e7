"""Backtrader indicators: thin wrappers over :mod:`lstm_strategies.forecasters`.

Each indicator has two lines, ``vol`` (annualised volatility forecast) and ``var`` (variance of
log returns over the forecaster's horizon), and works in both Backtrader modes:

* runonce (``cerebro.run()`` default): all forecasts are computed in one batched pass in
  :meth:`once` from the feed's arrays;
* next (``runonce=False``, live feeds, resampled or replayed data): one bar at a time through
  the forecaster's streaming :meth:`~lstm_strategies.forecasters.base.Forecaster.update`.

Both give the same numbers. A pretrained model raises
:class:`~lstm_strategies.errors.LeakageError` when its forecasts would fall inside its training
window, unless ``allow_in_sample=True``.
"""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pandas as pd

from lstm_strategies.btfeed import BT_EPOCH, bt_dates_to_index, bt_timeframe, feed_timeframe
from lstm_strategies.errors import DataError
from lstm_strategies.features import annualise_variance
from lstm_strategies.forecasters.base import Bar, Forecaster


class VolatilityForecast(bt.Indicator):
    """Base of the forecast indicators (not used directly).

    Params
    ------
    start : str or None
        First date whose forecast is published; earlier bars only warm the model up (NaN).
    allow_in_sample : bool
        Let a pretrained model forecast dates it was trained on (the run is marked in-sample).
    """

    lines = ("vol", "var")
    params = (("start", None), ("allow_in_sample", False))
    plotinfo = dict(subplot=True, plotname="forecast vol")
    plotlines = dict(var=dict(_plotskip=True), vol=dict(color="darkred"))

    def make_forecaster(self) -> Forecaster:
        raise NotImplementedError

    def __init__(self):
        self.forecaster = self.make_forecaster()
        feed_tf = feed_timeframe(self.data)
        if self.forecaster.timeframe is None:
            self.forecaster.timeframe = feed_tf
        elif pd.Timedelta(self.forecaster.timeframe) != pd.Timedelta(feed_tf):
            tf, comp = bt_timeframe(pd.Timedelta(self.forecaster.timeframe))
            raise DataError(
                f"feed {self.data._name!r} has {feed_tf} bars but {self.forecaster!r} expects "
                f"{self.forecaster.timeframe} bars: pass timeframe={bt.TimeFrame.getname(tf, comp)!r} "
                f"(bt.TimeFrame {tf}) and compression={comp}, or resample the feed")
        self.forecaster.reset()
        self.in_sample = False
        self._publish_from = pd.Timestamp(self.p.start, tz="UTC") if self.p.start else None
        self._publish_num = bt.date2num(self._publish_from.tz_localize(None)) if self.p.start else -math.inf
        f = self.forecaster
        # annualised vol = sqrt(var * factor); computed once, not per bar
        self._vol_factor = float(annualise_variance(1.0, f.horizon_bars, f.timeframe, f.calendar)) ** 2
        self._checked = False
        self.addminperiod(self.forecaster.lookback)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.forecaster!r})"

    # -- guard ----------------------------------------------------------------------------
    def _guard(self, first_forecast: pd.Timestamp) -> None:
        check = getattr(self.forecaster, "check_out_of_sample", None)
        if check is not None:
            self.in_sample = check(first_forecast, self.p.allow_in_sample)
        self._checked = True

    # -- runonce: one batched pass --------------------------------------------------------
    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        self.once(start, end)

    def once(self, start, end):
        if getattr(self, "_batched", None) is None or len(self._batched) < end:
            d = self.data
            n = d.buflen()
            frame = pd.DataFrame(
                {c: np.asarray(getattr(d, c).array[:n], dtype="float64")
                 for c in ("open", "high", "low", "close", "volume")},
                index=bt_dates_to_index(d.datetime.array[:n]))
            frame.attrs["timeframe"] = self.forecaster.timeframe
            var = self.forecaster.predict_batch(frame)
            if self._publish_from is not None:
                var[frame.index < self._publish_from] = np.nan
            valid = np.flatnonzero(np.isfinite(var))
            if valid.size:
                self._guard(frame.index[valid[0]])
            self._batched = var
        var = self._batched
        vol = np.sqrt(var * self._vol_factor)
        var_line, vol_line = self.lines.var.array, self.lines.vol.array
        for i in range(start, end):
            var_line[i] = var[i]
            vol_line[i] = vol[i]

    # -- next: streaming ------------------------------------------------------------------
    def prenext(self):
        # warm-up bars must reach the streaming forecaster too
        self.next()

    def next(self):
        d = self.data
        num = d.datetime[0]
        ts = pd.Timestamp(round((num - BT_EPOCH) * 86400.0), unit="s", tz="UTC")
        var = self.forecaster.update(Bar(ts, d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))
        if num < self._publish_num:
            var = math.nan
        if not self._checked and not math.isnan(var):
            self._guard(ts)
        self.lines.var[0] = var
        self.lines.vol[0] = math.sqrt(var * self._vol_factor) if var >= 0 else math.nan


class LSTMVolatility(VolatilityForecast):
    """Volatility forecast of a pretrained :class:`~lstm_strategies.model.VolatilityLSTM`.

    Params
    ------
    model : str, path or LSTMForecaster
        A bundled name (``"btc-1h"``, see ``lstm-strategies models``), a checkpoint folder, or a
        loaded forecaster.
    """

    params = (("model", "btc-1h"),)
    plotinfo = dict(plotname="LSTM vol")

    def make_forecaster(self) -> Forecaster:
        from lstm_strategies.forecasters.lstm import LSTMForecaster, load_pretrained

        model = self.p.model
        if isinstance(model, LSTMForecaster):
            return LSTMForecaster(model.model, model.card, model.path)
        return load_pretrained(model)


class EWMAVolatility(VolatilityForecast):
    """RiskMetrics EWMA forecast with daily decay ``lam`` (see ``forecasters.ewma.EWMAForecaster``)."""

    params = (("lam", 0.94), ("horizon", "1D"), ("calendar", "crypto"))
    plotinfo = dict(plotname="EWMA vol")

    def make_forecaster(self) -> Forecaster:
        from lstm_strategies.forecasters.ewma import EWMAForecaster

        return EWMAForecaster(lam=self.p.lam, horizon=self.p.horizon, calendar=self.p.calendar)


class GARCHVolatility(VolatilityForecast):
    """GARCH(1,1)-t forecast refit every ``refit_every_days`` on an expanding window."""

    params = (("horizon", "1D"), ("calendar", "crypto"), ("min_train_days", 250), ("refit_every_days", 30))
    plotinfo = dict(plotname="GARCH vol")

    def make_forecaster(self) -> Forecaster:
        from lstm_strategies.forecasters.garch import GARCHForecaster

        return GARCHForecaster(horizon=self.p.horizon, calendar=self.p.calendar,
                               min_train_days=self.p.min_train_days, refit_every_days=self.p.refit_every_days)


class HARVolatility(VolatilityForecast):
    """HAR-RV forecast (``log=True``: log-HAR) refit every ``refit_every_days`` on an expanding window."""

    params = (("log", True), ("horizon", "1D"), ("calendar", "crypto"), ("min_train_days", 180),
              ("refit_every_days", 30))
    plotinfo = dict(plotname="HAR vol")

    def make_forecaster(self) -> Forecaster:
        from lstm_strategies.forecasters.har import HARForecaster

        return HARForecaster(log=self.p.log, horizon=self.p.horizon, calendar=self.p.calendar,
                             min_train_days=self.p.min_train_days, refit_every_days=self.p.refit_every_days)


#: forecaster name (as used in configs) -> (indicator class, fixed params)
FORECASTERS: dict[str, tuple[type[VolatilityForecast], dict]] = {
    "lstm": (LSTMVolatility, {}),
    "ewma": (EWMAVolatility, {}),
    "garch": (GARCHVolatility, {}),
    "har": (HARVolatility, {"log": False}),
    "log_har": (HARVolatility, {"log": True}),
}


def volatility_indicator(name: str, data, **params) -> VolatilityForecast:
    """Build the indicator for a forecaster name (``lstm``, ``ewma``, ``garch``, ``har``, ``log_har``)."""
    from lstm_strategies.errors import ConfigError

    if name not in FORECASTERS:
        raise ConfigError(f"forecaster {name!r} is unknown; choose one of {sorted(FORECASTERS)}")
    cls, fixed = FORECASTERS[name]
    allowed = {p for p in cls.params._getkeys()}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"forecaster {name!r} does not take {unknown}; it takes {sorted(allowed)}")
    return cls(data, **fixed, **params)
