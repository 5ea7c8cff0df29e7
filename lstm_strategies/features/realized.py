"""Causal volatility features, realized variance, HAR aggregates, targets and annualisation.

Every feature at bar ``t`` uses bars ``<= t`` only, and every rolling window has a finite length
(:func:`feature_lookback` bars), so features computed on a history truncated at ``T`` equal those
computed on the full history up to ``T``. Targets look forward and are kept apart from features:
the target at ``t`` covers ``(t, t + horizon]``.

Variance units are "per bar" (squared log returns) unless a name says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_strategies.data.bars import OHLCV, infer_timeframe
from lstm_strategies.data.calendar import Calendar, get_calendar

TINY_VARIANCE = 1e-12
#: volume is compared with its mean over one day, and never fewer than this many bars (on daily
#: bars a one-bar mean would make the feature identically zero)
MIN_VOLUME_BARS = 7
#: Inputs of the LSTM, in order; the first three are the log-HAR regressors: the log of the
#: trailing mean daily realized variance over a day, a week and a month of the calendar
#: (1/7/30 days for crypto, 1/5/22 trading days for equities).
FEATURE_NAMES = [
    "log_rv_day", "log_rv_week", "log_rv_month",
    "log_gk_day", "ret", "log_abs_ret", "log_gk_bar", "log_volume_rel", "hour_sin", "hour_cos",
]
HAR_FEATURES = FEATURE_NAMES[:3]


def log_returns(close: pd.Series) -> pd.Series:
    """Close-to-close log returns; the first bar is NaN."""
    return np.log(close).diff()


def squared_returns(close: pd.Series) -> pd.Series:
    """Squared close-to-close log returns (the per-bar variance proxy)."""
    return log_returns(close) ** 2


def log_volume(volume: pd.Series) -> pd.Series:
    """``log(1 + volume)`` (zero-volume maintenance bars stay finite)."""
    return np.log1p(volume)


def log_volume_change(volume: pd.Series) -> pd.Series:
    """Bar-to-bar change of :func:`log_volume`; the first bar is NaN."""
    return log_volume(volume).diff()


def parkinson_variance(df: pd.DataFrame) -> pd.Series:
    """Parkinson (1980) per-bar variance: ``ln(H/L)^2 / (4 ln 2)``."""
    return np.log(df["high"] / df["low"]) ** 2 / (4.0 * np.log(2.0))


def garman_klass_variance(df: pd.DataFrame) -> pd.Series:
    """Garman-Klass (1980) per-bar variance: ``0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2``."""
    hl = np.log(df["high"] / df["low"])
    co = np.log(df["close"] / df["open"])
    return (0.5 * hl**2 - (2.0 * np.log(2.0) - 1.0) * co**2).clip(lower=0.0)


def rogers_satchell_variance(df: pd.DataFrame) -> pd.Series:
    """Rogers-Satchell (1991) per-bar variance, unbiased under drift."""
    h, lo = np.log(df["high"]), np.log(df["low"])
    o, c = np.log(df["open"]), np.log(df["close"])
    return (h - c) * (h - o) + (lo - c) * (lo - o)


def realized_variance(df: pd.DataFrame, rule: str = "1D") -> pd.DataFrame:
    """Realized variance per calendar period from intraday bars.

    Sums the squared close-to-close log returns of the bars whose timestamp falls in each UTC
    period (the first bar of a day carries the return from the previous day's last close).

    Returns
    -------
    DataFrame
        ``rv`` (variance of the period) and ``n_bars`` (bars that went into it).
    """
    r2 = log_returns(df["close"]) ** 2
    grouped = r2.resample(rule, label="left", closed="left")
    out = pd.DataFrame({"rv": grouped.sum(min_count=1), "n_bars": grouped.count()})
    return out[out["n_bars"] > 0]


def forward_realized_variance(df: pd.DataFrame, days: float, calendar: str | Calendar = "crypto") -> pd.Series:
    """Target: sum of squared log returns over the next ``days`` days of the calendar.

    Crypto (time-based): the bars in ``(t, t + days * 24h]``, so a gap inside the window does not
    stretch it. Equity (bar-based): the next ``days`` trading days' bars. NaN where the data ends
    before the window does.
    """
    cal = get_calendar(calendar)
    r2 = (log_returns(df["close"]) ** 2).fillna(0.0).to_numpy()
    cum = np.cumsum(r2)
    n = len(df)
    if cal.time_based:
        span = pd.Timedelta(days=days).value
        ts = df.index.asi8
        end = np.searchsorted(ts, ts + span, side="right") - 1
        target = cum[end] - cum
        target[ts + span > ts[-1]] = np.nan
    else:
        bars = int(round(days * cal.bars_per_day(_step(df))))
        target = np.full(n, np.nan)
        if n > bars:
            target[: n - bars] = cum[bars:] - cum[: n - bars]
    return pd.Series(target, index=df.index, name=f"rv_next_{days}d")


def forward_return(df: pd.DataFrame, days: float, calendar: str | Calendar = "crypto") -> pd.Series:
    """Target: the log return from each bar's close to the close ``days`` days later (the twin of
    :func:`forward_realized_variance`, the same window: crypto ``(t, t + days * 24h]`` ending at the last
    bar inside it, equity the next ``days`` trading days' bars). NaN where the data ends first."""
    cal = get_calendar(calendar)
    close = df["close"].to_numpy(dtype="float64")
    n = len(df)
    target = np.full(n, np.nan)
    if cal.time_based:
        span = pd.Timedelta(days=days).value
        ts = df.index.as_unit("ns").asi8
        end = np.searchsorted(ts, ts + span, side="right") - 1
        target = np.log(close[end] / close)
        target[ts + span > ts[-1]] = np.nan
    else:
        bars = int(round(days * cal.bars_per_day(_step(df))))
        if n > bars:
            target[: n - bars] = np.log(close[bars:] / close[: n - bars])
    return pd.Series(target, index=df.index, name=f"ret_next_{days}d")


def forward_variance_matrix(df: pd.DataFrame, horizons, calendar: str | Calendar = "crypto") -> np.ndarray:
    """Targets of a term structure: one column of :func:`forward_realized_variance` per horizon."""
    return np.column_stack([forward_realized_variance(df, h, calendar).to_numpy() for h in horizons])


def target_ends(df: pd.DataFrame, horizons, calendar: str | Calendar = "crypto", bars_in_day: int = 24) -> np.ndarray:
    """For each bar and horizon, the first bar at whose close its target is known: ``(n, H)`` positions.

    Time-based calendars: the first bar stamped at or after ``t + h days`` (as
    :func:`forward_realized_variance` on a history ending there would no longer give NaN); bar-based
    ones: ``h`` days of bars later. ``len(df)`` or beyond when the data ends before.
    """
    cal = get_calendar(calendar)
    if cal.time_based:
        ts = df.index.asi8
        spans = np.array([pd.Timedelta(days=h).value for h in horizons])
        return np.searchsorted(ts, ts[:, None] + spans[None, :], side="left")
    bars = np.array([int(round(h * bars_in_day)) for h in horizons])
    return np.arange(len(df))[:, None] + bars[None, :]


def forecast_origins(df: pd.DataFrame, start: str, end: str | None = None) -> np.ndarray:
    """Positions of each UTC day's last bar between ``start`` and ``end`` (the forecast origins)."""
    step = pd.Timedelta(df.attrs.get("timeframe") or (df.index[1] - df.index[0]))
    closes_at = df.index + min(step, pd.Timedelta("1D"))
    last_of_day = closes_at.floor("1D") != (closes_at - pd.Timedelta(1, "ns")).floor("1D")
    keep = last_of_day & (df.index >= pd.Timestamp(start, tz="UTC"))
    if end:
        keep &= df.index <= pd.Timestamp(end, tz="UTC") + pd.Timedelta("1D")
    return np.flatnonzero(keep)


def feature_lookback(bars_in_day: int, calendar: str | Calendar = "crypto") -> int:
    """Bars of history one feature row needs: the month-long HAR window plus one return."""
    return max(get_calendar(calendar).har_days) * bars_in_day + 1


def _log(x: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(x, TINY_VARIANCE))


def _rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing sum over ``n`` bars (NaN before ``n`` values exist), via a cumulative sum."""
    out = np.full(x.shape, np.nan)
    if len(x) < n:
        return out
    cum = np.cumsum(np.concatenate([[0.0], x]))
    out[n - 1:] = cum[n:] - cum[:-n]
    return out


def compute_features(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
                     volume: np.ndarray, hours: np.ndarray, bars_in_day: int,
                     calendar: str | Calendar = "crypto") -> np.ndarray:
    """The model inputs as a ``(n_bars, len(FEATURE_NAMES))`` array on raw numpy columns.

    Rows before :func:`feature_lookback` bars are NaN. :func:`feature_matrix` is the DataFrame
    entry point; :class:`StreamingFeatures` is the bar-by-bar twin (tested equal).
    """
    days = get_calendar(calendar).har_days
    n = len(close)
    ret = np.full(n, np.nan)
    ret[1:] = np.diff(np.log(close))
    r2 = np.nan_to_num(ret * ret)  # the first bar has no return; its row is masked below
    hl = np.log(high / low)
    co = np.log(close / open_)
    gk = np.maximum(0.5 * hl * hl - (2.0 * np.log(2.0) - 1.0) * co * co, 0.0)
    b = bars_in_day
    rv = [_rolling_sum(r2, d * b) / d for d in days]
    log_vol = np.log1p(volume)
    nv = max(b, MIN_VOLUME_BARS)
    vol_rel = log_vol - _rolling_sum(log_vol, nv) / nv
    angle = 2.0 * np.pi * hours / 24.0
    cols = [
        _log(rv[0]), _log(rv[1]), _log(rv[2]),
        _log(_rolling_sum(gk, b)), ret, _log(np.abs(ret)), _log(gk), vol_rel,
        np.sin(angle), np.cos(angle),
    ]
    out = np.column_stack(cols)
    out[: feature_lookback(b, calendar) - 1] = np.nan
    return out


def bar_hours(index: pd.DatetimeIndex) -> np.ndarray:
    """Hour of day (with minutes as a fraction) of each bar's open time."""
    return (index.hour + index.minute / 60.0).to_numpy(dtype="float64")


def feature_matrix(df: pd.DataFrame, calendar: str | Calendar = "crypto",
                   timeframe: str | pd.Timedelta | None = None) -> np.ndarray:
    """:func:`compute_features` on an OHLCV frame: the one DataFrame -> feature-matrix step.

    Used by training, batched LSTM inference and the HAR regressors alike.
    """
    step = timeframe or df.attrs.get("timeframe") or _step(df)
    b = get_calendar(calendar).bars_per_day(step)
    arrays = (df[c].to_numpy(dtype="float64") for c in OHLCV)
    return compute_features(*arrays, bar_hours(df.index), b, calendar)


def feature_frame(df: pd.DataFrame, calendar: str | Calendar = "crypto") -> pd.DataFrame:
    """:func:`feature_matrix` labelled with :data:`FEATURE_NAMES`."""
    return pd.DataFrame(feature_matrix(df, calendar), index=df.index, columns=FEATURE_NAMES)


def _step(df: pd.DataFrame) -> pd.Timedelta:
    return infer_timeframe(df.index)


class _Tail:
    """Append-only float buffer whose last ``n`` values are one contiguous slice."""

    def __init__(self, keep: int):
        self.keep = keep
        self.buf = np.empty(max(4 * keep, 1024))
        self.end = 0

    def append(self, value: float) -> None:
        if self.end == len(self.buf):
            self.buf[: self.keep] = self.buf[self.end - self.keep: self.end]
            self.end = self.keep
        self.buf[self.end] = value
        self.end += 1

    def last(self, n: int) -> np.ndarray:
        return self.buf[max(self.end - n, 0): self.end]


class RunningSum:
    """Trailing sums of a streamed series in O(1), with the arithmetic of :func:`_rolling_sum`.

    Keeps the running total and its last ``keep + 1`` values: the sum of the last ``n`` values is
    ``total_t - total_{t-n}``, the same subtraction of the same sequential cumulative sums as the
    batched path, so the two agree to the last bit.
    """

    __slots__ = ("tail", "total")

    def __init__(self, keep: int):
        self.tail = _Tail(keep + 1)
        self.total = 0.0
        self.tail.append(0.0)

    def add(self, x: float) -> None:
        self.total += x
        self.tail.append(self.total)

    def window(self, n: int) -> float:
        """Sum of the last ``n`` values added."""
        return self.total - self.tail.buf[self.tail.end - 1 - n]


class StreamingFeatures:
    """Bar-by-bar twin of :func:`compute_features`: the newest feature row in O(1).

    ``update`` returns the row for the bar just added (NaN until :func:`feature_lookback` bars
    have been seen). The tests check it against :func:`compute_features` on real data.
    """

    def __init__(self, bars_in_day: int, calendar: str | Calendar = "crypto"):
        self.b = bars_in_day
        self.days = get_calendar(calendar).har_days
        self.lookback = feature_lookback(bars_in_day, calendar)
        self._nv = max(bars_in_day, MIN_VOLUME_BARS)
        self._r2 = RunningSum(max(self.days) * bars_in_day)
        self._gk, self._logvol = RunningSum(bars_in_day), RunningSum(self._nv)
        self._last_close: float | None = None
        self._count = 0
        self._gk_const = 2.0 * np.log(2.0) - 1.0
        self._empty = np.full(len(FEATURE_NAMES), np.nan)

    def update(self, open_: float, high: float, low: float, close: float, volume: float,
               hour: float) -> np.ndarray:
        b = self.b
        last = self._last_close
        ret = math.log(close) - math.log(last) if last is not None else math.nan
        self._last_close = close
        self._count += 1
        self._r2.add(0.0 if last is None else ret * ret)
        hl, co = math.log(high / low), math.log(close / open_)
        gk = max(0.5 * hl * hl - self._gk_const * co * co, 0.0)
        self._gk.add(gk)
        log_vol = math.log1p(volume)
        self._logvol.add(log_vol)
        if self._count < self.lookback:
            return self._empty
        d1, d2, d3 = self.days
        r2 = self._r2
        angle = 2.0 * math.pi * hour / 24.0
        # same order and formulas as compute_features / FEATURE_NAMES
        return np.array([
            _flog(r2.window(d1 * b) / d1), _flog(r2.window(d2 * b) / d2), _flog(r2.window(d3 * b) / d3),
            _flog(self._gk.window(b)), ret, _flog(abs(ret)), _flog(gk),
            log_vol - self._logvol.window(self._nv) / self._nv, math.sin(angle), math.cos(angle),
        ])


def _flog(x: float) -> float:
    """Scalar twin of :func:`_log`."""
    return math.log(max(x, TINY_VARIANCE))


def relative_form(feature_names: list[str]) -> np.ndarray:
    """The input map of the scale-free form (see :class:`~lstm_strategies.models.network.VolatilityLSTM`).

    Log-variance features are measured against ``log_rv_month`` (``log_abs_ret``, the log of an
    absolute return, against half of it); ``log_rv_month`` itself enters the LSTM as zero (the
    heads still read it).
    """
    n = len(feature_names)
    month = feature_names.index("log_rv_month")
    matrix = np.eye(n)
    for name, weight in (("log_rv_day", 1.0), ("log_rv_week", 1.0), ("log_rv_month", 1.0), ("log_gk_day", 1.0),
                         ("log_gk_bar", 1.0), ("log_abs_ret", 0.5)):
        matrix[feature_names.index(name), month] -= weight
    return matrix
