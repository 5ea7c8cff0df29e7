"""Bounded, typed reading of the files the tool is given (bottom floor: no other package module).

Every input file (a model card and its weights, a config, sweep results, an implied-volatility
CSV, OHLCV files) is opened only when it is a **regular file** no larger than the limit of its kind,
so a link to ``/dev/zero`` or ``/dev/urandom``, a named pipe (whose reader would block forever) or a
folder gives one clear error naming the file instead of a hang, a traceback or gigabytes of memory.
The error class is the caller's (:class:`~lstm_strategies.errors.CheckpointError` for model files,
:class:`~lstm_strategies.errors.ConfigError` for configs, ...), so the message reads in its terms.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MiB = 1024 * 1024

#: the largest file of each kind the tool reads (far above any real one)
LIMITS: dict[str, int] = {
    "model card": 1 * MiB,
    "model weights": 512 * MiB,
    "config": 1 * MiB,
    "sweep results": 512 * MiB,
    "implied-vol CSV": 64 * MiB,
    "OHLCV file": 4096 * MiB,
}


def _size(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


def path_kind(path: str | Path, kind: str, error: type[Exception]) -> str:
    """``"missing"``, ``"folder"`` or ``"file"`` (anything else that exists) for ``path``; a path the
    system cannot even look up (a name over 255 bytes, a loop of links) is ``error`` naming it."""
    try:
        info = Path(path).stat()
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as exc:
        raise error(f"{path}: cannot look up the {kind} ({exc.strerror or exc}"
                    + (": a folder or file name is over 255 bytes" if exc.errno == 36 else "") + ")") from None
    return "folder" if stat.S_ISDIR(info.st_mode) else "file"


def check_regular_file(path: str | Path, kind: str, error: type[Exception], advice: str = "") -> Path:
    """``path`` when it is an existing regular file within the size limit of ``kind``.

    Parameters
    ----------
    path : path
        The file (links are followed: what matters is what they point to).
    kind : str
        A key of :data:`LIMITS`, also the word used in messages.
    error : exception class
        Raised, with a message naming the file and what to do.
    advice : str
        Appended to the message (e.g. how to get a good file).
    """
    path = Path(path)
    tail = f"; {advice}" if advice else ""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(f"{path}: {kind} not found{tail}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {kind} ({exc.strerror or exc}){tail}") from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{path}: is a folder, not a {kind}{tail}")
    if not stat.S_ISREG(info.st_mode):
        what = ("a named pipe" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode)
                or stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a file")
        raise error(f"{path}: is {what}, not a regular file; a {kind} must be a regular file{tail}")
    limit = LIMITS[kind]
    if info.st_size > limit:
        raise error(f"{path}: {_size(info.st_size)}, more than a {kind} can be ({_size(limit)}){tail}")
    return path


def read_bytes(path: str | Path, kind: str, error: type[Exception], advice: str = "") -> bytes:
    """The bytes of a regular file of ``kind``, reading at most its limit (a file that grows while it is
    read, or a special file that reports size 0, is refused rather than read without end)."""
    path = check_regular_file(path, kind, error, advice)
    limit = LIMITS[kind]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read the {kind} ({exc.strerror or exc})" + (f"; {advice}" if advice else "")) \
            from None
    if len(data) > limit:
        raise error(f"{path}: more than a {kind} can be ({_size(limit)})" + (f"; {advice}" if advice else ""))
    return data


def read_text(path: str | Path, kind: str, error: type[Exception], advice: str = "") -> str:
    """The UTF-8 text of a regular file of ``kind`` (see :func:`read_bytes`)."""
    data = read_bytes(path, kind, error, advice)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: the {kind} is not UTF-8 text ({exc.reason} at byte {exc.start})"
                    + (f"; {advice}" if advice else "")) from None


def describe_columns(columns, known) -> str:
    """The columns a file was found to hold, for a message, without echoing what it holds: names the
    tool knows (``known``, compared in lower case with spaces and dashes as ``_``) are shown, the
    others counted. A file that is not data (a key file, a password list) is never repeated back."""
    import re

    names = [str(c) for c in columns]
    shown = [n for n in names if re.sub(r"[^0-9a-z]+", "_", n.strip().lower()).strip("_") in known]
    others = len(names) - len(shown)
    parts = [", ".join(repr(n) for n in shown)] if shown else []
    if others:
        parts.append(f"{others} {'other ' if shown else ''}column{'s' if others > 1 else ''} with "
                     f"{'names' if others > 1 else 'a name'} the loader does not know")
    return f"found {' and '.join(parts) or 'no columns'}"
