"""Load, validate and resample OHLCV bars (no Backtrader here: see :mod:`lstm_strategies.btfeed`).

Supported inputs (auto-detected, or chosen with ``fmt``):

* ``shared``   - ``timestamp,open,high,low,close,volume`` CSV / CSV.gz / parquet;
* ``yahoo``    - ``Date,Open,High,Low,Close[,Adj Close],Volume[,Dividends,Stock Splits]``;
* ``binance``  - Binance klines, headerless (data.binance.vision dumps) or with a header
  (``open_time, open, high, low, close, volume, close_time, quote_volume, trades, ...``);
* ``ccxt``     - a list of ``[ms, open, high, low, close, volume]`` rows, or a JSON file of them.

Columns are found by name (case and spacing ignored); any other column is ignored and listed in
``df.attrs["ignored_columns"]``. The time column (``timestamp``, ``open_time``, ``date``, ``time``,
``ts``, ...) may hold ISO times or epochs in seconds, milliseconds, microseconds or nanoseconds,
detected per value by magnitude, so a Binance dump that switched from ms to us mid-file loads.
Times with a ``Z`` or a UTC offset are converted to UTC (offsets may change with daylight saving);
naive intraday times are refused unless ``tz`` names their zone, because guessing UTC shifts
every bar by the local offset. Naive values that are all midnight are calendar dates, read as UTC.

Every loader returns a DataFrame with a UTC :class:`pandas.DatetimeIndex` named ``timestamp`` and
float64 columns ``open, high, low, close, volume``. Gaps (missing bars) are never filled: they are
counted by :func:`find_gaps`, and ``gaps="raise"`` turns them into an error.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import re
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lstm_strategies.errors import DataError

OHLCV = ["open", "high", "low", "close", "volume"]
BINANCE_COLUMNS = [
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "trades", "taker_base", "taker_quote", "ignore",
]
# Accepted names of the bar time, best first (after lower-casing; spaces and dashes become "_").
TIME_NAMES = (
    "timestamp", "open_time", "opentime", "kline_open_time", "datetime", "date", "time", "ts", "t",
    "timestamp_utc", "datetime_utc", "date_utc", "time_utc", "unix", "epoch", "start_time", "start",
)
VALUE_NAMES = {
    "open": ("open", "o", "open_price"),
    "high": ("high", "h", "high_price"),
    "low": ("low", "l", "low_price"),
    "close": ("close", "c", "close_price"),
    "volume": ("volume", "vol", "v", "base_volume"),
}
KNOWN_NAMES = frozenset(TIME_NAMES) | {a for names in VALUE_NAMES.values() for a in names}
BINANCE_TIME_NAMES = ("open_time", "opentime", "kline_open_time")
FORMATS = {
    "shared": "a header row timestamp,open,high,low,close,volume",
    "yahoo": "a Yahoo export with a Date (or Datetime) column",
    "binance": "Binance klines: headerless open_time,open,high,low,close,volume,close_time,... or a header "
               "with open_time",
    "ccxt": "CCXT rows [ms, open, high, low, close, volume] (a JSON list, a Python list or a headerless CSV)",
}
# Epochs must land in [1990, 2100) in one of seconds, ms, us or ns; the four ranges do not overlap.
EPOCH_MIN_S, EPOCH_MAX_S = 631_152_000, 4_102_444_800
DATE_MIN, DATE_MAX = pd.Timestamp("1800-01-01"), pd.Timestamp("2200-01-01")  # for ISO dates (naive UTC)
_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d*)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)
_NUMBER = r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"
_READ_ERRORS = (ValueError, OSError, EOFError, zlib.error, csv.Error, UnicodeError, OverflowError)
GapPolicy = Literal["keep", "raise"]
Source = str | PathLike | pd.DataFrame | list


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


@dataclass
class _Table:
    """A source read as is: its columns, whether they came from a header, and where each row sits."""

    raw: pd.DataFrame
    header: bool
    kind: str                               # "csv", "parquet", "json", "frame" or "list"
    lines: np.ndarray | None = None         # file line of each row; None means "row i"
    index_time: pd.Series | None = None     # a frame's index, used when no column holds the time
    first_text: str = ""                    # the first line, for messages

    def at(self, i: int) -> str:
        return f"line {int(self.lines[i])}" if self.lines is not None else f"row {int(i)}"


def _name(source: Source) -> str:
    return str(source) if isinstance(source, (str, PathLike)) else f"<{type(source).__name__}>"


def _cell(value: object) -> str:
    """A cell for a message: strings quoted, numbers and times plain."""
    return repr(value) if isinstance(value, str) else str(value)


def _norm(column: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(column).strip().lower()).strip("_")


def _positional(n: int) -> list[str]:
    """Names of a headerless file's columns: ``timestamp`` + OHLCV, or Binance's kline layout."""
    if n <= 6:
        return ["timestamp", *OHLCV][:n]
    return BINANCE_COLUMNS[:n] + [f"column_{k + 1}" for k in range(len(BINANCE_COLUMNS), n)]


def _is_header(cells: list[str]) -> bool:
    """Whether a first row is column names rather than a bar."""
    if any(_norm(c) in KNOWN_NAMES for c in cells):
        return True
    first = cells[0].strip() if cells else ""
    if re.fullmatch(_NUMBER, first):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.isna(pd.to_datetime(first, format="mixed", errors="coerce"))


def _read_csv(path: Path, name: str) -> _Table:
    opts = {"encoding_errors": "replace", "skip_blank_lines": False}
    peek = pd.read_csv(path, header=None, nrows=50, dtype=str, keep_default_na=False, **opts)
    filled = np.flatnonzero((peek.fillna("") != "").any(axis=1).to_numpy())
    if not filled.size:
        raise DataError(f"{name}: no rows in the first 50 lines; pass a CSV of OHLCV bars")
    skip = int(filled[0])
    cells = [str(c) for c in peek.iloc[skip].fillna("")]
    header = _is_header(cells)
    raw = pd.read_csv(path, header=0 if header else None, skiprows=skip, low_memory=False, **opts)
    if not header:
        raw.columns = _positional(raw.shape[1])
    lines = np.arange(len(raw)) + skip + 1 + int(header)
    keep = raw.notna().any(axis=1).to_numpy()  # blank lines carry nothing: drop them, keep line numbers
    return _Table(raw[keep].reset_index(drop=True), header, "csv", lines[keep], first_text=",".join(cells))


def _rows_table(rows: object, name: str, kind: str) -> _Table:
    """A JSON document or a Python list: rows of numbers (CCXT/Binance) or of dicts (named fields)."""
    if not isinstance(rows, list):
        raise DataError(f"{name}: expected a list of [ms, open, high, low, close, volume] rows, got "
                        f"{type(rows).__name__}")
    if not rows:
        raise DataError(f"{name}: 0 rows; pass a non-empty list of OHLCV rows")
    if all(isinstance(r, dict) for r in rows):
        return _Table(pd.DataFrame(rows), True, kind, first_text=str(rows[0])[:80])
    if not all(isinstance(r, (list, tuple)) for r in rows):
        i = next(i for i, r in enumerate(rows) if not isinstance(r, (list, tuple)))
        raise DataError(f"{name}: row {i} is {rows[i]!r}, not a [ms, open, high, low, close, volume] list")
    raw = pd.DataFrame(list(rows))
    raw.columns = _positional(raw.shape[1])
    return _Table(raw, False, kind, first_text=str(rows[0])[:80])


def _frame_table(frame: pd.DataFrame) -> _Table:
    index = frame.index
    usable = isinstance(index, pd.DatetimeIndex) or _norm(index.name) in TIME_NAMES
    index_time = pd.Series(index, name=str(index.name or "index")) if usable else None
    raw = frame.reset_index(drop=True)
    return _Table(raw, True, "frame", index_time=index_time, first_text=",".join(map(str, frame.columns)))


def _read_path(path: Path, name: str) -> _Table:
    from lstm_strategies.readers import check_regular_file, path_kind

    kind = path_kind(path, "OHLCV file", DataError)
    if kind == "folder":
        raise DataError(f"{name}: is a directory; pass an OHLCV file (CSV, CSV.gz, parquet or JSON)")
    if kind == "missing":
        raise DataError(f"{name}: file not found; pass an existing OHLCV file "
                        "(CSV, CSV.gz, parquet, or CCXT JSON)")
    check_regular_file(path, "OHLCV file", DataError, "pass an OHLCV file (CSV, CSV.gz, parquet or JSON)")
    if path.stat().st_size == 0:
        raise DataError(f"{name}: the file is empty (0 bytes); re-download or re-export it")
    suffixes = "".join(path.suffixes).lower()
    try:
        if suffixes.endswith(".parquet"):
            table = _frame_table(pd.read_parquet(path))
            table.kind = "parquet"
            return table
        if suffixes.endswith((".json", ".json.gz")):
            opener = gzip.open if suffixes.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as fh:
                return _rows_table(json.load(fh), name, "json")
        return _read_csv(path, name)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{name}: no rows (the file holds only blank lines); re-download or re-export it") from None
    except RecursionError:
        raise DataError(f"{name}: the JSON is nested too deeply to be rows of bars; pass a list of "
                        "[ms, open, high, low, close, volume] rows") from None
    except (*_READ_ERRORS, TypeError, NotImplementedError, ImportError) as exc:
        what = "parquet" if suffixes.endswith(".parquet") else "JSON" if ".json" in suffixes else "CSV"
        hint = " (the gzip stream is truncated or corrupt)" if isinstance(exc, (EOFError, zlib.error,
                                                                                gzip.BadGzipFile)) else ""
        raise DataError(f"{name}: cannot read as {what}{hint}: {exc.__class__.__name__}: {str(exc).strip()[:200]}; "
                        "re-download or re-export the file") from None


def _read_source(source: Source, name: str) -> _Table:
    if isinstance(source, list):
        return _rows_table(source, name, "list")
    if isinstance(source, pd.DataFrame):
        return _frame_table(source)
    if isinstance(source, (str, PathLike)):
        return _read_path(Path(source), name)
    raise DataError(f"{name}: cannot load OHLCV from a {type(source).__name__}; pass a file path, a DataFrame "
                    "or a list of [ms, open, high, low, close, volume] rows")


def _map_columns(table: _Table, name: str) -> tuple[str | None, dict[str, str], list[str]]:
    """Which column holds the time and each OHLCV field (``None`` time: the frame's index)."""
    by_norm: dict[str, str] = {}
    for col in table.raw.columns:
        key = _norm(col)
        if key in by_norm and key in KNOWN_NAMES:
            raise DataError(f"{name}: two columns named {by_norm[key]!r} and {col!r}; keep one")
        by_norm.setdefault(key, col)
    found = f"found {list(map(str, table.raw.columns))}"
    if table.raw.shape[1] == 1:
        found += " (one column: is the file comma-separated?)"
    time_col = next((by_norm[n] for n in TIME_NAMES if n in by_norm), None)
    if time_col is None and table.index_time is None:
        idx = "" if table.kind not in ("frame", "parquet") else " and the index is not a DatetimeIndex"
        raise DataError(f"{name}: no time column (looked for {', '.join(TIME_NAMES[:8])}, ...){idx}; {found}; "
                        "name the bar open time 'timestamp' or set a DatetimeIndex")
    values = {}
    for field, aliases in VALUE_NAMES.items():
        col = next((by_norm[a] for a in aliases if a in by_norm), None)
        if col is not None:
            values[field] = col
    missing = [f for f in OHLCV if f not in values]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}; expected timestamp,open,high,low,close,volume "
                        f"({found})")
    used = {time_col, *values.values()}
    ignored = [str(c) for c in table.raw.columns if c not in used]
    return time_col, values, ignored


def _detect_format(table: _Table, time_col: str | None) -> str:
    if not table.header:
        return "ccxt" if table.kind in ("json", "list") or table.raw.shape[1] == 6 else "binance"
    key = _norm(time_col) if time_col is not None else ""
    if key in BINANCE_TIME_NAMES:
        return "binance"
    if key in ("date", "datetime") or "adj_close" in {_norm(c) for c in table.raw.columns}:
        return "yahoo"
    return "shared"


def _check_format(fmt: str, detected: str, table: _Table, name: str) -> None:
    headerless = not table.header and detected in ("binance", "ccxt")
    if fmt == detected or (headerless and fmt in ("binance", "ccxt")):
        return
    layout = "no header" if not table.header else "a header"
    raise DataError(f"{name}: fmt={fmt!r} expects {FORMATS[fmt]}, but the {table.kind} source has {layout} "
                    f"and looks like {detected!r} (starts {table.first_text[:80]!r}); drop fmt= to auto-detect "
                    f"or pass fmt={detected!r}")


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


def _localise(naive: pd.DatetimeIndex, tz: str | None, rows: np.ndarray, column: str, table: _Table,
              raw: pd.Series, problems: list[tuple[int, str]]) -> np.ndarray:
    """UTC ns of naive times: calendar dates (all midnight) without ``tz``, else times in zone ``tz``."""
    if tz is None:
        intraday = np.flatnonzero(naive.normalize() != naive)
        if intraday.size:
            i = int(rows[intraday[0]])
            problems.append((i, f"{table.at(i)}, column '{column}': {_cell(raw.iloc[i])} has no UTC offset; "
                                "naive local times: pass tz='Europe/Berlin' (or tz='UTC' if they are UTC)"))
        return naive.tz_localize("UTC").asi8
    local = naive.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = np.flatnonzero(local.isna())
    if bad.size:
        i = int(rows[bad[0]])
        gone = pd.isna(naive[bad[0]].tz_localize(tz, ambiguous=True, nonexistent="NaT"))
        what = "does not exist (clocks jumped forward)" if gone else "happens twice (clocks went back)"
        problems.append((i, f"{table.at(i)}, column '{column}': local time {_cell(raw.iloc[i])} {what} in {tz}; a "
                            "naive time cannot say which hour it means: export the times in UTC or with offsets"))
    return local.tz_convert("UTC").asi8


def _check_tz(tz: str | None, name: str) -> None:
    if tz is None:
        return
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except (LookupError, ValueError, TypeError):
        raise DataError(f"{name}: tz={tz!r} is not a time zone; pass an IANA name such as 'Europe/Berlin' "
                        "or 'UTC'") from None


def _parse_times(col: pd.Series, name: str, column: str, table: _Table, tz: str | None) -> pd.DatetimeIndex:
    """The time column as a UTC index; raise one :class:`DataError` at the first bad value (in row order)."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        col = col.dt.tz_convert("UTC")
    n = len(col)
    present = col.notna().to_numpy()
    ns = np.zeros(n, dtype="int64")
    problems: list[tuple[int, str]] = []
    if not present.all():
        i = int(np.flatnonzero(~present)[0])
        problems.append((i, f"{table.at(i)}, column '{column}': the time is missing ({_cell(col.iloc[i])}); "
                            "fix or delete that row"))
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        parsed = _in_range(col[present].reset_index(drop=True))
        ok = parsed.notna().to_numpy()
        rows = np.flatnonzero(present)
        if not ok.all():
            i = int(rows[np.flatnonzero(~ok)[0]])
            problems.append((i, f"{table.at(i)}, column '{column}': {col.iloc[i]} is not between 1800 and 2200; "
                                "fix or delete that row"))
        stamps, rows = pd.DatetimeIndex(parsed[ok]), rows[ok]
        if stamps.tz is not None:
            ns[rows] = stamps.asi8
        elif len(stamps):
            ns[rows] = _localise(stamps, tz, rows, column, table, col, problems)
        numeric = strings = np.zeros(n, dtype=bool)
    elif pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        numeric, strings = present, np.zeros(n, dtype=bool)
        numbers = col.to_numpy()[numeric]
    else:
        text = pd.Series([str(v).strip() for v in col.to_numpy()], dtype=object)
        numeric = present & text.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
        strings = present & ~numeric
        numbers = pd.to_numeric(text[numeric], errors="coerce").to_numpy() if numeric.any() else np.array([])
    if numeric.any():
        rows = np.flatnonzero(numeric)
        values, out_of_range = _epochs_to_ns(np.asarray(numbers))
        ns[rows] = values
        if out_of_range.any():
            i = int(rows[np.flatnonzero(out_of_range)[0]])
            problems.append((i, f"{table.at(i)}, column '{column}': epoch {_cell(col.iloc[i])} is before 1990 or after "
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
                problems.append((i, f"{table.at(i)}, column '{column}': cannot parse {_cell(col.iloc[i])} as a date "
                                    "(between 1800 and 2200); fix or delete that row"))
            stamps = pd.DatetimeIndex(parsed[ok])
            if utc:
                ns[sub[ok]] = stamps.asi8
            elif len(stamps):
                ns[sub[ok]] = _localise(stamps, tz, sub[ok], column, table, col, problems)
    if problems:
        raise DataError(f"{name}: {min(problems)[1]}")
    return pd.DatetimeIndex(ns, tz="UTC").as_unit("ns").rename("timestamp")


def _check_rows(df: pd.DataFrame, name: str, at: Callable[[int], str], min_rows: int) -> None:
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
    _check_rows(df, name, (lambda i: f"line {int(i) + first_line}") if first_line else (lambda i: f"row {int(i)}"),
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


def find_gaps(df: pd.DataFrame, timeframe: str | pd.Timedelta | None = None) -> GapReport:
    """Count missing bars: any step longer than one bar is a gap.

    Returns
    -------
    GapReport
        ``table`` has one row per gap: ``start`` (first missing bar), ``missing`` (bars).
    """
    step = pd.Timedelta(timeframe) if timeframe is not None else infer_timeframe(df.index)
    diffs = np.diff(df.index.asi8)
    where = np.flatnonzero(diffs > step.value)
    missing = (diffs[where] // step.value - 1).astype(int)
    starts = df.index[where] + step
    table = pd.DataFrame({"start": starts, "missing": missing})
    if table.empty:
        return GapReport(0, 0, pd.Timedelta(0), None, table)
    k = int(np.argmax(missing))
    return GapReport(len(table), int(missing.sum()), step * int(missing[k]), starts[k], table)


def _numbers(col: pd.Series, name: str, column: str, table: _Table) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype="float64", na_value=np.nan)
    text = col.map(lambda v: v.strip() if isinstance(v, str) else v)
    numeric = pd.to_numeric(text.where(text.map(lambda v: isinstance(v, (str, int, float)))), errors="coerce")
    bad = np.flatnonzero(numeric.isna().to_numpy() & col.notna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}: {table.at(i)}, column '{column}': {_cell(col.iloc[i])} is not a number; "
                        "fix or delete that row")
    return numeric.to_numpy(dtype="float64", na_value=np.nan)


def load_ohlcv(source: Source, timeframe: str | None = None, fmt: str | None = None,
               gaps: GapPolicy = "keep", min_rows: int = 2, tz: str | None = None) -> pd.DataFrame:
    """Load and validate OHLCV bars.

    Parameters
    ----------
    source : path, DataFrame or list
        A CSV / CSV.gz / parquet / JSON file, a DataFrame with a time column or a DatetimeIndex,
        or a CCXT-style list of ``[ms, open, high, low, close, volume]``.
    timeframe : str, optional
        Expected bar spacing (``"1h"``, ``"1D"``). Inferred when omitted; a mismatch is an error.
    fmt : {"shared", "yahoo", "binance", "ccxt"}, optional
        Require this layout instead of detecting it; a source of another layout is an error.
    gaps : {"keep", "raise"}
        Missing bars are never filled. ``"keep"`` returns them as gaps (see :func:`find_gaps`),
        ``"raise"`` makes any gap an error.
    min_rows : int
        Minimum number of rows the caller needs.
    tz : str, optional
        Time zone of naive (offset-less) intraday times, e.g. ``"Europe/Berlin"`` or ``"UTC"``.
        Without it such times are an error; times with an offset or ``Z``, epochs and dates are
        unaffected.

    Returns
    -------
    DataFrame
        UTC ``DatetimeIndex`` named ``timestamp``; float64 ``open, high, low, close, volume``;
        ``attrs["source"]``, ``attrs["timeframe"]`` and ``attrs["ignored_columns"]`` (names of the
        source's other columns) set.

    Raises
    ------
    DataError
        One message naming the source, the line (files) or row, and the column, saying what to do.
    """
    name = _name(source)
    if fmt is not None and fmt not in FORMATS:
        raise DataError(f"{name}: fmt={fmt!r} is not a format; use one of {sorted(FORMATS)} or None to detect it")
    if gaps not in ("keep", "raise"):
        raise DataError(f"gaps={gaps!r}: use 'keep' or 'raise' (gaps are never filled silently)")
    _check_tz(tz, name)
    try:
        asked = None if timeframe is None else pd.Timedelta(timeframe)
    except ValueError:
        raise DataError(f"{name}: timeframe={timeframe!r} is not a bar size; use e.g. '1h', '4h' or '1D'") from None
    table = _read_source(source, name)
    time_col, value_cols, ignored = _map_columns(table, name)
    if fmt is not None:
        _check_format(fmt, _detect_format(table, time_col), table, name)
    if time_col is None:
        times, time_name = table.index_time, str(table.index_time.name)
    else:
        times, time_name = table.raw[time_col], str(time_col)
    index = _parse_times(times, name, time_name, table, tz)
    values = {f: _numbers(table.raw[c], name, str(c), table) for f, c in value_cols.items()}
    df = pd.DataFrame(values, index=index)
    _check_rows(df, name, table.at, min_rows)
    if len(df) >= 2:
        step = infer_timeframe(df.index)
    elif asked is not None:
        step = asked
    else:
        raise DataError(f"{name}: {len(df)} row(s); cannot infer the bar spacing: pass timeframe= or more rows")
    if asked is not None and asked != step:
        raise DataError(f"{name}: bars are {timeframe_label(step)} apart, but timeframe={timeframe!r} was asked; "
                        "resample with resample_ohlcv() or pass the right timeframe")
    if gaps == "raise":
        report = find_gaps(df, step)
        if report.n_gaps:
            raise DataError(f"{name}: {report}; first at {report.table['start'].iloc[0]} "
                            "(gaps='raise'); pass gaps='keep' to accept gaps")
    df.attrs["source"] = name
    df.attrs["timeframe"] = timeframe_label(step)
    df.attrs["ignored_columns"] = ignored
    return df


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
