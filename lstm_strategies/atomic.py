"""Atomic outputs: a file or a whole output folder appears complete or not at all.

* :func:`atomic_write` writes a file through a temporary sibling and ``os.replace``;
* :func:`output_folder` builds a run's folder as a temporary sibling and swaps it for the
  destination in one rename (``renameat2(RENAME_EXCHANGE)`` on Linux), so a killed run leaves the
  previous outputs whole, never a new ``returns.csv`` beside an old ``metrics.json``;
* :func:`check_destination` refuses an unusable destination (under a file, read-only) before any
  work starts, and write errors (a full disk) become one :class:`OutputError`.

Temporary names carry the writer's PID; leftovers of a killed writer are removed by the next one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from lstm_strategies.errors import OutputError


def _describe(exc: OSError, path: Path) -> OutputError:
    reason = {errno.ENOSPC: "the disk is full", errno.EACCES: "permission denied", errno.EROFS: "read-only file system",
              errno.ENOTDIR: "a part of the path is a file, not a folder"}.get(exc.errno, exc.strerror or str(exc))
    return OutputError(f"cannot write {path}: {reason}; nothing was left half-written")


def atomic_write(path: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path`` (mode 0644)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise _describe(exc, path) from None
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _describe(exc, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path, stem: str) -> None:
    """Remove ``.{stem}.<pid>.*`` leftovers of writers that are no longer running."""
    if not folder.is_dir():
        return
    for leftover in folder.glob(f".{stem}.*.tmp*"):
        parts = leftover.name[len(stem) + 2:].split(".")
        if parts and parts[0].isdigit() and not _pid_alive(int(parts[0])):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def check_destination(out: str | Path) -> Path:
    """Make sure ``out`` can be written (its parents created) before any work starts."""
    out = Path(out).absolute()
    for parent in [out, *out.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"cannot write {out}: {parent} is a file, not a folder")
            break
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{os.getpid()}.", suffix=".tmpcheck")
        os.rmdir(probe)
    except OSError as exc:
        raise _describe(exc, out) from None
    return out


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0


@contextlib.contextmanager
def output_folder(out: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``out`` to fill; on success it replaces ``out`` in one rename.

    On an error (or a kill) the destination keeps its previous content and the temporary folder
    is removed (by this call, or by the next writer for a kill).
    """
    out = check_destination(out)
    remove_stale_temporaries(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp"))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out.exists() and out.is_dir() and _exchange(tmp, out):
            shutil.rmtree(tmp)          # tmp now holds the previous outputs
        else:
            if out.exists():
                old = out.parent / f".{out.name}.{os.getpid()}.old.tmp"
                os.rename(out, old)
                os.rename(tmp, out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _describe(exc, out) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
