"""VaR and ES as Backtrader indicator lines: :class:`VolatilityRisk` over any forecaster.

The lines are the 1- and 7-day value at risk and expected shortfall of a long and a short position, as
positive log-return losses: ``var_1d_long``, ``es_1d_long``, ``var_1d_short``, ``es_1d_short`` and the
``7d`` ones (the frozen levels: 1 day VaR 99% / ES 97.5%, 7 days VaR 97.5% / ES 97.5%; any other through
``spec_1d`` / ``spec_7d``). They are made at each forecast origin (the bar that closes a UTC day) by
filtered historical simulation of the forecaster's own standardised h-day returns
(:mod:`lstm_strategies.stats.tail_risk`), and intraday bars carry the last origin's values, so a value
read at a bar was known at its close.

Both Backtrader modes give :func:`lstm_strategies.forecasters.risk.forecast_risk`'s numbers (tested):
runonce makes them in one batched pass over the feed; next mode keeps the residual pools as ring buffers
(the last ``window`` standardised returns per horizon, each appended when its h-day return has ended)
and recomputes the quantiles once a day. The forecast comes from a :class:`VolatilityForecast` that
forecasts every bar (the pools need the forecaster's history before ``start``), built here or given as
``forecast`` (a strategy's own, to forecast once); nothing is added to that indicator's per-bar work.
A trained network's values from ``start`` on must be out of sample (its leakage guard, as the
forecast indicator's); its in-sample residuals stay in the pools (the frozen choice).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import backtrader as bt
import numpy as np
import pandas as pd

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.features.realized import forecast_origins, forward_return
from lstm_strategies.stats.tail_risk import RiskSpec, default_spec, parametric_quantiles, pool_quantiles
from lstm_strategies.stats.tail_risk import forecast_risk as risk_from_forecasts
from lstm_strategies.trading.feed import bt_dates_to_index, bt_num_to_ns, bt_num_to_timestamp, timestamp_to_bt_num
from lstm_strategies.trading.indicators import VolatilityForecast, line_label

DAY_NS = 86_400 * 1_000_000_000
SPANS = ("1d", "7d")
RISK_LINES = tuple(f"{kind}_{span}_{side}" for span in SPANS for side in ("long", "short") for kind in ("var", "es"))


class _Pool:
    """Next mode's state of one horizon: origins waiting for their return, the ring buffer of residuals."""

    def __init__(self, spec: RiskSpec, column: int, span_ns: int, pool_from_ns: int | None):
        self.spec, self.column, self.span = spec, column, span_ns
        self.pool_from = pool_from_ns
        self.pending: deque = deque()         # (origin ns, origin close, h-day variance)
        self.residuals: deque = deque(maxlen=spec.window)
        self.fallback = parametric_quantiles(1, spec.fallback, spec.fallback_dof, spec.var_level, spec.es_level)[0]

    def resolve(self, ts: int, close: float, previous_close: float) -> None:
        """Residuals whose h-day window ended by this bar (the window's last bar: this one or the previous)."""
        while self.pending and self.pending[0][0] + self.span <= ts:
            t0, c0, var = self.pending.popleft()
            end = close if t0 + self.span == ts else previous_close
            if var > 0 and math.isfinite(var) and (self.pool_from is None or t0 >= self.pool_from):
                z = math.log(end / c0) / math.sqrt(var)
                if math.isfinite(z):
                    self.residuals.append(z)

    def quantities(self, ts: int, close: float, var: float) -> list[float]:
        """The origin's (VaR long, ES long, VaR short, ES short), then it waits for its own return."""
        self.pending.append((ts, close, var))
        if not (var > 0 and math.isfinite(var)):
            return [math.nan] * 4
        spec = self.spec
        if spec.method == "fhs" and len(self.residuals) >= spec.min_residuals:
            zq = pool_quantiles(np.array(self.residuals), spec.var_level, spec.es_level)
        else:
            zq = self.fallback
        s = math.sqrt(var)
        return [-zq[0] * s, -zq[2] * s, zq[3] * s, zq[5] * s]


class VolatilityRisk(bt.Indicator):
    """1- and 7-day VaR and ES of a long and a short position from any registered forecaster.

    Params
    ------
    forecaster, forecaster_params, inputs, calendar :
        As :class:`~lstm_strategies.trading.indicators.VolatilityForecast` (ignored with ``forecast``).
    forecast : VolatilityForecast or None
        An existing forecast indicator to read (it must forecast every bar: ``start=None``).
    start : str or None
        First date whose values are published (earlier bars only fill the pools).
    allow_in_sample : bool
        Let a trained network publish values on dates it was trained on.
    spec_1d, spec_7d : RiskSpec or None
        Method, levels, window (default: the frozen specs, :func:`~lstm_strategies.stats.tail_risk.default_spec`).
    """

    lines = RISK_LINES
    params = (("forecaster", "ewma"), ("forecaster_params", None), ("inputs", None), ("calendar", None),
              ("forecast", None), ("start", None), ("allow_in_sample", False), ("spec_1d", None), ("spec_7d", None))
    plotinfo = dict(subplot=True, plotname="VaR / ES")
    plotlines = {line: dict(_plotskip=not line.startswith("var_1d")) for line in RISK_LINES}

    def __init__(self):
        fc = self.p.forecast
        if fc is None:
            fc = VolatilityForecast(self.data, forecaster=self.p.forecaster, forecaster_params=self.p.forecaster_params,
                                    inputs=self.p.inputs, calendar=self.p.calendar, allow_in_sample=True)
        elif fc.p.start is not None:
            raise ConfigError("VolatilityRisk(forecast=...): that indicator publishes from start="
                              f"{fc.p.start!r}, but the residual pools need the forecasts before it; give one built "
                              "with start=None (and pass start= here)")
        self.forecast = fc
        f = fc.forecaster
        self._specs = {}
        for span, spec in zip(SPANS, (self.p.spec_1d, self.p.spec_7d), strict=True):
            j = next((j for j, h in enumerate(f.horizons) if line_label(h, f.cal) == span), None)
            if j is not None:
                base = spec if spec is not None else default_spec(1 if span == "1d" else 7)
                self._specs[span] = (j, replace(base, horizon=int(f.horizons[j])))
        for _, spec in self._specs.values():
            if (spec.method == "t" and spec.dof == "fit") or spec.scale == "pool":
                raise ConfigError("VolatilityRisk streams its pools: dof='fit' and scale='pool' are batch-only "
                                  "(lstm_strategies.forecasters.risk.forecast_risk)")
        self._publish_num = timestamp_to_bt_num(self.p.start)
        self._checked = False
        self.in_sample = False
        self._pools = None
        self._tables = None
        self._current = [math.nan] * len(RISK_LINES)
        self._previous_close = math.nan

    # -- guard ---------------------------------------------------------------------------------
    def _guard(self, first) -> None:
        check = getattr(self.forecast.forecaster, "check_out_of_sample", None)
        if check is not None:
            self.in_sample = check(first, self.p.allow_in_sample)
        self._checked = True

    def _line_columns(self, span: str) -> list:
        return [getattr(self.lines, f"{kind}_{span}_{side}") for side in ("long", "short") for kind in ("var", "es")]

    # -- runonce -------------------------------------------------------------------------------
    def preonce(self, start, end):
        pass

    def oncestart(self, start, end):
        self.once(start, end)

    def batched(self) -> dict[str, pd.DataFrame]:
        """The feed's risk forecasts per span, one row per bar (the last origin's values), before publishing."""
        d = self.data
        n = d.buflen()
        frame = pd.DataFrame({"close": np.asarray(d.close.array[:n], dtype="float64")},
                             index=bt_dates_to_index(d.datetime.array[:n]))
        frame.attrs["timeframe"] = self.forecast.forecaster.timeframe
        origins = forecast_origins(frame, str(frame.index[0].date()))
        var = self.forecast._batched
        carried = np.searchsorted(origins, np.arange(n), side="right") - 1
        out = {}
        for span, (j, spec) in self._specs.items():
            ret = forward_return(frame, spec.horizon, self.forecast.forecaster.calendar)
            risk = risk_from_forecasts(pd.Series(var[origins, j], index=frame.index[origins]),
                                       ret.iloc[origins], spec)
            values = risk[["var_long", "es_long", "var_short", "es_short"]].to_numpy()
            rows = np.full((n, 4), np.nan)
            rows[carried >= 0] = values[carried[carried >= 0]]
            out[span] = pd.DataFrame(rows, index=frame.index, columns=["var_long", "es_long", "var_short", "es_short"])
        return out

    def once(self, start, end):
        if self._tables is None:
            self._tables = {}
            for span, table in self.batched().items():
                values = table.to_numpy(copy=True)
                values[np.asarray(table.index < _publish_time(self.p.start))] = np.nan
                published = np.flatnonzero(np.isfinite(values[:, 0]))
                if published.size and not self._checked:
                    self._guard(table.index[published[0]])
                self._tables[span] = values
        for span, values in self._tables.items():
            for k, line in enumerate(self._line_columns(span)):
                dst = line.array
                for i, v in enumerate(values[start:end, k].tolist(), start):
                    dst[i] = v

    # -- next: streaming -----------------------------------------------------------------------
    def prenext(self):
        self.next()

    def next(self):
        if self._pools is None:
            step = pd.Timedelta(self.forecast.forecaster.timeframe).value
            pool_from = {span: None if spec.pool_from is None else pd.Timestamp(spec.pool_from, tz="UTC").value
                         for span, (_, spec) in self._specs.items()}
            self._step = min(step, DAY_NS)
            self._pools = {span: _Pool(spec, j, spec.horizon * DAY_NS, pool_from[span])
                           for span, (j, spec) in self._specs.items()}
        num = self.data.datetime[0]
        ts, close = bt_num_to_ns(num), self.data.close[0]
        for pool in self._pools.values():
            pool.resolve(ts, close, self._previous_close)
        self._previous_close = close
        if (ts + self._step) % DAY_NS == 0:
            term = self.forecast.term_structure(0)
            for span, pool in self._pools.items():
                k = RISK_LINES.index(f"var_{span}_long")
                self._current[k:k + 4] = pool.quantities(ts, close, float(term[pool.column]))
        publish = num >= self._publish_num
        if publish and not self._checked and math.isfinite(self._current[0]):
            self._guard(bt_num_to_timestamp(num))
        for k, value in enumerate(self._current):
            self.lines[k][0] = value if publish else math.nan


def _publish_time(start) -> pd.Timestamp:
    return pd.Timestamp.min.tz_localize("UTC") if start is None else pd.Timestamp(start, tz="UTC")
