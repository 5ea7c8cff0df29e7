"""Checks for bars that did not come through the loader (a raw DataFrame, a Backtrader feed, a stream).

The forecast API and the indicators call these so that no bar is trusted unchecked: a frame gets
the loader's own checks (:func:`~lstm_strategies.data.validate_ohlcv`), a streamed bar the same
checks one at a time, in O(1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from lstm_strategies.data import OHLCV, validate_ohlcv
from lstm_strategies.errors import DataError


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
        return Bar(_timestamp(ts), *values)
    if isinstance(obj, dict):
        missing = [k for k in ("timestamp", *OHLCV) if k not in obj]
        if missing:
            raise DataError(f"bar {obj!r}: missing field(s) {missing}")
        return Bar(_timestamp(obj["timestamp"]), *(float(obj[c]) for c in OHLCV))
    if isinstance(obj, (tuple, list)) and len(obj) == 6:
        return Bar(_timestamp(obj[0]), *(float(v) for v in obj[1:]))
    raise DataError(f"cannot read {type(obj).__name__} {obj!r} as a bar; pass a Bar, a pandas row "
                    "(df.iloc[i]), a dict or a (timestamp, open, high, low, close, volume) tuple")


def _timestamp(value) -> pd.Timestamp:
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


def check_frame(df: pd.DataFrame, name: str | None = None, min_rows: int = 1) -> pd.DataFrame:
    """Validate an OHLCV frame that may not have come through the loader; return it unchanged.

    Raises
    ------
    DataError
        Not a UTC DatetimeIndex, a missing column, or any row the loader would refuse.
    """
    name = name or str(df.attrs.get("source", "<DataFrame>"))
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"{name}: expected a pandas DataFrame of OHLCV bars, got {type(df).__name__}")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise DataError(f"{name}: the bars need a DatetimeIndex (bar open times), found "
                        f"{type(df.index).__name__}; load the file with load_ohlcv() or set the index")
    if df.index.tz is None:
        raise DataError(f"{name}: the bar times have no time zone; localise them (df.tz_localize('UTC')) "
                        "or load the file with load_ohlcv()")
    missing = [c for c in OHLCV if c not in df.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}; expected {OHLCV}")
    bad = [c for c in OHLCV if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise DataError(f"{name}: column(s) {bad} are not numbers; load the file with load_ohlcv()")
    validate_ohlcv(df, name, first_line=0, min_rows=min_rows)
    return df
