"""Implied-volatility series (e.g. Deribit's DVOL index): load, validate, look up causally.

**Files are read by meaning, not by position.** A CSV needs a header; its time column is one of
:data:`TIME_NAMES` (``timestamp``, ``date``, ``time``, ...) and its value column one of
:data:`VALUE_NAMES` (``dvol``, ``iv``, ``implied_vol``, ``implied_volatility``, ``vix``, ``close``,
``value``, ...; case, spaces and dashes ignored). An OHLC layout (``timestamp,open,high,low,close``,
Deribit's candles) gives its ``close``. A file that looks like prices is refused: one with a volume
(or trade count) column, or whose levels are far outside implied-vol ranges; so is a file with no
accepted value name, or with several.

**Units.** ``units="percent"`` (DVOL's 56.76) or ``"fraction"`` (0.5676) says what the file holds
(``--implied-units``, ``[data] implied_units``); without it the values decide, and a file they
cannot decide is refused: every value between 1 and 5 (1-5% a year in percent, 100-500% as
fractions), or values on both sides (some at most 1, some 5 or more: fractions and percent mixed).

**Every row is checked**, and the first bad one is one :class:`DataError` naming the file, line and
column: unparseable, unsorted, duplicate, missing or non-positive values, a level outside
:data:`MIN_VOL` .. :data:`MAX_VOL` (1% .. 500% a year), and a jump of more than :data:`MAX_JUMP`
times (up or down) from one row to the next (the shipped DVOL files move at most 1.55 times in a
day; the VIX's largest one-day move was 2.2 times).

**Causality.** A daily value is the day's close of the index, known at the *end* of its UTC
day. :func:`load_implied_vol` therefore stamps each value with the time it becomes known
(``known_from`` = the period's start plus one period), and :class:`ImpliedVolLookup` returns, at a
bar, the last value known at that bar's close, never the same day's value before the day ends.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import DataError
from lstm_strategies.core.readers import describe_columns

MAX_VOL = 5.0    # 500% a year: anything above is an input error, not a market
MIN_VOL = 0.01   # 1% a year: below any traded option market's implied volatility
MAX_JUMP = 3.0   # the most a value may move (up or down, as a ratio) from one row to the next
#: accepted names of the time column (lower case; spaces and dashes read as "_"), best first
TIME_NAMES = ("timestamp", "date", "time", "datetime", "ts", "day", "timestamp_utc", "date_utc", "datetime_utc")
#: accepted names of the value column, best first (an OHLC layout gives its close)
VALUE_NAMES = ("dvol", "iv", "implied_vol", "implied_volatility", "impliedvol", "implied", "atm_iv", "mark_iv",
               "vol_index", "volatility_index", "vix", "close", "value")
#: columns that only a price file has
PRICE_COLUMNS = ("volume", "base_volume", "quote_volume", "volume_usd", "trades", "count", "number_of_trades")
OHLC = ("open", "high", "low", "close")
UNITS = ("percent", "fraction")


@dataclass
class _Raw:
    """A source as text: the time cells, the value cells, and where each row sits in the file."""

    name: str
    times: pd.Series
    values: pd.Series
    column: str             # how messages name the value column
    first_line: int         # file line of the first row (0: rows of a Series)
    ignored: list[str]

    def where(self, i: int) -> str:
        return f"line {i + self.first_line}" if self.first_line else f"row {i}"


def _norm(column: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(column).strip().lower()).strip("_")


def _columns(raw: pd.DataFrame, name: str) -> tuple[str, str, list[str]]:
    """The time and value columns of a file, by their names; price files and unnamed values are refused."""
    by_norm = {_norm(c): c for c in raw.columns}
    found = describe_columns(raw.columns, {*TIME_NAMES, *VALUE_NAMES, *PRICE_COLUMNS, *OHLC})
    prices = [by_norm[n] for n in PRICE_COLUMNS if n in by_norm]
    if prices:
        raise DataError(f"{name}: a {prices[0]!r} column: this looks like a price (OHLCV) file, not implied "
                        f"volatility ({found}); give an implied-vol series such as timestamp,dvol")
    time_col = next((by_norm[n] for n in TIME_NAMES if n in by_norm), None)
    if time_col is None:
        raise DataError(f"{name}: no time column (looked for {', '.join(TIME_NAMES[:6])}, ...; {found}); the first "
                        "line must name the columns, e.g. timestamp,dvol")
    if all(n in by_norm for n in OHLC):
        value_col = by_norm["close"]
    else:
        named = [by_norm[n] for n in VALUE_NAMES if n in by_norm]
        if not named:
            raise DataError(f"{name}: no implied-volatility column ({found}); name it one of {', '.join(VALUE_NAMES)} "
                            "(e.g. timestamp,dvol); a file is read by its column names, not their positions")
        if len(named) > 1:
            raise DataError(f"{name}: several value columns ({', '.join(map(str, named))}); keep the one that holds "
                            "the implied volatility")
        value_col = named[0]
    ignored = [str(c) for c in raw.columns if c not in (time_col, value_col)]
    return time_col, value_col, ignored


def _read(source) -> _Raw:
    """A CSV (path or shipped name) or a Series, as text cells and their places."""
    if isinstance(source, pd.Series):
        name = f"<Series {source.name}>"
        return _Raw(name, pd.Series(source.index), source.reset_index(drop=True), "value", 0, [])
    path, name = _resolve(source), str(source)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{name}: cannot read the implied-vol CSV ({type(exc).__name__}: {exc})") from None
    if raw.shape[1] < 2:
        raise DataError(f"{name}: an implied-vol CSV needs a time column and a value column, "
                        f"{describe_columns(raw.columns, {*TIME_NAMES, *VALUE_NAMES})}")
    time_col, value_col, ignored = _columns(raw, name)
    if raw.empty:
        raise DataError(f"{name}: no rows")
    col = f"column {list(raw.columns).index(value_col) + 1}"
    return _Raw(name, raw[time_col], raw[value_col].str.strip(), col, 2, ignored)


def _parse(raw: _Raw) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The rows as a UTC index and float values; the first unparseable, missing or non-positive cell,
    duplicate or out-of-order time is one :class:`DataError`."""
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(raw.times), utc=True, errors="coerce", format="mixed"))
    index = index.as_unit("ns")  # asi8 below must be nanoseconds, whatever unit pandas parsed into
    bad_time = np.flatnonzero(index.isna())
    if bad_time.size:
        i = int(bad_time[0])
        raise DataError(f"{raw.name}: {raw.where(i)}, column 1: {list(raw.times)[i]!r} is not a date; fix or delete "
                        "the row")
    v = pd.to_numeric(raw.values, errors="coerce").to_numpy(dtype="float64")
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{raw.name}: {raw.where(i)}, {raw.column}: {str(raw.values.iloc[i])!r} is missing or not a "
                        "number")
    nonpos = np.flatnonzero(v <= 0)
    if nonpos.size:
        i = int(nonpos[0])
        raise DataError(f"{raw.name}: {raw.where(i)}, {raw.column}: implied volatility {v[i]} is not positive")
    dups = np.flatnonzero(index.duplicated())
    if dups.size:
        i = int(dups[0])
        raise DataError(f"{raw.name}: {raw.where(i)}: duplicate time {index[i]}; keep one value per period")
    back = np.flatnonzero(np.diff(index.asi8) <= 0)
    if back.size:
        i = int(back[0]) + 1
        raise DataError(f"{raw.name}: {raw.where(i)}: time {index[i]} is not after the previous {index[i - 1]}; "
                        "sort by time")
    return index, v


def _units(v: np.ndarray, raw: _Raw) -> str:
    """Percent or fractions, from the values; ambiguous or mixed files are refused."""
    # a value no unit makes plausible (1e-6) decides nothing: the range check names it
    low, high = np.flatnonzero((v <= 1.0) & (v >= MIN_VOL)), np.flatnonzero(v >= MAX_VOL)
    declare = "declare the units (units='percent' or 'fraction'; --implied-units; [data] implied_units)"
    if low.size and high.size:
        i, j = int(low[0]), int(high[0])
        raise DataError(f"{raw.name}: {raw.column} mixes fractions and percent: {raw.where(i)} holds {v[i]:g} and "
                        f"{raw.where(j)} holds {v[j]:g}; write every value in one unit and {declare}")
    if high.size:
        return "percent"
    if low.size:
        return "fraction"
    if not np.any((v > 1.0) & (v < MAX_VOL)):
        return "fraction"  # nothing but values no unit makes plausible: the range check names the first
    raise DataError(f"{raw.name}: every value of {raw.column} lies between 1 and {MAX_VOL:g} ({v.min():g} .. "
                    f"{v.max():g}): as percent that is {v.min():g}%-{v.max():g}% a year, as fractions "
                    f"{v.min():.0%}-{v.max():.0%}; the values cannot tell, so {declare}")


def _plausible(frac: np.ndarray, v: np.ndarray, units: str, raw: _Raw) -> None:
    """Each level within MIN_VOL .. MAX_VOL and each step within MAX_JUMP times, or the row is named."""
    out = np.flatnonzero((frac < MIN_VOL) | (frac > MAX_VOL))
    if out.size:
        i = int(out[0])
        price = " (is this a price file?)" if frac[i] > MAX_VOL else ""
        raise DataError(f"{raw.name}: {raw.where(i)}, {raw.column}: {v[i]:g} ({units}) is {frac[i]:.2%} a year, which "
                        f"is not a market implied volatility ({MIN_VOL:.0%} .. {MAX_VOL:.0%}){price}; check the value "
                        "and the units (units='percent' or 'fraction')")
    if len(frac) > 1:
        ratio = np.exp(np.abs(np.diff(np.log(frac))))
        jumps = np.flatnonzero(ratio > MAX_JUMP)
        if jumps.size:
            i = int(jumps[0]) + 1
            raise DataError(f"{raw.name}: {raw.where(i)}, {raw.column}: {v[i]:g} follows {v[i - 1]:g}, a move of "
                            f"{ratio[i - 1]:.1f} times in one row (implied volatility moves less than {MAX_JUMP:g} "
                            "times a period); is the value, or its units, wrong?")


def load_implied_vol(source: str | Path | pd.Series, units: str | None = None,
                     period: str | pd.Timedelta | None = None, unit: str | None = None) -> pd.Series:
    """An implied-volatility series as fractions, indexed by the UTC time each value becomes known.

    Parameters
    ----------
    source : path, shipped dataset name (``"btc_dvol_daily"``) or Series
        A CSV read by its column names (see the module's docstring), or a Series with a DatetimeIndex
        of period starts (a series this function returned is returned as it is).
    units : {"percent", "fraction"}, optional
        What the values are; by default read from them, and a file they cannot decide is refused.
    period : str, optional
        Length of one observation period (default: the most common spacing, one day for DVOL).
    unit : {"percent", "fraction"}, optional
        The same as ``units`` (its name before 0.4.0).

    Returns
    -------
    Series
        Fractions (0.5676), index = time the value is known (period start + period), name
        ``implied_vol``; ``attrs`` holds ``source``, ``unit``, ``period``, the gap count and
        ``ignored_columns``.

    Raises
    ------
    DataError
        The file, line and column of the first bad row, a price file, or units that cannot be told.
    """
    from lstm_strategies.data.bars import find_gaps

    if isinstance(source, pd.Series) and source.index.name == "known_from" and source.attrs.get("unit"):
        return source  # loaded already (stamped with the time each value is known): shifting again would leak
    if unit is not None and units is not None and unit != units:
        raise DataError(f"units={units!r} and unit={unit!r} disagree; pass units= alone")
    units = units if units is not None else unit
    if units is not None and units not in UNITS:
        raise DataError(f"{source if isinstance(source, (str, Path)) else 'implied vol'}: units={units!r}; use "
                        "'percent' or 'fraction'")
    raw = _read(source)
    index, v = _parse(raw)
    units = units or _units(v, raw)
    frac = v / 100.0 if units == "percent" else v
    _plausible(frac, v, units, raw)
    if len(index) < 2 and period is None:
        raise DataError(f"{raw.name}: one row; pass period= to say how long a value holds")
    step = pd.Timedelta(period) if period is not None else pd.Timedelta(int(np.median(np.diff(index.asi8))), "ns")
    gaps = find_gaps(pd.DataFrame({"v": frac}, index=index), step) if len(index) > 1 else None
    series = pd.Series(frac, index=(index + step).as_unit("ns"), name="implied_vol")
    series.index.name = "known_from"
    series.attrs = {"source": raw.name, "unit": units, "period": str(step),
                    "gaps": 0 if gaps is None else gaps.n_gaps,
                    "missing_periods": 0 if gaps is None else gaps.missing_bars,
                    "first_period": str(index[0]), "last_period": str(index[-1]), "ignored_columns": raw.ignored}
    return series


def looks_implied(spec: str | Path) -> bool:
    """Whether ``spec`` is a shipped implied-vol series, or a CSV whose header names an implied-vol
    column and no volume (so ``data inspect`` reads it with :func:`load_implied_vol`)."""
    from lstm_strategies.data.catalog import SHIPPED

    if str(spec) in SHIPPED:
        return SHIPPED[str(spec)].kind == "implied_vol"
    path = Path(spec)
    if not path.is_file() or not path.name.lower().endswith((".csv", ".csv.gz")):
        return False
    try:
        columns = {_norm(c) for c in pd.read_csv(path, nrows=0).columns}
    except (OSError, UnicodeDecodeError, ValueError, EOFError):
        return False
    return bool(columns & set(VALUE_NAMES)) and not columns & {*PRICE_COLUMNS, "vol", "v"}


def _resolve(source) -> Path:
    from lstm_strategies.data.catalog import SHIPPED, dataset_path

    text = str(source)
    if text in SHIPPED:
        if SHIPPED[text].kind != "implied_vol":
            raise DataError(f"{text} is a shipped {SHIPPED[text].kind} dataset, not an implied-volatility series; "
                            f"give one of {', '.join(n for n, d in SHIPPED.items() if d.kind == 'implied_vol')}")
        return dataset_path(text)
    from lstm_strategies.core.readers import check_regular_file, path_kind

    path = Path(text)
    if path_kind(path, "implied-vol CSV", DataError) == "missing":
        raise DataError(f"{text}: implied-vol file not found (give a CSV path or a shipped name: "
                        f"{', '.join(n for n, d in SHIPPED.items() if d.kind == 'implied_vol')})")
    return check_regular_file(path, "implied-vol CSV", DataError)


class ImpliedVolLookup:
    """The last implied volatility known at each bar, in O(1) per bar for bars in time order.

    Parameters
    ----------
    series : Series
        From :func:`load_implied_vol` (index = time known).
    max_age : str or Timedelta
        A value older than this at a bar counts as missing (default 3 days: one missing day of
        DVOL is bridged, a longer hole is reported).
    """

    def __init__(self, series: pd.Series, max_age: str | pd.Timedelta = "3D"):
        self.times = pd.DatetimeIndex(series.index).as_unit("ns").asi8  # any datetime64 unit
        self.values = series.to_numpy(dtype="float64")
        self.max_age = pd.Timedelta(max_age).value
        self.source = series.attrs.get("source", "implied vol")
        self._i = -1

    def at(self, ts_ns: int) -> float:
        """Implied vol known at ``ts_ns`` (the bar's close time), NaN when none is recent enough."""
        i = self._i
        if i + 1 < len(self.times) and self.times[i + 1] <= ts_ns:
            i = int(np.searchsorted(self.times, ts_ns, side="right")) - 1
        elif i >= 0 and self.times[i] > ts_ns:  # time went back (a new run): search again
            i = int(np.searchsorted(self.times, ts_ns, side="right")) - 1
        self._i = i
        if i < 0 or ts_ns - self.times[i] > self.max_age:
            return math.nan
        return float(self.values[i])

    def at_with_previous(self, ts_ns: int) -> tuple[float, float]:
        """:meth:`at`, and the value before it in the series (NaN when the value at ``ts_ns`` is missing or
        is the series' first)."""
        now = self.at(ts_ns)
        i = self._i
        return now, (float(self.values[i - 1]) if now == now and i >= 1 else math.nan)

    def values_at(self, times_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`at_with_previous` for many times at once (e.g. every bar's close), in any order.

        Returns the value known at each time and the one before it in the series, NaN where
        :meth:`at` gives NaN.
        """
        t = np.asarray(times_ns, dtype="int64")
        i = np.searchsorted(self.times, t, side="right") - 1
        j = np.maximum(i, 0)
        fresh = (i >= 0) & (t - self.times[j] <= self.max_age)
        now = np.where(fresh, self.values[j], math.nan)
        prev = np.where(fresh & (i >= 1), self.values[np.maximum(i - 1, 0)], math.nan)
        return now, prev

    def covers(self, start, end) -> bool:
        """True when the series spans ``[start, end]``."""
        return bool(len(self.times)) and self.times[0] <= pd.Timestamp(start).value and \
            self.times[-1] >= pd.Timestamp(end).value
