r"""Causal level correction from completed windows (issue #29): a forecaster's own recent bias, undone.

A forecaster whose level drifts away from the variance being realized (an expanding-window regression
anchored on a calmer or a wilder past) is multiplied by a factor learnt from its **own** forecasts whose
targets are already complete:

.. math:: F^{used}_{t,h} = F_{t,h} \times \exp\big(s \cdot \log \mathrm{clip}(\hat c_t, 0.25, 4)\big),
   \qquad \hat c_t = \frac{\sum_s RV_{s,s+h'}}{\sum_s F_{s,h'}}

over the bars ``s`` whose target is known at the close of bar ``t`` and whose window ended within the last
``window_days`` days (``t_s + h' > t - L``), every bar counted (the ratio of means: the bias ratio
mean(RV)/mean(F) itself; ``form="mean_ratio"`` takes the mean of the ratios instead). ``h'`` is the
horizon's own (``mode="own"``) or the shortest horizon's (``mode="h1"``: its targets complete a day after
the forecast, so it lags a level shift by a day instead of a month, and every horizon takes its factor).
``s`` (``shrink``) = 1 applies the whole correction, 0 none. The factor is 1 until ``min_days`` days of such
bars exist. It uses the forecaster's **uncorrected** forecasts: no feedback.

Both paths are here: :func:`level_factors` (batched: cumulative sums over the rows known at each bar) and
:class:`TrailingLevel` (streaming: the same sums as the targets complete), tested to agree. The designs
were chosen on data up to 2021 (bar-only forecasters) and 2022 (implied-vol ones): research in
``docs/research/calibration/``.

Nothing here imports a forecaster: :class:`~lstm_strategies.forecasters.base.Forecaster` calls it.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd

from lstm_strategies.core.arguments import check_value
from lstm_strategies.core.declarations import OneOf, Range
from lstm_strategies.core.errors import ConfigError

MODES = ("off", "own", "h1")
FORMS = ("ratio_of_means", "mean_ratio")
#: the factor's range (a ratio outside it is clipped before the shrinkage)
CLIP = (0.25, 4.0)
WINDOWS = ("expanding", "rolling", "ew")

#: the level correction's and the estimation window's arguments, as every forecaster taking them declares them
LevelMode = Annotated[str, OneOf(*MODES)]
LevelWindowDays = Annotated[float, Range(1)]
LevelShrink = Annotated[float, Range(0, 1)]
LevelMinDays = Annotated[float, Range(0)]
WindowDays = Annotated[float | None, Range(1)]

__all__ = ["CLIP", "FORMS", "MODES", "WINDOWS", "LevelCorrection", "TrailingLevel", "check_window", "corrected_batch",
           "level_factors", "level_spans", "level_spec", "set_level", "row_weights", "trailing_level"]


@dataclass(frozen=True)
class LevelCorrection:
    """A level correction's settings (see the module docstring).

    Attributes
    ----------
    mode : {"own", "h1"}
        Each horizon from its own completed windows, or every horizon from the shortest horizon's.
    window_days : float
        Windows that ended within the last ``window_days`` days count.
    shrink : float
        Power of the factor (1: full correction; 0.5: half of it in logs).
    min_days : float
        Days of counted bars before the factor departs from 1.
    form : {"ratio_of_means", "mean_ratio"}
        ``sum RV / sum F`` or ``mean(RV / F)``.
    clip : tuple of float
        Bounds of the ratio before the shrinkage.
    """

    mode: str = "h1"
    window_days: float = 180.0
    shrink: float = 1.0
    min_days: float = 30.0
    form: str = "ratio_of_means"
    clip: tuple[float, float] = CLIP

    def sources(self, horizons) -> list[int]:
        """Per horizon, the column whose ratio it takes."""
        shortest = int(np.argmin(np.asarray(horizons, dtype="float64")))
        return [shortest if self.mode == "h1" else j for j in range(len(horizons))]

    def lead_ns(self, spans_ns) -> int:
        """How far before the first published forecast the raw forecasts must exist (window + longest span)."""
        return int(pd.Timedelta(days=self.window_days).value + max(spans_ns))


def level_spec(owner: str, mode: str, window_days, shrink, min_days, form: str = "ratio_of_means"
               ) -> LevelCorrection | None:
    """Validated settings, or None when ``mode="off"``. A bad value is a :class:`ConfigError` naming it."""
    if mode not in MODES:
        raise ConfigError(f"{owner}: level_correction={mode!r}; choose one of {list(MODES)}")
    if form not in FORMS:
        raise ConfigError(f"{owner}: level form={form!r}; choose one of {list(FORMS)}")
    window_days = check_value(owner, "level_window_days", window_days, LevelWindowDays)
    shrink = check_value(owner, "level_shrink", shrink, LevelShrink)
    min_days = check_value(owner, "level_min_days", min_days, LevelMinDays)
    if mode == "off":
        return None
    return LevelCorrection(mode, float(window_days), float(shrink), float(min_days), form)


def set_level(fc, level_correction: str, level_window_days, level_shrink, level_min_days) -> None:
    """Validate and store a forecaster's level parameters (as given: ``get_params`` returns them) and its
    :class:`LevelCorrection` (None when off)."""
    fc._level = level_spec(type(fc).__name__, level_correction, level_window_days, level_shrink, level_min_days)
    fc.level_correction, fc.level_window_days = level_correction, level_window_days
    fc.level_shrink, fc.level_min_days = level_shrink, level_min_days


def _factor(c: np.ndarray, spec: LevelCorrection) -> np.ndarray:
    return np.exp(spec.shrink * np.log(np.clip(c, *spec.clip)))


def level_factors(ts: np.ndarray, Y: np.ndarray, F: np.ndarray, ends: np.ndarray, spans_ns, spec: LevelCorrection,
                  min_rows: int) -> np.ndarray:
    """Batched factors ``(n, H)`` for forecasts ``F`` (uncorrected) with targets ``Y`` known at bars ``ends``.

    ``spans_ns``: each horizon's length in nanoseconds (the window test ``ts_s + span > ts_t - window``);
    ``min_rows``: counted bars before the factor departs from 1 (``min_days`` times the bars in a day).
    """
    n, H = F.shape
    out = np.ones((n, H))
    t_idx = np.arange(n)
    window = pd.Timedelta(days=spec.window_days).value
    sources = spec.sources(range(H)) if spec.mode == "own" else [int(np.argmin(spans_ns))] * H
    done: dict[int, np.ndarray] = {}
    for j, src in enumerate(sources):
        if src not in done:
            y, f = Y[:, src], F[:, src]
            ok = np.isfinite(y) & np.isfinite(f) & (f > 0)
            if spec.form == "ratio_of_means":
                num, den = np.where(ok, y, 0.0), np.where(ok, f, 0.0)
            else:
                num, den = np.where(ok, y / np.where(ok, f, 1.0), 0.0), ok.astype("float64")
            cn = np.concatenate([[0.0], np.cumsum(num)])
            cd = np.concatenate([[0.0], np.cumsum(den)])
            cc = np.concatenate([[0], np.cumsum(ok)])
            hi = np.searchsorted(ends[:, src], t_idx, side="right")         # rows [0, hi) are known at t
            lo = np.minimum(np.searchsorted(ts, ts - (window + spans_ns[src]), side="right"), hi)
            cnt = cc[hi] - cc[lo]
            with np.errstate(divide="ignore", invalid="ignore"):
                c = (cn[hi] - cn[lo]) / (cd[hi] - cd[lo])
            good = (cnt >= min_rows) & np.isfinite(c) & (c > 0)
            col = np.ones(n)
            col[good] = _factor(c[good], spec)
            done[src] = col
        out[:, j] = done[src]
    return out


class TrailingLevel:
    """The streaming twin of :func:`level_factors`: one bar at a time, the same running sums.

    Parameters
    ----------
    spec : LevelCorrection
    horizons_bars : list of int or None
        Bar-based calendars: each horizon's target spans this many bars (None: time-based, by ``spans_ns``).
    spans_ns : list of int
        Each horizon's length in nanoseconds.
    min_rows : int
        Counted bars before the factor departs from 1.
    """

    def __init__(self, spec: LevelCorrection, spans_ns, min_rows: int, horizons_bars=None):
        self.spec, self.spans, self.min_rows = spec, [int(s) for s in spans_ns], int(min_rows)
        self.bars = None if horizons_bars is None else [int(b) for b in horizons_bars]
        self.window = pd.Timedelta(days=spec.window_days).value
        self.sources = spec.sources(range(len(self.spans))) if spec.mode == "own" else \
            [int(np.argmin(self.spans))] * len(self.spans)
        self.ts: list[int] = []
        self.cum = [0.0]                       # running sum of squared log returns, one per bar
        self.raw: list[np.ndarray] = []
        self.last_close: float | None = None
        self.next = {src: 0 for src in set(self.sources)}    # first row whose target is not known yet
        self.num = {src: [0.0] for src in self.next}
        self.den = {src: [0.0] for src in self.next}
        self.cnt = {src: [0] for src in self.next}

    def _known(self, p: int, t: int, ts_now: int, src: int) -> int | None:
        """The last bar of row ``p``'s target window when it is known at bar ``t``, else None."""
        if self.bars is not None:
            return p + self.bars[src] if p + self.bars[src] <= t else None
        end = self.ts[p] + self.spans[src]
        if end > ts_now:
            return None
        return t if end == ts_now else t - 1

    def step(self, ts_ns: int, close: float, raw: np.ndarray) -> np.ndarray:
        """Take in bar ``ts_ns`` (its close and the forecaster's uncorrected forecast) and return the
        corrected forecast."""
        last, self.last_close = self.last_close, close
        self.cum.append(self.cum[-1] + (0.0 if last is None else (math.log(close) - math.log(last)) ** 2))
        self.ts.append(int(ts_ns))
        self.raw.append(np.asarray(raw, dtype="float64"))
        t = len(self.ts) - 1
        factors = {}
        for src in self.next:
            p, num, den, cnt = self.next[src], self.num[src], self.den[src], self.cnt[src]
            while p < t:
                end = self._known(p, t, ts_ns, src)
                if end is None:
                    break
                y, f = self.cum[end + 1] - self.cum[p + 1], float(self.raw[p][src])
                ok = math.isfinite(y) and math.isfinite(f) and f > 0
                if self.spec.form == "ratio_of_means":
                    a, b = (y, f) if ok else (0.0, 0.0)
                else:
                    a, b = (y / f, 1.0) if ok else (0.0, 0.0)
                num.append(num[-1] + a)
                den.append(den[-1] + b)
                cnt.append(cnt[-1] + ok)
                p += 1
            self.next[src] = p
            lo = min(bisect.bisect_right(self.ts, ts_ns - (self.window + self.spans[src])), p)
            c = (num[p] - num[lo]) / (den[p] - den[lo]) if den[p] != den[lo] else math.nan
            good = cnt[p] - cnt[lo] >= self.min_rows and math.isfinite(c) and c > 0
            factors[src] = float(_factor(np.array(c), self.spec)) if good else 1.0
        return np.asarray(raw, dtype="float64") * np.array([factors[s] for s in self.sources])


def corrected_batch(fc, df: pd.DataFrame, first: int) -> np.ndarray:
    """A forecaster's batched forecasts times its level factors. The uncorrected forecasts are computed from
    the correction's window before ``first`` on (:meth:`LevelCorrection.lead_ns`), exactly as the stream
    computes them after ``publish_from``, so the two paths agree whatever ``start`` is."""
    from lstm_strategies.features.realized import forward_variance_matrix, target_ends

    spec, ts = fc._level, df.index.asi8
    spans = level_spans(fc)
    lead = first
    if 0 < first < len(df):
        lead = int(np.searchsorted(ts, ts[first] - spec.lead_ns(spans), side="left"))
    fc._published_first = first
    try:
        raw = fc._predict_batch(df, lead)
    finally:
        fc._published_first = None
    Y = forward_variance_matrix(df, fc.horizons, fc.calendar)
    ends = target_ends(df, fc.horizons, fc.calendar, fc.bars_in_day)
    return raw * level_factors(ts, Y, raw, ends, spans, spec, min_rows(fc))


def level_spans(fc) -> list[int]:
    """Nanoseconds of each of a forecaster's horizons (calendar days; trading days scaled to calendar time)."""
    return [pd.Timedelta(days=h * 365 / fc.cal.days_per_year).value for h in fc.horizons]


def min_rows(fc) -> int:
    """Counted bars before a forecaster's factor departs from 1: ``min_days`` of its bars."""
    return int(math.ceil(fc._level.min_days * fc.bars_in_day))


def trailing_level(fc) -> TrailingLevel:
    """The streaming state of a forecaster's level correction (built at its first bar)."""
    bars = None if fc.cal.time_based else [int(round(h * fc.bars_in_day)) for h in fc.horizons]
    return TrailingLevel(fc._level, level_spans(fc), min_rows(fc), bars)


# ------------------------------------------------------------------------------------------------
# estimation windows of the refitting regressions
# ------------------------------------------------------------------------------------------------
def check_window(owner: str, window: str, window_days, allowed=WINDOWS) -> float | None:
    """Validated estimation window: ``window_days`` (rolling length or EW half-life) or None for expanding."""
    if window not in allowed:
        raise ConfigError(f"{owner}: window={window!r}; choose one of {list(allowed)}")
    if window == "expanding":
        if window_days is not None:
            raise ConfigError(f"{owner}: window_days={window_days!r} applies to a rolling or EW window, not "
                              "window='expanding'; leave it out or choose window='rolling' / 'ew'")
        return None
    if window_days is None:
        raise ConfigError(f"{owner}: window={window!r} needs window_days (the rolling length or the EW "
                          "half-life, in days)")
    return float(check_value(owner, "window_days", window_days, WindowDays))


def row_weights(end_ts: np.ndarray, at_ns: int, window: str, window_days: float | None) -> np.ndarray | None:
    """Weights of fit rows whose targets ended at ``end_ts`` (nanoseconds), for a refit at ``at_ns``.

    ``expanding``: None (every row, unweighted: 0.3.0's arithmetic); ``rolling``: 1 for rows whose target
    ended within the last ``window_days`` days, else 0; ``ew``: ``0.5 ** (age / window_days)``, ``age`` the
    days from the target's end to the refit bar.
    """
    if window == "expanding":
        return None
    age = (at_ns - np.asarray(end_ts, dtype="float64")) / pd.Timedelta(days=1).value
    if window == "rolling":
        return (age < window_days).astype("float64")
    return 0.5 ** (np.maximum(age, 0.0) / window_days)
