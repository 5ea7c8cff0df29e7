"""Load, validate and resample OHLCV bars (no Backtrader here: see :mod:`lstm_strategies.trading.feed`).

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
import json
import re
import warnings
import zlib
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import DataError
from lstm_strategies.core.readers import describe_columns
from lstm_strategies.data.bars import (  # noqa: F401  (re-exported: the loader's public API)
    OHLCV,
    GapReport,
    check_rows,
    find_gaps,
    fingerprint,
    infer_timeframe,
    resample_ohlcv,
    timeframe_label,
    validate_ohlcv,
)
from lstm_strategies.data.timestamps import NUMBER, cell, check_tz, parse_times

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
_READ_ERRORS = (ValueError, OSError, EOFError, zlib.error, csv.Error, UnicodeError, OverflowError)
GapPolicy = Literal["keep", "raise"]
Source = str | PathLike | pd.DataFrame | list


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
    if re.fullmatch(NUMBER, first):
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
        raise DataError(f"{name}: row {i} is a {type(rows[i]).__name__}, not a [ms, open, high, low, close, volume] "
                        "list")
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
    from lstm_strategies.core.readers import check_regular_file, path_kind

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
    found = describe_columns(table.raw.columns, KNOWN_NAMES | {"adj_close"})
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
                    f"and looks like {detected!r}; drop fmt= to auto-detect "
                    f"or pass fmt={detected!r}")


def _numbers(col: pd.Series, name: str, column: str, table: _Table) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype="float64", na_value=np.nan)
    text = col.map(lambda v: v.strip() if isinstance(v, str) else v)
    numeric = pd.to_numeric(text.where(text.map(lambda v: isinstance(v, (str, int, float)))), errors="coerce")
    bad = np.flatnonzero(numeric.isna().to_numpy() & col.notna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}: {table.at(i)}, column '{column}': {cell(col.iloc[i])} is not a number; "
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
    check_tz(tz, name)
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
    index = parse_times(times, name, time_name, table.at, tz)
    values = {f: _numbers(table.raw[c], name, str(c), table) for f, c in value_cols.items()}
    df = pd.DataFrame(values, index=index)
    check_rows(df, name, table.at, min_rows)
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
