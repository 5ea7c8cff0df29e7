"""The marker of an output folder: which tool wrote it, when, and which files (used by :mod:`.atomic`).

``.lstm-strategies-output`` is JSON: ``written_by``, ``version``, ``kind``, ``time`` and ``files``, the
relative paths of every file the tool wrote into the folder. Markers written before 0.4.0 have no
``files``: their folders may be filled in place but not replaced (what in them is the user's cannot
be told).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

#: the file that marks a folder as written by this tool (and so replaceable by it)
MARKER = ".lstm-strategies-output"
#: names of :mod:`.atomic`'s temporaries: ``.<name>.<writer's PID>.<tempfile's 8 characters, or old>.tmp``
_TEMPORARY = re.compile(r"\.(?P<stem>.+)\.(\d+)\.(?:[a-z0-9_]{8}|old)\.tmp(?:check)?")


def _temporary_of(name: str, stems: set[str]) -> bool:
    """Whether ``name`` is a temporary of one of the outputs ``stems`` (the marker's, or a listed file)."""
    match = _TEMPORARY.fullmatch(name)
    return bool(match) and match.group("stem") in stems


def read_marker(folder: str | Path) -> dict | None:
    """The marker of an output folder (None: no marker; ``{}``: a marker that is not this version's JSON)."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def listed_files(folder: str | Path) -> set[str] | None:
    """The files the marker of ``folder`` says the tool wrote (relative paths); None without a list
    (no marker, or one written before 0.4.0)."""
    marker = read_marker(folder)
    files = None if marker is None else marker.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def _written_files(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative paths; links count as files), the top marker and this
    module's temporaries aside."""
    found = []
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        found += [(base / name).as_posix() for name in [*files, *(d for d in dirs if (Path(root) / d).is_symlink())]
                  if not _TEMPORARY.fullmatch(name) and (base / name).as_posix() != MARKER]
    return sorted(found)


def _foreign_entries(out: Path) -> list[str]:
    """What an existing folder holds that this tool did not write (empty when it may be replaced).

    A folder without a marker: all its entries. A marked folder: every file the marker does not list
    (a folder none of whose files are listed is named as the folder)."""
    if not out.is_dir():
        return []
    entries = sorted(p.name for p in out.iterdir())
    if MARKER not in entries:
        return entries
    listed = listed_files(out)
    if listed is None:
        return [e for e in entries if e != MARKER]
    return _unlisted(out, listed)


def _ancestors(listed: set[str]) -> set[str]:
    """Every folder (relative path) that holds a listed file, at any depth."""
    folders = set()
    for f in listed:
        parts = f.split("/")[:-1]
        folders |= {"/".join(parts[:k]) for k in range(1, len(parts) + 1)}
    return folders


def _unlisted(out: Path, listed: set[str]) -> list[str]:
    """The files under ``out`` that ``listed`` does not hold (folders without a listed file: the folder)."""
    folders, foreign = _ancestors(listed), []
    for root, dirs, files in os.walk(out):
        base = Path(root).relative_to(out)
        depth = len(base.parts)
        stems = {MARKER} | {f.split("/")[depth] for f in listed if f.split("/")[:depth] == list(base.parts)
                            and f.count("/") >= depth}
        for d in list(dirs):
            rel, link = (base / d).as_posix(), (Path(root) / d).is_symlink()
            if link or rel not in folders:
                dirs.remove(d)  # nothing listed below it: named as a whole, not walked
                if rel not in listed and not _temporary_of(d, stems):
                    foreign.append(rel if link else rel + "/")
        foreign += [rel for f in files if (rel := (base / f).as_posix()) not in listed and rel != MARKER
                    and not _temporary_of(f, stems)]
    return sorted(foreign)


def write_marker(folder: Path, kind: str, files: list[str] | None = None) -> None:
    """Mark ``folder`` as an output of this tool (what wrote it, when, which version, which files:
    ``files``, by default every file now under it)."""
    import json
    import time

    from lstm_strategies._version import __version__

    text = json.dumps({"written_by": "lstm-strategies", "version": __version__, "kind": kind,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "files": _written_files(folder) if files is None else sorted(files)}, indent=1)
    (folder / MARKER).write_text(text + "\n")


def _register(path: Path) -> None:
    """Add ``path`` to its folder's marker list (a claimed folder; a marker without a list is left alone)."""
    import json

    marker = read_marker(path.parent)
    files = None if marker is None else marker.get("files")
    if not isinstance(files, list) or path.name in files:
        return
    marker["files"] = sorted({*files, path.name})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{MARKER}.{os.getpid()}.", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(marker, indent=1) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path.parent / MARKER)


