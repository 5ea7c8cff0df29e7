"""Implied-volatility series (e.g. Deribit's DVOL index): load, validate, look up causally.

A file is ``timestamp,<value>`` CSV (one value column; the shipped ``btc_dvol_daily`` and
``eth_dvol_daily`` are ``timestamp,dvol``). Values in percent (DVOL's 56.76) or as fractions (0.5676) are detected from
their magnitude or declared with ``unit``. Every bad row is one :class:`DataError` naming the file,
line and column, as for OHLCV: unparseable, unsorted, duplicate, missing, non-positive or absurd
values (above 500% a year).

**Causality.** A daily value is the day's close of the index, known at the *end* of its UTC
day. :func:`load_implied_vol` therefore stamps each value with the time it becomes known
(``known_from`` = the period's start plus one period), and :class:`ImpliedVolLookup` returns, at a
bar, the last value known at that bar's close, never the same day's value before the day ends.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import DataError

MAX_VOL = 5.0  # 500% a year: anything above is an input error, not a market


def load_implied_vol(source: str | Path | pd.Series, unit: str | None = None,
                     period: str | pd.Timedelta | None = None) -> pd.Series:
    """An implied-volatility series as fractions, indexed by the UTC time each value becomes known.

    Parameters
    ----------
    source : path, shipped dataset name (``"btc_dvol_daily"``) or Series
        A Series must have a DatetimeIndex of period starts.
    unit : {"percent", "fraction"}, optional
        Declared unit; by default percent when the median exceeds 3 (no asset has 300% implied vol).
    period : str, optional
        Length of one observation period (default: the most common spacing, one day for DVOL).

    Returns
    -------
    Series
        Fractions (0.5676), index = time the value is known (period start + period), name
        ``implied_vol``; ``attrs`` holds ``source``, ``unit``, ``period`` and the gap count.
    """
    from lstm_strategies.data.bars import find_gaps

    name = str(source) if not isinstance(source, pd.Series) else f"<Series {source.name}>"
    if isinstance(source, pd.Series):
        raw_index, values, first_line = source.index, pd.to_numeric(source, errors="coerce"), 0
        texts = list(source.astype(str))
    else:
        path = _resolve(source)
        name = str(source)
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataError(f"{name}: cannot read the implied-vol CSV ({type(exc).__name__}: {exc})") from None
        if raw.shape[1] < 2:
            raise DataError(f"{name}: an implied-vol CSV needs a time column and a value column, found "
                            f"{list(raw.columns)}")
        if raw.empty:
            raise DataError(f"{name}: no rows")
        raw_index, first_line = raw.iloc[:, 0], 2
        values = pd.to_numeric(raw.iloc[:, 1].str.strip(), errors="coerce")
        texts = list(raw.iloc[:, 1])
    index = pd.DatetimeIndex(pd.to_datetime(pd.Series(raw_index), utc=True, errors="coerce", format="mixed"))
    index = index.as_unit("ns")  # asi8 below must be nanoseconds, whatever unit pandas parsed into
    col = "value" if isinstance(source, pd.Series) else "column 2"

    def where(i: int) -> str:
        return f"line {i + first_line}" if first_line else f"row {i}"

    bad_time = np.flatnonzero(index.isna())
    if bad_time.size:
        i = int(bad_time[0])
        raise DataError(f"{name}: {where(i)}, column 1: {list(raw_index)[i]!r} is not a date; fix or delete the row")
    bad = np.flatnonzero(~np.isfinite(values.to_numpy(dtype="float64")))
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{name}: {where(i)}, {col}: {texts[i]!r} is missing or not a number")
    v = values.to_numpy(dtype="float64")
    nonpos = np.flatnonzero(v <= 0)
    if nonpos.size:
        i = int(nonpos[0])
        raise DataError(f"{name}: {where(i)}, {col}: implied volatility {v[i]} is not positive")
    dups = np.flatnonzero(index.duplicated())
    if dups.size:
        i = int(dups[0])
        raise DataError(f"{name}: {where(i)}: duplicate time {index[i]}; keep one value per period")
    back = np.flatnonzero(np.diff(index.asi8) <= 0)
    if back.size:
        i = int(back[0]) + 1
        raise DataError(f"{name}: {where(i)}: time {index[i]} is not after the previous {index[i - 1]}; sort by time")
    if unit is None:
        unit = "percent" if np.median(v) > 3 else "fraction"
    if unit not in ("percent", "fraction"):
        raise DataError(f"{name}: unit={unit!r}; use 'percent' or 'fraction'")
    frac = v / 100.0 if unit == "percent" else v
    absurd = np.flatnonzero(frac > MAX_VOL)
    if absurd.size:
        i = int(absurd[0])
        raise DataError(f"{name}: {where(i)}, {col}: {v[i]} ({unit}) is {frac[i]:.0%} a year, which is not a "
                        f"market implied volatility; check the unit (unit='percent' or 'fraction')")
    if len(index) < 2 and period is None:
        raise DataError(f"{name}: one row; pass period= to say how long a value holds")
    step = pd.Timedelta(period) if period is not None else pd.Timedelta(int(np.median(np.diff(index.asi8))), "ns")
    frame = pd.DataFrame({"v": frac}, index=index.as_unit("ns"))
    gaps = find_gaps(frame, step) if len(frame) > 1 else None
    series = pd.Series(frac, index=(index + step).as_unit("ns"), name="implied_vol")
    series.index.name = "known_from"
    series.attrs = {"source": name, "unit": unit, "period": str(step),
                    "gaps": 0 if gaps is None else gaps.n_gaps,
                    "missing_periods": 0 if gaps is None else gaps.missing_bars,
                    "first_period": str(index[0]), "last_period": str(index[-1])}
    return series


def _resolve(source) -> Path:
    from lstm_strategies.data.catalog import SHIPPED, dataset_path

    text = str(source)
    if text in SHIPPED:
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
        self.times = series.index.asi8
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
