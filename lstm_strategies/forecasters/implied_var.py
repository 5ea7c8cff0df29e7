"""The implied baselines: the market's implied variance over each horizon, raw or level-corrected."""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count
from lstm_strategies.features.realized import forward_variance_matrix, target_ends
from lstm_strategies.forecasters.base import BarHistory, Forecaster
from lstm_strategies.forecasters.level import LevelMinDays, LevelMode, LevelShrink, LevelWindowDays, set_level


class ImpliedForecaster(Forecaster):
    r"""Raw implied variance: :math:`IV_t^2 \, h / D` over each horizon of ``h`` days (``D`` the
    calendar's days a year), ``IV_t`` the implied volatility known at the close of bar ``t``.

    Refuses (a :class:`~lstm_strategies.errors.DataError`) a bar to forecast without a known value.
    """

    name = "implied"
    inputs = ("implied_vol",)
    missing_input = "refuse"

    @property
    def lookback(self) -> int:
        return 1

    def _variance(self, iv) -> np.ndarray:
        """``(n, H)`` (or ``(H,)``) implied variance over the horizons from implied vols ``iv``."""
        dpy = self.cal.days_per_year
        iv = np.asarray(iv, dtype="float64")
        return np.stack([iv ** 2 * h / dpy for h in self.horizons], axis=-1)

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        now, _ = self.input_values("implied_vol", df)
        first = first if self._published_first is None else max(first, self._published_first)  # refuse what is read
        self.missing_inputs("implied_vol", df.index.asi8[first:], ~np.isfinite(now[first:]))
        return self._variance(now)

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        iv = self.input_lookup("implied_vol").at(ts_ns + pd.Timedelta(self.timeframe).value)
        if iv != iv and not (self._published_ns is not None and ts_ns < self._published_ns):
            self.missing_inputs("implied_vol", ts_ns)
        self.initialized = True
        return self._variance(iv)


class ImpliedLevelForecaster(ImpliedForecaster):
    r"""Implied variance corrected for its level: :math:`IV_t^2 h / D \times \bar c_{t,h}`, with
    :math:`\bar c_{t,h}` the mean of :math:`RV_{s,s+h} / (IV_s^2 h / D)` over the bars ``s`` whose
    target is known at ``t`` and whose window ended within the last ``window_days`` days (the slope on
    implied variance is fixed at 1; the arithmetic mean of the ratio is the QLIKE-optimal level).

    NaN until ``min_ratios`` ratios are known (its warm-up); refuses a bar to forecast without a
    known implied value. ``window_days = 365`` was chosen on data up to 2022 (shorter windows chase
    the ratio, which swung between 0.5 and 1.6 from quarter to quarter).
    """

    name = "implied_level"
    refits = True

    def __init__(self, window_days: Count = 365, min_ratios: Count = 24, *, calendar: str = "crypto", horizons=None,
                 timeframe: str | None = None):
        self.window_days, self.min_ratios = window_days, min_ratios
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    @property
    def warmup_bars(self) -> int:
        """The longest horizon's first window must end, then ``min_ratios`` more, before every horizon has a level."""
        return int(math.ceil(max(self._spans()) / pd.Timedelta(self.timeframe).value)) + self.min_ratios + 1

    def _spans(self) -> list[int]:
        """Nanoseconds of each horizon (calendar days; trading days scaled to calendar time)."""
        return [pd.Timedelta(days=h * 365 / self.cal.days_per_year).value for h in self.horizons]

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        ivvar = super()._predict_batch(df, first)
        ts = df.index.asi8
        Y = forward_variance_matrix(df, self.horizons, self.calendar)
        ends = target_ends(df, self.horizons, self.calendar, self.bars_in_day)
        n = len(df)
        t_idx = np.arange(n)
        window = pd.Timedelta(days=self.window_days).value
        out = np.full_like(ivvar, np.nan)
        for j, span in enumerate(self._spans()):
            ratio = Y[:, j] / ivvar[:, j]
            valid = np.isfinite(ratio)
            csum = np.concatenate([[0.0], np.cumsum(np.where(valid, ratio, 0.0))])
            ccnt = np.concatenate([[0], np.cumsum(valid)])
            hi = np.searchsorted(ends[:, j], t_idx, side="right")            # rows [0, hi) are known at t
            lo = np.minimum(np.searchsorted(ts, ts - (window + span), side="right"), hi)   # ended in the window
            cnt = ccnt[hi] - ccnt[lo]
            mean = np.where(cnt >= self.min_ratios, (csum[hi] - csum[lo]) / np.maximum(cnt, 1), np.nan)
            out[:, j] = ivvar[:, j] * mean
        return out

    # -- streaming: ratios join running sums as their targets become known -----------------------
    def _reset(self) -> None:
        self._rows = BarHistory()
        self._cum = [0.0]                # running sum of squared log returns, one per bar
        self._iv: list[float] = []
        self._last_close: float | None = None
        self._next = [0] * len(self.horizons)                   # first row whose target is not known yet
        self._csum = [[0.0] for _ in self.horizons]
        self._ccnt = [[0] for _ in self.horizons]

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        quiet = self.quiet_until is not None and ts_ns < self.quiet_until
        rows = self._rows
        rows.append(ts_ns, open_, high, low, close, volume)
        last, self._last_close = self._last_close, close
        self._cum.append(self._cum[-1] + (0.0 if last is None else (math.log(close) - math.log(last)) ** 2))
        iv = self.input_lookup("implied_vol").at(ts_ns + pd.Timedelta(self.timeframe).value)
        self._iv.append(iv)
        if iv != iv and not quiet:
            self.missing_inputs("implied_vol", ts_ns)
        t = rows.n - 1
        ts = rows.ts[: rows.n]
        window = pd.Timedelta(days=self.window_days).value
        dpy = self.cal.days_per_year
        out = np.full(len(self.horizons), np.nan)
        for j, (h, span) in enumerate(zip(self.horizons, self._spans(), strict=True)):
            p, csum, ccnt = self._next[j], self._csum[j], self._ccnt[j]
            while p < t and ts[p] + span <= ts_ns:         # row p's window has ended: its target is known
                end = t if ts_ns == ts[p] + span else t - 1
                ratio = (self._cum[end + 1] - self._cum[p + 1]) / (self._iv[p] ** 2 * h / dpy)
                valid = math.isfinite(ratio)
                csum.append(csum[-1] + (ratio if valid else 0.0))
                ccnt.append(ccnt[-1] + valid)
                p += 1
            self._next[j] = p
            lo = min(bisect.bisect_right(ts, ts_ns - (window + span)), p)
            cnt = ccnt[p] - ccnt[lo]
            if cnt >= self.min_ratios:
                out[j] = iv ** 2 * h / dpy * ((csum[p] - csum[lo]) / cnt)
        self.initialized = True
        return out


class ImpliedAnchorForecaster(ImpliedForecaster):
    r"""The market-anchored forecast (issue #29): implied variance times the square root of the trailing
    quarter's realized-over-implied ratio of the 1-day windows,

    .. math:: F_{t,h} = IV_t^2 \, h / D \times \Big(\frac{\sum_s RV_{s,s+1}}{\sum_s IV_s^2 / D}\Big)^{0.5},

    over the bars ``s`` whose 1-day window completed within the last ``level_window_days`` (90) days: the
    causal level correction (:mod:`~lstm_strategies.forecasters.level`, ``mode="h1"``, ratio of means,
    clipped to [0.25, 4]) applied to :class:`ImpliedForecaster`. Raw implied variance until 30 days of such
    windows exist. Every setting was chosen on data up to 2022-12-31 (``docs/research/calibration/``);
    refuses a bar to forecast without a known implied value.
    """

    name = "implied_anchor"
    refits = True
    #: not in the 0.3.0 races' default set (``evaluate --implied``): ``evaluate --calibrated`` adds it
    scored_by_default = False

    def __init__(self, level_correction: LevelMode = "h1", level_window_days: LevelWindowDays = 90,
                 level_shrink: LevelShrink = 0.5, level_min_days: LevelMinDays = 30, *, calendar: str = "crypto",
                 horizons=None, timeframe: str | None = None):
        set_level(self, level_correction, level_window_days, level_shrink, level_min_days)
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)
