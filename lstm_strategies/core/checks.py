"""Argument checks shared by the forecasters, the strategies and the config schema (bottom floor).

Each returns a clear message (or raises :class:`ConfigError`) naming the argument and the range.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lstm_strategies.core.errors import ConfigError

Rule = Callable[[object], "str | None"]


def check_number(owner: str, name: str, value, low=None, high=None, integer: bool = False,
                 low_open: bool = False, high_open: bool = False):
    """Validate one constructor argument; raise :class:`ConfigError` naming it and the allowed range."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{owner}: {name}={value!r} must be {kind}")
    if value != value:
        raise ConfigError(f"{owner}: {name} is NaN")
    if not math.isfinite(value):
        raise ConfigError(f"{owner}: {name}={value!r} must be a finite number")
    if integer and value != int(value):
        raise ConfigError(f"{owner}: {name}={value!r} must be {kind}")
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not (lo_ok and hi_ok):
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ConfigError(f"{owner}: {name}={value!r} is out of range; it must be in {left}"
                          f"{'-inf' if low is None else low}, {'inf' if high is None else high}{right}")
    return int(value) if integer else float(value)


def positive(v) -> str | None:
    return None if v > 0 else "must be > 0"


def non_negative(v) -> str | None:
    return None if v >= 0 else "must be >= 0"


def fraction(v) -> str | None:
    return None if 0 < v <= 1 else "must be in (0, 1]"


def unit_interval(v) -> str | None:
    return None if 0 <= v <= 1 else "must be in [0, 1]"


def whole_positive(v) -> str | None:
    return None if v > 0 and v == int(v) else "must be a whole number > 0"


def one_of(*choices) -> Rule:
    return lambda v: None if v in choices else f"choose one of {list(choices)}"
