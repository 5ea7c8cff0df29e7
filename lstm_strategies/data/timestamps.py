"""Bar times from any text or number a file holds, as one continuous UTC index (used by the loader).

ISO times with or without offsets (offsets may change with daylight saving), calendar dates, and
epochs in seconds, milliseconds, microseconds or nanoseconds, told apart per value by magnitude.
Naive intraday times need their zone (``tz``): guessing UTC would shift every bar. The first bad
value, in row order, is one :class:`~lstm_strategies.errors.DataError` naming its line and column.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import DataError

# Epochs must land in [1990, 2100) in one of seconds, ms, us or ns; the four ranges do not overlap.
EPOCH_MIN_S, EPOCH_MAX_S = 631_152_000, 4_102_444_800
DATE_MIN, DATE_MAX = pd.Timestamp("1800-01-01"), pd.Timestamp("2200-01-01")  # for ISO dates (naive UTC)
_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d*)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
NUMBER = r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"


def cell(value: object) -> str:
    """A cell for a message: strings quoted, numbers and times plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _epochs_to_ns(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epochs in s, ms, us or ns (chosen per value by magnitude) to ns; also a mask of values out of range."""
    ns = np.zeros(len(values), dtype="int64")
    done = np.zeros(len(values), dtype=bool)
    as_float = values.astype("float64")
    for k in range(4):  # 0: seconds, 1: ms, 2: us, 3: ns
        scale = 1000 ** k
        hit = ~done & (as_float >= EPOCH_MIN_S * scale) & (as_float < EPOCH_MAX_S * scale)
        if values.dtype.kind in "iu":
            ns[hit] = values[hit].astype("int64") * 10 ** (9 - 3 * k)
        else:
            ns[hit] = np.rint(as_float[hit] * 10.0 ** (9 - 3 * k)).astype("int64")
        done |= hit
    return ns, ~done


def _in_range(parsed: pd.Series) -> pd.Series:
    """Dates outside [1800, 2200) become NaT; the rest in nanoseconds."""
    plain = parsed.dt.tz_localize(None) if parsed.dt.tz is not None else parsed
    return parsed.where((plain >= DATE_MIN) & (plain < DATE_MAX)).dt.as_unit("ns")


def _one_datetime(value: str, utc: bool) -> pd.Timestamp:
    try:
        ts = pd.to_datetime(value, format="mixed", utc=utc)
    except (ValueError, TypeError, OverflowError):
        return pd.NaT
    if pd.isna(ts) or (not utc and ts.tz is not None):
        return pd.NaT
    return ts if DATE_MIN <= ts.tz_localize(None) < DATE_MAX else pd.NaT


def _to_datetimes(text: pd.Series, utc: bool) -> pd.Series:
    """Parse strings (ISO fast path, then any layout pandas knows); unparseable values become NaT."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _in_range(pd.to_datetime(text, format="ISO8601", utc=utc, errors="coerce"))
        retry = out.isna().to_numpy()
        if retry.any():
            try:
                again = _in_range(pd.to_datetime(text[retry], format="mixed", utc=utc, errors="coerce"))
            except (ValueError, TypeError, OverflowError):
                again = pd.Series([_one_datetime(v, utc) for v in text[retry]], index=text.index[retry],
                                  dtype=out.dtype)
            out = out.where(~retry, again)
    return out


def _localise(naive: pd.DatetimeIndex, tz: str | None, rows: np.ndarray, column: str, at: Callable[[int], str],
              raw: pd.Series, problems: list[tuple[int, str]]) -> np.ndarray:
    """UTC ns of naive times: calendar dates (all midnight) without ``tz``, else times in zone ``tz``."""
    if tz is None:
        intraday = np.flatnonzero(naive.normalize() != naive)
        if intraday.size:
            i = int(rows[intraday[0]])
            problems.append((i, f"{at(i)}, column '{column}': {cell(raw.iloc[i])} has no UTC offset; "
                                "naive local times: pass tz='Europe/Berlin' (or tz='UTC' if they are UTC)"))
        return naive.tz_localize("UTC").asi8
    local = naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.flatnonzero(local.isna())
    if bad.size:
        i = int(rows[bad[0]])
        gone = pd.isna(naive[bad[0]].tz_localize(tz, ambiguous=True, nonexistent="NaT"))
        what = "does not exist (clocks jumped forward)" if gone else "happens twice (clocks went back)"
        problems.append((i, f"{at(i)}, column '{column}': local time {cell(raw.iloc[i])} {what} in {tz}; a "
                            "naive time cannot say which hour it means: export the times in UTC or with offsets"))
    return local.tz_convert("UTC").asi8


def check_tz(tz: str | None, name: str) -> None:
    if tz is None:
        return
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except (LookupError, ValueError, TypeError):
        raise DataError(f"{name}: tz={tz!r} is not a time zone; pass an IANA name such as 'Europe/Berlin' "
                        "or 'UTC'") from None


def parse_times(col: pd.Series, name: str, column: str, at: Callable[[int], str], tz: str | None) -> pd.DatetimeIndex:
    """The time column as a UTC index; raise one :class:`DataError` at the first bad value (in row order)."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("UTC")
    n = len(col)
    present = col.notna().to_numpy()
    ns = np.zeros(n, dtype="int64")
    problems: list[tuple[int, str]] = []
    if not present.all():
        i = int(np.flatnonzero(~present)[0])
        problems.append((i, f"{at(i)}, column '{column}': the time is missing ({cell(col.iloc[i])}); "
                            "fix or delete that row"))
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        parsed = _in_range(col[present].reset_index(drop=True))
        ok = parsed.notna().to_numpy()
        rows = np.flatnonzero(present)
        if not ok.all():
            i = int(rows[np.flatnonzero(~ok)[0]])
            problems.append((i, f"{at(i)}, column '{column}': {col.iloc[i]} is not between 1800 and 2200; "
                                "fix or delete that row"))
        stamps, rows = pd.DatetimeIndex(parsed[ok]), rows[ok]
        if stamps.tz is not None:
            ns[rows] = stamps.asi8
        elif len(stamps):
            ns[rows] = _localise(stamps, tz, rows, column, at, col, problems)
        numeric = strings = np.zeros(n, dtype=bool)
    elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        numeric, strings = present, np.zeros(n, dtype=bool)
        numbers = col.to_numpy()[numeric]
    else:
        text = pd.Series([str(v).strip() for v in col.to_numpy()], dtype=object)
        numeric = present & text.str.fullmatch(NUMBER).to_numpy(dtype=bool)
        strings = present & ~numeric
        numbers = pd.to_numeric(text[numeric], errors="coerce").to_numpy() if numeric.any() else np.array([])
    if numeric.any():
        rows = np.flatnonzero(numeric)
        values, out_of_range = _epochs_to_ns(np.asarray(numbers))
        ns[rows] = values
        if out_of_range.any():
            i = int(rows[np.flatnonzero(out_of_range)[0]])
            problems.append((i, f"{at(i)}, column '{column}': epoch {cell(col.iloc[i])} is before 1990 or after "
                                "2100 in seconds, milliseconds, microseconds and nanoseconds; fix or delete that row"))
    if strings.any():
        rows = np.flatnonzero(strings)
        text = text[strings].reset_index(drop=True)
        aware = text.str.contains(_OFFSET).to_numpy(dtype=bool)
        for mask, utc in ((aware, True), (~aware, False)):
            if not mask.any():
                continue
            parsed = _to_datetimes(text[mask].reset_index(drop=True), utc=utc)
            ok = parsed.notna().to_numpy()
            sub = rows[mask]
            if not ok.all():
                i = int(sub[np.flatnonzero(~ok)[0]])
                problems.append((i, f"{at(i)}, column '{column}': cannot parse {cell(col.iloc[i])} as a date "
                                    "(between 1800 and 2200); fix or delete that row"))
            stamps = pd.DatetimeIndex(parsed[ok])
            if utc:
                ns[sub[ok]] = stamps.asi8
            elif len(stamps):
                ns[sub[ok]] = _localise(stamps, tz, sub[ok], column, at, col, problems)
    if problems:
        raise DataError(f"{name}: {min(problems)[1]}")
    return pd.DatetimeIndex(ns, tz="UTC").as_unit("ns").rename("timestamp")
