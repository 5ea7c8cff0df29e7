"""Plugins: modules that add forecasters and strategies by being imported.

A class joins a registry when it is defined (see :mod:`lstm_strategies.core.registry`), so a plugin is
just a module to import before names are resolved. Three ways to name one, as pytest and Ray load theirs:

* an **entry point** in the ``lstm_strategies.plugins`` group of an installed package
  (``[project.entry-points."lstm_strategies.plugins"] my_ext = "my_ext"``): loaded with the built-ins,
  the first time any name is looked up;
* ``--plugin MODULE`` on any command (a module name on ``sys.path`` or a path to a ``.py`` file);
* ``[plugins] modules = ["MODULE", ...]`` in a config (paths relative to the config file).

:func:`loaded_plugins` lists what was loaded by name or path, so that sweeps hand the same list to every
worker, local or Ray, which load them before they resolve a name (:func:`load_plugins` is idempotent).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.core.registry import ENTRY_POINT_GROUP, describe_failure, load_entry_points  # noqa: F401

_LOADED: dict[str, ModuleType] = {}   # spec as given (absolute for files) -> module


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or "\\" in spec


def plugin_spec(spec: str, relative_to: str | Path | None = None) -> str:
    """The canonical form of a plugin spec: a module name as given, a file path made absolute
    (relative to ``relative_to``, a config's folder, when given)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"plugin {spec!r}: give a module name (my_ext) or a path to a .py file")
    spec = spec.strip()
    if not _is_path(spec):
        return spec
    path = Path(spec).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = Path(relative_to) / path
    return str(path.resolve())


def _import_file(path: str) -> ModuleType:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"plugin {path}: no such file; give an existing .py file or an importable module name")
    name = file.stem
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) and Path(existing.__file__).resolve() == file:
        return existing
    if existing is not None:
        raise ConfigError(f"plugin {path}: a module named {name!r} is already imported from "
                          f"{getattr(existing, '__file__', '?')}; rename the file")
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ConfigError(f"plugin {path} failed to import: {describe_failure(exc)}") from None
    return module


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ConfigError(f"plugin {name!r}: no module of that name on sys.path; give an importable module "
                              "name, or a path to a .py file (./my_ext.py)") from None
        raise ConfigError(f"plugin {name!r} failed to import: {describe_failure(exc)}") from None
    except Exception as exc:
        raise ConfigError(f"plugin {name!r} failed to import: {describe_failure(exc)}") from None


def load_plugins(specs: Iterable[str], relative_to: str | Path | None = None) -> list[ModuleType]:
    """Import each plugin (module names or ``.py`` paths) once; an unknown or failing one is a :class:`ConfigError`."""
    modules = []
    for raw in specs or ():
        spec = plugin_spec(raw, relative_to)
        module = _LOADED.get(spec)
        if module is None:
            module = _import_file(spec) if _is_path(spec) else _import_module(spec)
            _LOADED[spec] = module
        modules.append(module)
    return modules


def loaded_plugins() -> tuple[str, ...]:
    """The plugins loaded by name or path so far, in order (what a worker must load too)."""
    return tuple(_LOADED)
