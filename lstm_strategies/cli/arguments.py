"""What every command shares at its boundary: option types, the parser, and how an error is printed.

* ``type=`` functions for argparse (:func:`date`, :func:`integer`, :func:`number`, :func:`time_zone`,
  :func:`horizons`): a bad value is one line, ``error: lstm-strategies evaluate: argument --start:
  '2023-13-01' is not a date: there is no month 13 ...``, exit status 2, before any work starts;
* :class:`Parser`: argparse's parser whose errors are that one line (no usage dump, no traceback);
* :func:`stderr_lines` and :func:`print_error`: an ``error:`` line always starts a line of its own,
  even after a progress bar's ``\\r`` updates on a stderr that is not a terminal (a log file).

Nothing here imports pandas until a date or a zone is parsed, so ``--help`` and ``models`` stay fast.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections.abc import Callable, Iterator


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one ``error:`` line (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def date(text: str) -> str:
    """A date option (``--start 2023-01-01``): ISO 8601 text, returned as given (stripped)."""
    from lstm_strategies.core.dates import DateTextError, parse_date

    try:
        parse_date(text, "")
    except DateTextError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def integer(low: int | None = None, high: int | None = None, what: str = "") -> Callable[[str], int]:
    """An integer option in ``[low, high]`` (either end open when None)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{_bounds(low, high, what)}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{value} is out of range{_bounds(low, high, what)}")
        return value

    parse.__name__ = "integer"
    return parse


def number(low: float | None = None, high: float | None = None, low_open: bool = False, high_open: bool = False,
           what: str = "") -> Callable[[str], float]:
    """A finite number option in the interval ``low .. high`` (each end closed unless ``*_open``)."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    shown = f"; use a number in {left}{'-inf' if low is None else f'{low:g}'}, " \
            f"{'inf' if high is None else f'{high:g}'}{right}{f' ({what})' if what else ''}"

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number{shown}") from None
        bad = not math.isfinite(value) or (low is not None and (value <= low if low_open else value < low)) or (
            high is not None and (value >= high if high_open else value > high))
        if bad:
            raise argparse.ArgumentTypeError(f"{text.strip()} is out of range{shown}")
        return value

    parse.__name__ = "number"
    return parse


def _bounds(low: int | None, high: int | None, what: str) -> str:
    if low is not None and high is not None:
        text = f"; use a whole number from {low:,} to {high:,}"
    elif low is not None:
        text = f"; use a whole number of at least {low:,}"
    elif high is not None:
        text = f"; use a whole number of at most {high:,}"
    else:
        text = ""
    return text + (f" ({what})" if what and text else "")


def time_zone(text: str) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``)."""
    import pandas as pd

    try:
        pd.Timestamp("2000-01-01").tz_localize(text.strip())
    except (LookupError, ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time zone; use an IANA name such as Europe/Berlin or "
                                         "UTC") from None
    return text.strip()


def horizons(text: str) -> list[int]:
    """Comma-separated horizons in days, distinct and increasing (``1,7,30``)."""
    from lstm_strategies.data.calendar import MAX_HORIZON_DAYS

    try:
        days = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers of days separated by commas, e.g. "
                                         "1,7,30") from None
    if not days or any(not 1 <= d <= MAX_HORIZON_DAYS for d in days) or days != sorted(set(days)):
        raise argparse.ArgumentTypeError(f"{text!r}: give distinct, increasing horizons from 1 to "
                                         f"{MAX_HORIZON_DAYS} days, e.g. 1,7,30")
    return days


#: the largest seed numpy and torch take
MAX_SEED = 2 ** 32 - 1
seed = integer(0, MAX_SEED)
positive = integer(1)


class _LineEnds:
    """A stderr that remembers whether what was written last ended a line."""

    def __init__(self, stream):
        self._stream = stream
        self.at_line_start = True

    def write(self, text: str) -> int:
        if text:
            tty = getattr(self._stream, "isatty", lambda: False)()
            self.at_line_start = text.endswith("\n") or (text.endswith("\r") and tty)
        return self._stream.write(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


@contextlib.contextmanager
def stderr_lines() -> Iterator[None]:
    """Track stderr for :func:`print_error` while a command runs (progress bars write through it)."""
    original = sys.stderr
    sys.stderr = _LineEnds(original)
    try:
        yield
    finally:
        sys.stderr = original


def print_error(message: str) -> None:
    """``error: message`` on stderr, on a line of its own (stdout flushed first, progress bars closed)."""
    sys.stdout.flush()
    tqdm = sys.modules.get("tqdm")
    for bar in list(getattr(getattr(tqdm, "tqdm", None), "_instances", ()) or ()):
        bar.close()  # a bar left open by the failure would otherwise redraw itself after the error line
    fresh = "" if getattr(sys.stderr, "at_line_start", True) else "\n"
    print(f"{fresh}error: {message}", file=sys.stderr)
