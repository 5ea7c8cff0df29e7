"""Load, validate and resample OHLCV bars (no Backtrader here: see :mod:`lstm_strategies.btfeed`).

Supported inputs (auto-detected, or chosen with ``fmt``):

* ``shared``   - ``timestamp,open,high,low,close,volume`` CSV / CSV.gz / parquet (ISO timestamps);
* ``yahoo``    - ``Date,Open,High,Low,Close[,Adj Close],Volume[,Dividends,Stock Splits]``;
* ``binance``  - headerless Binance kline dumps (open time in ms, or in us since 2025);
* ``ccxt``     - a list of ``[ms, open, high, low, close, volume]`` rows, or a JSON file of them.

Every loader returns a DataFrame with a UTC :class:`pandas.DatetimeIndex` named ``timestamp`` and
float64 columns ``open, high, low, close, volume``. Gaps (missing bars) are never filled: they are
counted by :func:`find_gaps`, and ``gaps="raise"`` turns them into an error.
"""

from __future__ import annotations

import hashlib
import json
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


def _name(source: Source) -> str:
    return str(source) if isinstance(source, (str, PathLike)) else f"<{type(source).__name__}>"


def _read_text_table(path: Path) -> tuple[pd.DataFrame, str, int]:
    """Read a delimited file; return the frame, its detected format and the file line of row 0."""
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith(".parquet"):
        return pd.read_parquet(path), "shared", 2
    if suffixes.endswith(".json"):
        with open(path) as fh:
            return _ccxt_frame(json.load(fh), path), "ccxt", 1
    head = pd.read_csv(path, nrows=1, header=None)
    first = str(head.iloc[0, 0]).strip()
    if first.lstrip("-").replace(".", "", 1).isdigit():
        raw = pd.read_csv(path, header=None)
        return raw, "binance", 1
    raw = pd.read_csv(path)
    cols = {c.lower().strip() for c in raw.columns}
    fmt = "yahoo" if "date" in cols or "adj close" in cols else "shared"
    return raw, fmt, 2


def _ccxt_frame(rows: list, source: object) -> pd.DataFrame:
    try:
        arr = np.asarray(rows, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: CCXT OHLCV must be a list of [ms, open, high, low, close, volume] "
                        f"rows of numbers ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 6:
        raise DataError(f"{source}: CCXT OHLCV rows must have 6 fields, got shape {arr.shape}")
    frame = pd.DataFrame(arr[:, 1:], columns=OHLCV)
    frame.insert(0, "timestamp", pd.to_datetime(arr[:, 0].astype("int64"), unit="ms", utc=True))
    return frame


def _normalise(raw: pd.DataFrame, fmt: str, name: str) -> pd.DataFrame:
    """Map any supported layout onto ``timestamp`` + OHLCV columns."""
    if fmt == "binance":
        if raw.shape[1] < 6:
            raise DataError(f"{name}: a Binance kline file needs at least 6 columns, found {raw.shape[1]}")
        raw = raw.iloc[:, :6].copy()
        raw.columns = ["open_time", *OHLCV]
        epoch = pd.to_numeric(raw["open_time"], errors="coerce")
        # Binance spot dumps switched from milliseconds to microseconds on 2025-01-01.
        unit = np.where(epoch > 1e14, 1_000, 1_000_000)
        raw["timestamp"] = pd.to_datetime((epoch * unit).astype("int64"), unit="ns", utc=True)
        return raw[["timestamp", *OHLCV]]
    lower = {c: c.lower().strip() for c in raw.columns}
    frame = raw.rename(columns=lower)
    if fmt == "yahoo":
        frame = frame.rename(columns={"date": "timestamp", "datetime": "timestamp"})
    if "timestamp" not in frame.columns and "ts" in frame.columns:
        frame = frame.rename(columns={"ts": "timestamp"})
    missing = [c for c in ["timestamp", *OHLCV] if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {missing}; expected timestamp,open,high,low,close,volume "
                        f"(found {list(raw.columns)})")
    return frame[["timestamp", *OHLCV]]


def _parse_timestamps(col: pd.Series, name: str, first_line: int) -> pd.DatetimeIndex:
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.DatetimeIndex(col)
    else:
        ts = pd.DatetimeIndex(pd.to_datetime(col, utc=True, errors="coerce", format="mixed"))
    bad = np.flatnonzero(ts.isna())
    if bad.size:
        i = int(bad[0])
        where = f"line {i + first_line}" if first_line else f"row {i}"
        raise DataError(f"{name}: {where}, column 'timestamp': cannot parse "
                        f"{col.iloc[i]!r} as a date; fix or delete that row")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return ts.as_unit("ns")


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
    where = "line" if first_line else "row"

    def row(i: int) -> int:
        return int(i) + (first_line or 0)

    if len(df) < min_rows:
        raise DataError(f"{name}: {len(df)} rows, but at least {min_rows} are needed for the asked "
                        "window; pass a longer history")
    idx = df.index
    dups = np.flatnonzero(idx.duplicated())
    if dups.size:
        i = dups[0]
        raise DataError(f"{name}: {where} {row(i)}: duplicate timestamp {idx[i]}; drop duplicates first")
    steps = np.diff(idx.asi8)
    back = np.flatnonzero(steps <= 0)
    if back.size:
        i = back[0] + 1
        raise DataError(f"{name}: {where} {row(i)}: timestamp {idx[i]} is not after the previous "
                        f"{idx[i - 1]}; sort the file by time")
    values = df[OHLCV].to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DataError(f"{name}: {where} {row(i)}, column '{OHLCV[j]}': value {values[i, j]} is NaN or "
                        "infinite; fix or drop that row (gaps are allowed, holes in a row are not)")
    o, h, lo, c, v = values.T
    nonpos = np.argwhere(values[:, :4] <= 0)
    if nonpos.size:
        i, j = nonpos[0]
        raise DataError(f"{name}: {where} {row(i)}, column '{OHLCV[j]}': price {values[i, j]} is not "
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
            raise DataError(f"{name}: {where} {row(i)}, column '{col}': {what} "
                            f"(open={o[i]}, high={h[i]}, low={lo[i]}, close={c[i]}, volume={v[i]}); "
                            "fix the source row")


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


def load_ohlcv(source: Source, timeframe: str | None = None, fmt: str | None = None,
               gaps: GapPolicy = "keep", min_rows: int = 2) -> pd.DataFrame:
    """Load and validate OHLCV bars.

    Parameters
    ----------
    source : path, DataFrame or list
        A CSV / CSV.gz / parquet / JSON file, a DataFrame with a timestamp column or index, or a
        CCXT-style list of ``[ms, open, high, low, close, volume]``.
    timeframe : str, optional
        Expected bar spacing (``"1h"``, ``"1D"``). Inferred when omitted; a mismatch is an error.
    fmt : {"shared", "yahoo", "binance", "ccxt"}, optional
        Force a format instead of detecting it.
    gaps : {"keep", "raise"}
        Missing bars are never filled. ``"keep"`` returns them as gaps (see :func:`find_gaps`),
        ``"raise"`` makes any gap an error.
    min_rows : int
        Minimum number of rows the caller needs.

    Returns
    -------
    DataFrame
        UTC ``DatetimeIndex`` named ``timestamp``; float64 ``open, high, low, close, volume``;
        ``attrs["source"]`` and ``attrs["timeframe"]`` set.
    """
    name = _name(source)
    first_line = 0
    if isinstance(source, list):
        raw, detected = _ccxt_frame(source, name), "ccxt"
    elif isinstance(source, pd.DataFrame):
        raw = source.reset_index() if "timestamp" not in source.columns else source
        raw = raw.rename(columns={raw.columns[0]: "timestamp"}) if "timestamp" not in raw.columns else raw
        detected = "shared"
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(f"{name}: file not found; pass an existing OHLCV file "
                            "(CSV, CSV.gz, parquet, or CCXT JSON)")
        try:
            raw, detected, first_line = _read_text_table(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
            raise DataError(f"{name}: cannot read as CSV/parquet ({exc.__class__.__name__}: {exc})") from None
    fmt = fmt or detected
    frame = _normalise(raw, fmt, name)
    index = _parse_timestamps(frame["timestamp"], name, first_line)
    values = {}
    for col in OHLCV:
        numeric = pd.to_numeric(frame[col], errors="coerce")
        bad = np.flatnonzero(numeric.isna().to_numpy() & frame[col].notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            where = f"line {i + first_line}" if first_line else f"row {i}"
            raise DataError(f"{name}: {where}, column "
                            f"'{col}': {frame[col].iloc[i]!r} is not a number")
        values[col] = numeric.to_numpy(dtype="float64")
    df = pd.DataFrame(values, index=index.rename("timestamp"))
    validate_ohlcv(df, name, first_line, min_rows=min_rows)
    step = infer_timeframe(df.index)
    if timeframe is not None and pd.Timedelta(timeframe) != step:
        raise DataError(f"{name}: bars are {timeframe_label(step)} apart, but timeframe={timeframe!r} was asked; "
                        "resample with resample_ohlcv() or pass the right timeframe")
    if gaps == "raise":
        report = find_gaps(df, step)
        if report.n_gaps:
            raise DataError(f"{name}: {report}; first at {report.table['start'].iloc[0]} "
                            "(gaps='raise'); pass gaps='keep' to accept gaps")
    elif gaps != "keep":
        raise DataError(f"gaps={gaps!r}: use 'keep' or 'raise' (gaps are never filled silently)")
    df.attrs["source"] = name
    df.attrs["timeframe"] = timeframe_label(step)
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
