"""Trading calendars: days per year, bars per day, HAR windows and forecast horizons.

One :class:`Calendar` travels from the data or config to every forecaster, report, option
maturity and sweep statistic, so annualisation never mixes 365 and 252 days.

* ``crypto``: markets trade 24 hours a day, 365 days a year; a horizon of ``h`` days is the
  next ``h * 24`` hours of bars (time-based, so a gap does not stretch it).
* ``equity``: 252 trading days a year of 6.5 hours; a horizon of ``h`` days is the next ``h``
  trading days (bar-based: a Friday's next day is Monday).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas loads when a calendar computes, not when the CLI starts
    import pandas as pd

from lstm_strategies.core.errors import ConfigError


@dataclass(frozen=True)
class Calendar:
    """Annualisation and horizon conventions of a market."""

    name: str
    days_per_year: float
    hours_per_day: float
    #: trailing windows of the HAR aggregates, in days (day, week, month)
    har_days: tuple[int, int, int]
    #: default forecast horizons of a term structure, in days (day, week, month)
    horizons: tuple[int, ...]
    #: True when a horizon of h days covers h * 24 hours of clock time; False when it covers
    #: the next h trading days' bars
    time_based: bool

    def bars_per_day(self, timeframe: str | pd.Timedelta) -> int:
        """Bars in one day of this calendar (at least 1): 24 hourly crypto bars, 1 daily bar."""
        import pandas as pd

        step = pd.Timedelta(timeframe)
        if step >= pd.Timedelta("1D"):
            return 1
        hours = step / pd.Timedelta("1h")
        return max(1, int(round(self.hours_per_day / hours)))

    def periods_per_year(self, timeframe: str | pd.Timedelta) -> float:
        """Bars per year at a bar spacing (8760 hourly crypto bars, 252 daily equity bars)."""
        import pandas as pd

        step = pd.Timedelta(timeframe)
        if step >= pd.Timedelta("1D"):
            return self.days_per_year / (step / pd.Timedelta("1D"))
        return self.days_per_year * self.bars_per_day(step)

    def annualise(self, variance, days: float):
        """Annualised volatility from a variance over ``days`` days of this calendar."""
        import numpy as np

        return np.sqrt(np.asarray(variance) * self.days_per_year / days)

    def trading_days(self, calendar_days: float) -> float:
        """Days of this calendar in a span of calendar days (crypto: the same; equity: x 252/365)."""
        return calendar_days * self.days_per_year / 365.0

    def horizon_label(self, days: int) -> str:
        """Line/column suffix of a horizon: ``"1d"``, ``"7d"``, ``"30d"``."""
        return f"{int(days)}d"

    def sessions(self, first, last) -> pd.DatetimeIndex:
        """The days the market trades between two dates (naive UTC dates): every day for crypto; for
        equities Monday to Friday without the regular US market holidays (New Year, Martin Luther King,
        Presidents' Day, Good Friday, Memorial Day, Juneteenth from 2022, Independence Day, Labor Day,
        Thanksgiving, Christmas), so a weekend or a holiday is not a gap, an unscheduled closure is."""
        import pandas as pd

        first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
        if self.time_based:
            return pd.date_range(first, last, freq="1D")
        return pd.bdate_range(first, last).difference(_us_market_holidays(first, last))


CALENDARS: dict[str, Calendar] = {
    "crypto": Calendar("crypto", 365.0, 24.0, (1, 7, 30), (1, 7, 30), time_based=True),
    "equity": Calendar("equity", 252.0, 6.5, (1, 5, 22), (1, 5, 21), time_based=False),
}


def get_calendar(calendar: str | Calendar) -> Calendar:
    """The :class:`Calendar` of a name; an unknown name is a :class:`ConfigError` listing the known."""
    if isinstance(calendar, Calendar):
        return calendar
    try:
        return CALENDARS[calendar]
    except (KeyError, TypeError):
        raise ConfigError(f"calendar {calendar!r} is unknown; choose one of {sorted(CALENDARS)}") from None


#: the longest forecast horizon (days) a model or forecaster may declare: a year (longer horizons are
#: extrapolations no model here is trained or checked for)
MAX_HORIZON_DAYS = 365


def validate_horizons(horizons, calendar: Calendar) -> tuple[int, ...]:
    """Horizons in days: whole numbers in [1, :data:`MAX_HORIZON_DAYS`], increasing (default: the calendar's)."""
    if horizons is None:
        return calendar.horizons
    if isinstance(horizons, (int, float, str)):
        horizons = [horizons]
    out = []
    for h in horizons:
        if isinstance(h, str):
            text = h.strip().lower().removesuffix("d")
            if not text.isdigit():
                raise ConfigError(f"horizon {h!r} is not a number of days (e.g. 1, 7, 30 or '7d')")
            h = int(text)
        if isinstance(h, bool) or not isinstance(h, (int, float)) or not 0 < h <= MAX_HORIZON_DAYS or h != int(h):
            raise ConfigError(f"horizon {h!r} must be a whole number of days in [1, {MAX_HORIZON_DAYS}]")
        out.append(int(h))
    if out != sorted(set(out)):
        raise ConfigError(f"horizons {out} must be distinct and increasing")
    return tuple(out)


def interpolate_variance(variances, horizons, tau_days):
    """Variance over ``tau_days`` from a term structure of total variances at ``horizons``.

    Total variance is interpolated linearly in time between the horizons, from 0 at ``tau = 0``;
    beyond the longest horizon it grows at the last segment's forward rate. Works on the last
    axis of ``variances`` (one row per bar, one column per horizon).

    Parameters
    ----------
    variances : array_like, shape (..., H)
        Variance over each horizon (not annualised).
    horizons : sequence of int, length H
        Horizons in days, increasing.
    tau_days : float or array_like
        Remaining life in days (broadcast against the leading axes).
    """
    import numpy as np

    v = np.asarray(variances, dtype="float64")
    knots = np.concatenate([[0.0], np.asarray(horizons, dtype="float64")])
    tau = np.asarray(tau_days, dtype="float64")
    total = np.concatenate([np.zeros(v.shape[:-1] + (1,)), v], axis=-1)
    k = np.clip(np.searchsorted(knots, tau, side="right") - 1, 0, len(knots) - 2)
    lo, hi = knots[k], knots[k + 1]
    v_lo = np.take_along_axis(total, np.broadcast_to(k, total.shape[:-1])[..., None], axis=-1)[..., 0]
    v_hi = np.take_along_axis(total, np.broadcast_to(k + 1, total.shape[:-1])[..., None], axis=-1)[..., 0]
    return v_lo + (v_hi - v_lo) * (tau - lo) / (hi - lo)


def interpolate_variance_scalar(row, horizons, tau_days: float) -> float:
    """Scalar twin of :func:`interpolate_variance` for one term structure (per-bar strategy code)."""
    lo_t, lo_v = 0.0, 0.0
    for h, v in zip(horizons, row, strict=True):
        if tau_days <= h:
            return lo_v + (v - lo_v) * (tau_days - lo_t) / (h - lo_t)
        lo_t, lo_v = float(h), float(v)
    if len(horizons) == 1:
        return lo_v * tau_days / lo_t
    prev_t = float(horizons[-2])
    prev_v = float(row[-2])
    return lo_v + (lo_v - prev_v) * (tau_days - lo_t) / (lo_t - prev_t) if not math.isnan(lo_v) else math.nan


def _us_market_holidays(first, last) -> pd.DatetimeIndex:
    from pandas.tseries.holiday import (
        AbstractHolidayCalendar,
        GoodFriday,
        Holiday,
        USLaborDay,
        USMartinLutherKingJr,
        USMemorialDay,
        USPresidentsDay,
        USThanksgivingDay,
        nearest_workday,
        sunday_to_monday,
    )

    class USMarket(AbstractHolidayCalendar):
        rules = [Holiday("New Year's Day", month=1, day=1, observance=sunday_to_monday), USMartinLutherKingJr,
                 USPresidentsDay, GoodFriday, USMemorialDay,
                 Holiday("Juneteenth", month=6, day=19, start_date="2022-06-19", observance=nearest_workday),
                 Holiday("Independence Day", month=7, day=4, observance=nearest_workday), USLaborDay,
                 USThanksgivingDay, Holiday("Christmas", month=12, day=25, observance=nearest_workday)]

    return USMarket().holidays(first, last)


#: named stress windows (UTC dates, inclusive): chosen from the events, not from the forecasts
STRESS_WINDOWS: dict[str, tuple[str, str]] = {
    "2022-05 Terra/LUNA": ("2022-05-07", "2022-05-31"),
    "2022-06 Celsius/3AC": ("2022-06-10", "2022-06-30"),
    "2022-11 FTX": ("2022-11-06", "2022-11-30"),
    "2023-03 SVB/USDC": ("2023-03-09", "2023-03-20"),
    "2024-08-05 carry unwind": ("2024-08-01", "2024-08-15"),
    "2025-10-10 liquidations": ("2025-10-09", "2025-10-25"),
}
