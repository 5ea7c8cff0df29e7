"""Atomic outputs: a file or a whole output folder appears complete or not at all.

* :func:`atomic_write` writes a file through a temporary sibling and ``os.replace``;
* :func:`output_folder` builds a run's folder as a temporary sibling and swaps it for the
  destination in one rename (``renameat2(RENAME_EXCHANGE)`` on Linux), so a killed run leaves the
  previous outputs whole, never a new ``returns.csv`` beside an old ``metrics.json``;
* :func:`check_destination` refuses an unusable destination (under a file, read-only, a name too
  long) before any work starts, and write errors (a full disk) become one :class:`OutputError`.

**Nothing the tool did not write is ever deleted or moved.** Every folder the tool fills carries a
marker file (:data:`MARKER`) that lists the files it wrote there (a run's report at the swap, and
every :func:`atomic_write` into a claimed folder as it happens). A destination is replaced (or
filled in place) only when it does not exist, is an empty folder or holds that marker, and it is
replaced only when everything in it is listed there: a notebook or notes put into an earlier output
are named in one :class:`OutputError` and the folder is left as it was. A file of the same name as
an output that the tool did not write is never overwritten in a claimed folder. A folder of other
files, the working folder, a folder above it, the home folder and ``/`` are refused. A destination
given as a symbolic link to a folder is resolved to that folder first (the link stays); a link to
nothing or to a file is refused before anything moves. Names from configs become folder names only
through :func:`safe_name` (no separators, no ``..``, no control characters, at most
:data:`NAME_MAX` characters) and :func:`child`, which checks that the path stays under its root.

Temporary names carry the writer's PID; leftovers of a killed writer are removed by the next one.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from lstm_strategies.core.errors import OutputError
from lstm_strategies.core.marker import (  # noqa: F401  (MARKER and the marker's readers, importable here)
    MARKER,
    _foreign_entries,
    _register,
    listed_files,
    read_marker,
    write_marker,
)

#: longest name a config may give to a run (a folder name; the file system allows 255 bytes)
NAME_MAX = 100


def _describe(exc: OSError, path: Path) -> OutputError:
    if isinstance(exc, OutputError):  # already says what went wrong
        return exc
    reason = {errno.ENOSPC: "the disk is full", errno.EACCES: "permission denied", errno.EROFS: "read-only file system",
              errno.ENOTDIR: "a part of the path is a file, not a folder",
              errno.ENAMETOOLONG: "a folder or file name in the path is too long (at most 255 bytes each)",
              }.get(exc.errno, exc.strerror or str(exc))
    return OutputError(f"cannot write {path}: {reason}; nothing was left half-written")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a folder name of an output (None when it can)."""
    if not isinstance(name, str) or not name.strip():
        return "must be a non-empty text"
    if len(name) > NAME_MAX:
        return f"is {len(name)} characters long; use at most {NAME_MAX}"
    bad = sorted({c for c in name if c in "/\\" or ord(c) < 32 or ord(c) == 127})
    if bad:
        return f"contains {', '.join(repr(c) for c in bad)}: a name becomes a folder name, so no path separators " \
               "or control characters"
    if name.startswith(".") or name != name.strip():
        return "must not start with '.' (hidden or parent folders) or with/end in spaces"
    return None


def safe_name(name: object, what: str = "name") -> str:
    """``name`` as a folder name, or :class:`OutputError` saying what to change."""
    problem = name_problem(name)
    if problem:
        raise OutputError(f"{what} {name!r} {problem}")
    return str(name)


def child(root: str | Path, name: object, what: str = "name") -> Path:
    """``root / name`` for a name checked by :func:`safe_name`, verified to stay under ``root``."""
    root = Path(root)
    path = root / safe_name(name, what)
    if not path.absolute().resolve().is_relative_to(root.absolute().resolve()):  # pragma: no cover  (a link)
        raise OutputError(f"{what} {name!r} would write outside {root}")
    return path


def _protected(out: Path) -> str | None:
    """Why ``out`` must never be replaced wholesale: the root, the home folder or the working folder
    (or a folder above them)."""
    resolved = out.resolve()
    if resolved == Path(resolved.anchor):
        return "it is the root of the file system"
    for label, place in (("the working folder", Path.cwd()), ("your home folder", Path.home())):
        place = place.resolve()
        if place == resolved:
            return f"it is {label}"
        if place.is_relative_to(resolved):
            return f"it holds {label}"
    return None


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def check_owned(out: Path) -> None:
    """Refuse to replace ``out`` unless it is new, empty, or an output of this tool holding only the
    files its marker lists."""
    why = _protected(out)
    if why:
        raise OutputError(f"refusing to write the outputs to {out}: {why}, and an output folder is replaced "
                          "whole; pass a new folder, e.g. --out backtests/output/NAME")
    foreign = _foreign_entries(out)
    if not foreign:
        return
    marker = read_marker(out)
    if marker is None:
        raise OutputError(f"refusing to write the outputs to {out}: it holds files lstm-strategies did not "
                          f"write ({_shown(foreign)}) and an output folder is replaced whole; pass a new or empty "
                          f"folder; nothing was changed")
    if listed_files(out) is None:
        raise OutputError(f"refusing to write the outputs to {out}: its {MARKER} marker lists no files (written "
                          "by an lstm-strategies before 0.4.0, or edited), so files lstm-strategies did not write "
                          f"cannot be told apart ({_shown(foreign)}); delete the folder yourself if you no longer "
                          "need it, or pass another --out; nothing was changed")
    raise OutputError(f"refusing to replace {out}: it holds files lstm-strategies did not write ("
                      f"{_shown(foreign)}) beside an earlier output, and the next output replaces the folder; move "
                      "them out of it or pass another --out; nothing was changed")


def claim_folder(out: str | Path, kind: str) -> Path:
    """A folder the tool fills in place (sweeps, evaluations, checkpoints): checked as
    :func:`check_destination` does, created, and marked; a folder of other files is refused. Files
    the user added to an earlier output stay (nothing is deleted in place); each file written with
    :func:`atomic_write` is added to the marker's list, and one of the same name that the tool did
    not write is refused, never overwritten."""
    out = check_destination(out, replace=False)
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not (out / MARKER).exists():
            write_marker(out, kind, files=[])
    except OSError as exc:
        raise _describe(exc, out) from None
    return out


def atomic_write(path: str | Path, write: Callable[[str], object]) -> Path:
    """Call ``write(tmp_path)`` and rename the result to ``path`` (mode 0644).

    In a folder whose marker lists the tool's files (:func:`claim_folder`), an existing ``path`` the
    list does not hold is refused (it is the user's), and a new one is added to the list.
    """
    path = Path(path)
    listed = listed_files(path.parent) if path.name != MARKER else None
    if listed is not None and path.name not in listed and (path.exists() or path.is_symlink()):
        raise OutputError(f"refusing to overwrite {path}: lstm-strategies did not write it (it is not listed in "
                          f"{path.parent / MARKER}); move it away or write to another folder; nothing was changed")
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
    if listed is not None and path.name not in listed:
        try:
            _register(path)
        except OSError as exc:
            raise OutputError(f"wrote {path}, but cannot add it to {path.parent / MARKER} ({exc.strerror or exc}); "
                              "a later run into this folder will take it for a file of yours") from None
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
    """Remove the leftovers of writers of ``stem`` that are no longer running.

    Only names this module gives its temporaries match: ``.{stem}.<pid>.<8 random characters>.tmp``
    (``tempfile``'s) or ``.{stem}.<pid>.old.tmp``; ``stem`` is taken literally (a name with ``*`` or
    ``[`` matches nothing else), so no file of the user's beside the output is ever removed.
    """
    if not folder.is_dir():
        return
    ours = re.compile(rf"\.{re.escape(stem)}\.(\d+)\.(?:[a-z0-9_]{{8}}|old)\.tmp")
    for leftover in folder.iterdir():
        match = ours.fullmatch(leftover.name)
        if match and not leftover.is_symlink() and not _pid_alive(int(match.group(1))):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def _resolve_link(out: Path) -> Path:
    """``out`` itself when it is no symbolic link; the folder it points to when it is one (the link stays)."""
    if not out.is_symlink():
        return out
    target = Path(os.path.realpath(out))
    if not target.exists():
        raise OutputError(f"refusing to write the outputs to {out}: it is a symbolic link to {target}, which does "
                          "not exist; create that folder, or pass a folder rather than a link; nothing was changed")
    if not target.is_dir():
        raise OutputError(f"refusing to write the outputs to {out}: it is a symbolic link to the file {target}, not "
                          "a folder; pass a folder; nothing was changed")
    return target


def check_destination(out: str | Path, replace: bool = True) -> Path:
    """Make sure ``out`` can be written (its parents created) and may be replaced before any work starts.

    Refused: a path under a file, an unwritable or over-long path, a link to nothing, and a
    destination the tool did not write (see :func:`check_owned`; with ``replace=False``, for a folder
    filled in place, a marked folder may hold the user's files too). A symbolic link to a folder
    is resolved: the returned path is that folder.
    """
    out = Path(out).expanduser().absolute()
    try:
        out = _resolve_link(out)
        for parent in [out, *out.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise OutputError(f"cannot write {out}: {parent} is a file, not a folder")
                break
        if replace or read_marker(out) is None:
            check_owned(out)
        else:
            why = _protected(out)
            if why:
                raise OutputError(f"refusing to write the outputs to {out}: {why}; pass a new folder, e.g. --out "
                                  "backtests/output/NAME")
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


def _swap(tmp: Path, out: Path) -> None:
    """Put the finished folder ``tmp`` at ``out``; the previous ``out`` (all of it the tool's, checked
    just before) is removed. On a failure ``out`` is as it was."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"cannot write {out}: it became a link or a file while the run worked; nothing was changed")
    if not out.exists():
        os.rename(tmp, out)
        return
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous outputs
        return
    old = out.parent / f".{out.name}.{os.getpid()}.old.tmp"
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)  # the previous outputs go back where they were
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def output_folder(out: str | Path, kind: str = "report") -> Iterator[Path]:
    """Yield a temporary sibling of ``out`` to fill; on success it replaces ``out`` in one rename.

    ``out`` must be new, empty or an earlier output of this tool holding only the files its marker
    lists (:func:`check_owned`); the new folder carries the marker, listing every file in it. A
    symbolic link to a folder writes into that folder (the link stays). On an error (or a kill) the
    destination keeps its previous content and the temporary folder is removed (by this call, or
    by the next writer for a kill).
    """
    out = check_destination(out)
    remove_stale_temporaries(out.parent, out.name)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.{os.getpid()}.", suffix=".tmp"))
    try:
        yield tmp
        write_marker(tmp, kind)
        check_owned(out)  # again at the swap: nothing foreign appeared there while the run worked
        os.chmod(tmp, 0o755)
        _swap(tmp, out)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _describe(exc, out) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
