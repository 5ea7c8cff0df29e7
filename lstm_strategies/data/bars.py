"""The bar contract: what an OHLCV bar series is, and the checks every path applies to it.

No file formats here (those are :mod:`lstm_strategies.data.load`, which depends on this module, not the
other way round): the column names, the row checks shared by the loader, a raw frame and a streamed
bar (time order, no duplicates, finite positive prices, OHLC consistency, non-negative volume), bar
sizes, gaps, resampling, the rows' fingerprint, and the one rule for "a date means the end of that
day".
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import DataError

OHLCV = ["open", "high", "low", "close", "volume"]


@dataclass(frozen=True)
class GapReport:
    """Missing bars of a series: how many gaps, how many bars, the longest one."""

    n_gaps: int
    missing_bars: int
    longest: pd.Timedelta
    longest_start: pd.Timestamp | None
    table: pd.DataFrame

    def __str__(self) -> str:
        if self.n_gaps == 0:
            return "no gaps"
        return (f"{self.n_gaps} gaps, {self.missing_bars} missing bars, longest {self.longest} "
                f"starting {self.longest_start}")


def check_rows(df: pd.DataFrame, name: str, at: Callable[[int], str], min_rows: int) -> None:
    if len(df) < min_rows:
        raise DataError(f"{name}: {len(df)} rows, but at least {min_rows} are needed for the asked "
                        "window; pass a longer history")
    idx = df.index
    dups = np.flatnonzero(idx.duplicated())
    if dups.size:
        i = dups[0]
        raise DataError(f"{name}: {at(i)}: duplicate timestamp {idx[i]}; drop duplicates first")
    steps = np.diff(idx.asi8)
    back = np.flatnonzero(steps <= 0)
    if back.size:
        i = back[0] + 1
        raise DataError(f"{name}: {at(i)}: timestamp {idx[i]} is not after the previous "
                        f"{idx[i - 1]}; sort the file by time")
    values = df[OHLCV].to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{name}: {at(i)}, column '{OHLCV[j]}': value {values[i, j]} is NaN or "
                        "infinite; fix or drop that row (gaps are allowed, holes in a row are not)")
    o, h, lo, c, v = values.T
    nonpos = np.argwhere(values[:, :4] <= 0)
    if nonpos.size:
        i, j = nonpos[0]
        raise DataError(f"{name}: {at(i)}, column '{OHLCV[j]}': price {values[i, j]} is not "
                        "positive; prices must be > 0")
    checks = [
        (h < lo, "high", "high is below low"),
        ((o > h) | (o < lo), "open", "open is outside [low, high]"),
        ((c > h) | (c < lo), "close", "close is outside [low, high]"),
        (v < 0, "volume", "volume is negative"),
    ]
    for mask, col, what in checks:
        hits = np.flatnonzero(mask)
        if hits.size:
            i = hits[0]
            raise DataError(f"{name}: {at(i)}, column '{col}': {what} "
                            f"(open={o[i]}, high={h[i]}, low={lo[i]}, close={c[i]}, volume={v[i]}); "
                            "fix the source row")


def validate_ohlcv(df: pd.DataFrame, name: str = "<frame>", first_line: int = 0,
                   min_rows: int = 2) -> None:
    """Raise :class:`DataError` at the first bad row of an OHLCV frame.

    Parameters
    ----------
    df : DataFrame
        UTC-indexed frame with ``open, high, low, close, volume`` float columns.
    name : str
        File name for the message.
    first_line : int
        Line number in the file of ``df``'s first row (2 for a CSV with a header; 0 means
        report positional rows instead).
    min_rows : int
        The fewest rows the caller needs (e.g. a model's window plus warm-up).
    """
    check_rows(df, name, (lambda i: f"line {int(i) + first_line}") if first_line else (lambda i: f"row {int(i)}"),
                min_rows)


def infer_timeframe(index: pd.DatetimeIndex) -> pd.Timedelta:
    """Most common spacing between consecutive bars (robust to gaps)."""
    if len(index) < 2:
        raise DataError("cannot infer a timeframe from fewer than 2 bars")
    steps = pd.Series(np.diff(index.asi8))
    return pd.Timedelta(int(steps.mode().iloc[0]), unit="ns")


def timeframe_label(step: str | pd.Timedelta) -> str:
    """Short label of a bar spacing: ``"1h"``, ``"4h"``, ``"1D"``, ``"15min"``."""
    step = pd.Timedelta(step)
    for unit, label in (("1D", "D"), ("1h", "h"), ("1min", "min"), ("1s", "s")):
        n = step / pd.Timedelta(unit)
        if n >= 1 and n == int(n):
            return f"{int(n)}{label}"
    return str(step)


def find_gaps(df: pd.DataFrame, timeframe: str | pd.Timedelta | None = None, calendar=None) -> GapReport:
    """Count missing bars: any step longer than one bar is a gap.

    With an equity ``calendar`` (:class:`~lstm_strategies.calendar.Calendar`) and daily bars, a gap is a
    missing trading session instead: weekends and the regular market holidays are not gaps.

    Returns
    -------
    GapReport
        ``table`` has one row per gap: ``start`` (first missing bar), ``missing`` (bars).
    """
    step = pd.Timedelta(timeframe) if timeframe is not None else infer_timeframe(df.index)
    if calendar is not None and not calendar.time_based and step >= pd.Timedelta("1D") and len(df):
        days = df.index.normalize().tz_localize(None)
        missing_days = calendar.sessions(days[0], days[-1]).difference(days)
        if not len(missing_days):
            return GapReport(0, 0, pd.Timedelta(0), None, pd.DataFrame({"start": [], "missing": []}))
        sessions = calendar.sessions(days[0], days[-1])
        pos = sessions.get_indexer(missing_days)
        runs = np.split(pos, np.flatnonzero(np.diff(pos) != 1) + 1)
        starts = pd.DatetimeIndex([sessions[r[0]] for r in runs]).tz_localize("UTC")
        missing = np.array([len(r) for r in runs])
        table = pd.DataFrame({"start": starts, "missing": missing})
        k = int(np.argmax(missing))
        return GapReport(len(table), int(missing.sum()), step * int(missing[k]), starts[k], table)
    diffs = np.diff(df.index.asi8)
    where = np.flatnonzero(diffs > step.value)
    missing = (diffs[where] // step.value - 1).astype(int)
    starts = df.index[where] + step
    table = pd.DataFrame({"start": starts, "missing": missing})
    if table.empty:
        return GapReport(0, 0, pd.Timedelta(0), None, table)
    k = int(np.argmax(missing))
    return GapReport(len(table), int(missing.sum()), step * int(missing[k]), starts[k], table)


def resample_ohlcv(df: pd.DataFrame, rule: str = "1D") -> pd.DataFrame:
    """Aggregate bars to a coarser timeframe on the 7-day crypto calendar.

    Open is the first, high the max, low the min, close the last and volume the sum of the bars
    in each UTC period; periods with no bar at all are dropped, never filled.
    """
    agg = df[OHLCV].resample(rule, label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    counts = df["close"].resample(rule, label="left", closed="left").count()
    out = agg[counts > 0].copy()
    out.index = out.index.as_unit("ns")
    out.attrs = {**df.attrs, "timeframe": timeframe_label(pd.Timedelta(rule))}
    return out


def fingerprint(df: pd.DataFrame) -> str:
    """SHA-256 of the index and OHLCV values: identifies exactly which rows were used."""
    h = hashlib.sha256()
    h.update(df.index.asi8.tobytes())
    h.update(np.ascontiguousarray(df[OHLCV].to_numpy(dtype="float64")).tobytes())
    return h.hexdigest()


def bars_per_day(timeframe: str | pd.Timedelta) -> float:
    """Number of bars in 24 hours for a bar spacing."""
    return pd.Timedelta("1D") / pd.Timedelta(timeframe)


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar; ``timestamp`` is the bar's open time in UTC."""

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float


def as_bar(obj) -> Bar:
    """A :class:`Bar` from a Bar, a pandas row (``df.iloc[i]``: its name is the time), a dict with
    a ``timestamp`` key, or a ``(timestamp, open, high, low, close, volume)`` tuple."""
    if isinstance(obj, Bar):
        return obj
    if isinstance(obj, pd.Series):
        try:
            values = [float(obj[c]) for c in OHLCV]
        except KeyError as exc:
            raise DataError(f"bar {obj.name}: a pandas row needs the fields {OHLCV}; missing {exc}") from None
        ts = obj.get("timestamp", obj.name)
        return Bar(utc_timestamp(ts), *values)
    if isinstance(obj, dict):
        missing = [k for k in ("timestamp", *OHLCV) if k not in obj]
        if missing:
            raise DataError(f"bar {obj!r}: missing field(s) {missing}")
        return Bar(utc_timestamp(obj["timestamp"]), *(float(obj[c]) for c in OHLCV))
    if isinstance(obj, (tuple, list)) and len(obj) == 6:
        return Bar(utc_timestamp(obj[0]), *(float(v) for v in obj[1:]))
    raise DataError(f"cannot read {type(obj).__name__} {obj!r} as a bar; pass a Bar, a pandas row "
                    "(df.iloc[i]), a dict or a (timestamp, open, high, low, close, volume) tuple")


def utc_timestamp(value) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(f"bar time {value!r} is not a timestamp") from None
    if ts is pd.NaT:
        raise DataError("bar time is NaT")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


class BarChecker:
    """The loader's per-row checks, one streamed bar at a time (time order, finite, positive, OHLC)."""

    __slots__ = ("last", "name")

    def __init__(self, name: str = "stream"):
        self.name = name
        self.last: int | None = None

    def check(self, ts_ns: int, o: float, h: float, lo: float, c: float, v: float) -> None:
        """Raise :class:`DataError` for a bar the loader would refuse."""
        if self.last is not None and ts_ns <= self.last:
            raise DataError(f"{self.name}: bar at {pd.Timestamp(ts_ns, tz='UTC')} is not after the previous bar "
                            f"{pd.Timestamp(self.last, tz='UTC')}; bars must arrive in time order, without duplicates")
        if not (o > 0 and h > 0 and lo > 0 and c > 0 and v >= 0 and h >= lo and lo <= o <= h and lo <= c <= h
                and math.isfinite(h) and math.isfinite(v)):
            raise DataError(f"{self.name}: bar at {pd.Timestamp(ts_ns, tz='UTC')} is invalid (open={o}, high={h}, "
                            f"low={lo}, close={c}, volume={v}): prices must be finite and > 0, high >= low, open "
                            "and close within [low, high], volume >= 0")
        self.last = ts_ns


def normalise_frame(df: pd.DataFrame, tz: str | None = None, what: str | None = None) -> pd.DataFrame:
    """A frame of bars as every layer reads it: a UTC :class:`~pandas.DatetimeIndex` in nanoseconds and
    the OHLCV columns; the frame itself when it is so already (no copy), else a shallow copy.

    Any datetime64 unit is accepted (pandas 3's ``read_csv(parse_dates=...)`` gives microseconds, which
    read as nanoseconds would make 1h bars 3.6 s apart). Naive times are refused unless ``tz`` names
    their zone; the other columns are kept as they are, and so are ``attrs``.

    Parameters
    ----------
    df : DataFrame
        Bars indexed by their open times.
    tz : str, optional
        Zone of naive times (``"UTC"``, ``"Europe/Berlin"``); ignored for times with a zone.
    what : str, optional
        How messages name the frame (default: its ``attrs["source"]``).

    Raises
    ------
    DataError
        Not a DataFrame, no DatetimeIndex (a RangeIndex: a time column not set as the index), naive
        times without ``tz``, a time that does not exist or happens twice in ``tz``, a missing column.
    """
    name = what or (str(df.attrs.get("source", "<DataFrame>")) if isinstance(df, pd.DataFrame) else "<bars>")
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{name}: expected a pandas DataFrame of OHLCV bars, got {type(df).__name__}")
    index = df.index
    if not isinstance(index, pd.DatetimeIndex):
        column = next((c for c in df.columns if str(c).lower() in ("timestamp", "date", "datetime", "time")), None)
        hint = f"df.set_index({column!r})" if column is not None else "set the bar open times as the index"
        raise DataError(f"{name}: the bars need a DatetimeIndex of bar open times, found a {type(index).__name__}; "
                        f"{hint}, or load the file with load_ohlcv()")
    if index.tz is None:
        if tz is None:
            raise DataError(f"{name}: the bar times have no time zone; say which they are (tz='UTC', or the zone "
                            "they were recorded in, e.g. tz='Europe/Berlin'; Python: df.tz_localize('UTC')) or load "
                            "the file with load_ohlcv()")
        index = _localise_index(index, tz, name)
    _check_columns(df, name)
    nat = np.flatnonzero(index.isna())
    if nat.size:
        raise DataError(f"{name}: row {int(nat[0])}: the bar time is missing (NaT); drop or fix that row")
    utc = index.tz_convert("UTC").as_unit("ns")
    if utc.equals(df.index) and df.index.dtype == utc.dtype:
        return df
    out = df.copy(deep=False)
    out.index = utc.rename(df.index.name)
    out.attrs = dict(df.attrs)
    return out


def _check_columns(df: pd.DataFrame, name: str) -> None:
    """Each OHLCV column present once, holding numbers."""
    missing = [c for c in OHLCV if c not in df.columns]
    if missing:
        lower = [c for c in df.columns if str(c).lower() in missing]
        hint = f" (found {', '.join(map(repr, lower))}: df.rename(columns=str.lower))" if lower else ""
        raise DataError(f"{name}: missing column(s) {missing}{hint}; bars need the columns {', '.join(OHLCV)} (the "
                        "LSTM's features read the volume), named so")
    twice = sorted({c for c in OHLCV if list(df.columns).count(c) > 1})
    if twice:
        raise DataError(f"{name}: column(s) {twice} appear more than once; keep one of each")
    bad = [c for c in OHLCV if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])]
    if bad:
        raise DataError(f"{name}: column(s) {bad} are not numbers; convert them (pd.to_numeric) or load the file "
                        "with load_ohlcv()")


def _localise_index(index: pd.DatetimeIndex, tz: str, name: str) -> pd.DatetimeIndex:
    try:
        local = index.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    except (LookupError, ValueError, TypeError):
        raise DataError(f"{name}: tz={tz!r} is not a time zone; pass an IANA name such as 'Europe/Berlin' or "
                        "'UTC'") from None
    bad = np.flatnonzero(local.isna() & ~index.isna())
    if bad.size:
        raise DataError(f"{name}: row {int(bad[0])}: local time {index[bad[0]]} does not exist or happens twice in "
                        f"{tz} (a daylight-saving change); export the times in UTC or with offsets")
    return local


def check_frame(df: pd.DataFrame, name: str | None = None, min_rows: int = 1, tz: str | None = None) -> pd.DataFrame:
    """Validate an OHLCV frame that may not have come through the loader; return it normalised
    (:func:`normalise_frame`: UTC, nanoseconds; the frame itself when it already is).

    Raises
    ------
    DataError
        Not a DatetimeIndex with a zone (or ``tz``), a missing column, or any row the loader would refuse.
    """
    df = normalise_frame(df, tz=tz, what=name)
    name = name or str(df.attrs.get("source", "<DataFrame>"))
    validate_ohlcv(df, name, first_line=0, min_rows=min_rows)
    return df


def end_of_day(when) -> pd.Timestamp:
    """The one rule for training ends, fold ends and "up to this date" arguments (UTC).

    A date (``"2021-12-31"``, a ``datetime.date``) means the last nanosecond of that day, so it
    includes every bar stamped on it; a time (``"2021-12-31 12:00"``, a ``Timestamp``) is kept as it
    is, midnight included.
    """
    import datetime

    is_date = (isinstance(when, str) and len(when.strip()) <= 10) or (
        isinstance(when, datetime.date) and not isinstance(when, datetime.datetime))
    end = pd.Timestamp(when)
    end = end.tz_localize("UTC") if end.tz is None else end.tz_convert("UTC")
    return end + pd.Timedelta("1D") - pd.Timedelta(1, "ns") if is_date else end


def frame_timeframe(df: pd.DataFrame) -> str:
    """Bar size of a frame: its ``attrs["timeframe"]``, else the most common spacing."""
    return timeframe_label(df.attrs.get("timeframe") or infer_timeframe(df.index))
