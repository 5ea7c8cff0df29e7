"""Dates a user types (command-line options, config keys), read one way everywhere.

:func:`parse_date` accepts ISO 8601 only: ``YYYY-MM-DD``, optionally followed by a time
(``YYYY-MM-DDTHH:MM[:SS[.fff]]``, a space instead of the ``T`` too) and a UTC offset (``Z``, ``+02:00``).
Naive values are UTC. Anything else (``2023-13-01``, ``2021-31-12``, ``yesterday``, ``now``,
``20220101``, ``01/02/2023``) is one :class:`DateTextError` (a ``ValueError``) whose message says what
is wrong and how to write it; ``now``/``today`` are refused because a run must mean the same dates
tomorrow.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from typing import Annotated

import pandas as pd
from pydantic import AfterValidator, BeforeValidator

from lstm_strategies.core.errors import ConfigError

_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
                  r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d{1,9})?)?"
                  r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?")
HOW = "write it as YYYY-MM-DD (or YYYY-MM-DDTHH:MM, UTC unless it carries an offset such as Z or +02:00)"


class DateTextError(ConfigError):
    """A text that is not a date in the accepted form (the message says why and how to write it); a
    :class:`~lstm_strategies.core.errors.ConfigError`, so a ``ValueError`` too."""


def _why(match: re.Match) -> str | None:
    """What is out of range in a text of the right shape (None: nothing)."""
    year, month, day = int(match["y"]), int(match["m"]), int(match["d"])
    if not 1 <= month <= 12:
        return f"there is no month {month} (the form is year-month-day)"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    if match["H"] is not None and (int(match["H"]) > 23 or int(match["M"]) > 59 or int(match["S"] or 0) > 59):
        return "the time of day is out of range"
    return None


def parse_date(value: object, what: str = "date") -> pd.Timestamp:
    """A date or time as a UTC :class:`pandas.Timestamp` (naive means UTC).

    Parameters
    ----------
    value : str, datetime.date or datetime.datetime
        ISO 8601 text, or a date/datetime (TOML dates arrive as these).
    what : str
        How the caller names the value in messages (``"--start"``).

    Raises
    ------
    DateTextError
        The value is not a date in the accepted form.
    """
    what = f"{what} " if what else ""
    if isinstance(value, (_dt.date, pd.Timestamp)) and not isinstance(value, bool):
        ts = pd.Timestamp(value)
    elif isinstance(value, str):
        text = value.strip()
        match = _ISO.fullmatch(text)
        if match is None:
            raise DateTextError(f"{what}{value!r} is not a date; {HOW}")
        why = _why(match)
        if why:
            raise DateTextError(f"{what}{value!r} is not a date: {why}; {HOW}")
        try:
            ts = pd.Timestamp(text)
        except (ValueError, OverflowError):
            raise DateTextError(f"{what}{value!r} is not a date; {HOW}") from None
    else:
        raise DateTextError(f"{what}{value!r} is not a date; {HOW}")
    if pd.isna(ts):
        raise DateTextError(f"{what}{value!r} is not a date; {HOW}")
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def is_day(value: object) -> bool:
    """Whether ``value`` names a whole day (``YYYY-MM-DD`` or a ``datetime.date``), not a time."""
    if isinstance(value, str):
        return bool(_ISO.fullmatch(value.strip())) and len(value.strip()) <= 10
    return isinstance(value, _dt.date) and not isinstance(value, _dt.datetime)


def date_text(value: object) -> str:
    """A config's date as text: a TOML date or datetime (ISO text back), or ISO text (kept as written);
    anything else is a ``ValueError`` saying how to write it."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if not isinstance(value, str):
        raise DateTextError(f"{value!r} is not a date; write it as \"YYYY-MM-DD\"")
    parse_date(value, "")
    return value


def time_zone(value: str) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``), or a ``ValueError``."""
    try:
        pd.Timestamp("2000-01-01").tz_localize(value)
    except (LookupError, ValueError, TypeError):
        raise ValueError(f"{value!r} is not a time zone; use an IANA name such as \"Europe/Berlin\" or "
                         "\"UTC\"") from None
    return value


#: a config key holding a date (pydantic): see :func:`date_text`
DateText = Annotated[str, BeforeValidator(date_text)]
#: a config key holding a time zone name (pydantic): see :func:`time_zone`
TimeZone = Annotated[str, AfterValidator(time_zone)]
