"""Registries of classes by the ``name`` they declare (forecasters, strategies), filled by the classes.

A registry lives below the classes that fill it: defining a class with a ``name`` registers it
(its base class calls :meth:`Registry.register`), so the registry imports none of them. Which modules
hold the built-in classes is a list of module names the registry imports the first time a name is
looked up; plugins (:mod:`lstm_strategies.core.plugins`) join the same way, by being imported.
A second class claiming a name already taken by another class is a
:class:`~lstm_strategies.core.errors.ConfigError` (re-importing the same class is not).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from lstm_strategies.core.errors import ConfigError

#: the entry-point group of installed plugins (``[project.entry-points."lstm_strategies.plugins"]``)
ENTRY_POINT_GROUP = "lstm_strategies.plugins"
_ENTRY_POINTS_LOADED = False

#: what an unknown name's error says about adding one
HOW_TO_REGISTER = ("to add one, define a subclass of {base} with name = {name!r} in a module and load it: "
                   "--plugin MODULE on the command line, [plugins] modules = [\"MODULE\"] in a config, "
                   "an entry point in the 'lstm_strategies.plugins' group of an installed package, or import "
                   "it before running (README: Write your own)")


class Registry(Mapping):
    """A read-only mapping ``name -> class`` that refuses two classes under one name.

    Parameters
    ----------
    kind : str
        What the classes are ("forecaster", "strategy"), for messages.
    base : str
        The class to subclass, for the unknown-name message.
    builtins : tuple of str
        Modules defining the built-in classes, imported on the first lookup (and the installed plugins'
        entry points with them).
    """

    def __init__(self, kind: str, base: str = "", builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.base = base or kind
        self.builtins = builtins
        self._classes: dict[str, type] = {}
        self._loaded = False

    # -- filling -----------------------------------------------------------------------------
    def register(self, cls: type) -> type:
        """Record ``cls`` under ``cls.name`` and return it (usable as a class decorator)."""
        existing = self._classes.get(cls.name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            taken_by = f"{existing.__module__}.{existing.__qualname__}"
            raise ConfigError(f"{self.kind} name {cls.name!r} is taken by {taken_by}; "
                              f"give {cls.__qualname__} another name")
        self._classes[cls.name] = cls
        return cls

    def unregister(self, name: str, default=None):
        """Remove and return the class under ``name`` (a test's or notebook's cleanup)."""
        return self._classes.pop(name, default)

    pop = unregister

    def load(self, plugins: bool = True) -> None:
        """Import the built-in modules (once) and, with ``plugins``, the installed plugins' entry points (once).

        Entry points load only when a name is not among the built-ins, or when every name is listed: a lookup of a
        built-in name while the package is still being imported (the indicators' declarations) imports no plugin,
        which could otherwise import a half-initialised package.
        """
        if not self._loaded:
            self._loaded = True  # first: a module imported here may look a name up while it loads
            for module in self.builtins:
                importlib.import_module(module)
        if plugins:
            load_entry_points()

    # -- reading -----------------------------------------------------------------------------
    def __getitem__(self, name: str) -> type:
        self.load(plugins=False)
        if name not in self._classes:
            self.load()
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(list(self._classes))

    def __len__(self) -> int:
        self.load()
        return len(self._classes)

    def __contains__(self, name: object) -> bool:
        self.load(plugins=False)
        if name not in self._classes:
            self.load()
        return name in self._classes

    def resolve(self, name: str) -> type:
        """The class registered under ``name``; an unknown name is a :class:`ConfigError` saying how to add one."""
        if isinstance(name, str) and name in self:
            return self._classes[name]
        raise ConfigError(f"{self.kind} {name!r} is unknown; choose one of {sorted(self)}; "
                          + HOW_TO_REGISTER.format(base=self.base, name=name))

    def names(self, **where) -> list[str]:
        """Registered names, those whose class attributes equal ``where`` (``kind="model"``) only."""
        return sorted(n for n, c in self.items() if all(getattr(c, k, None) == v for k, v in where.items()
                                                         if v is not None))


def describe_failure(exc: BaseException) -> str:
    """One line for an exception raised by a plugin's code: its type, message and innermost file and line."""
    tb = exc.__traceback__
    where = ""
    while tb is not None:
        where = f" ({tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {exc}{where}"


def load_entry_points() -> None:
    """Import every module of the ``lstm_strategies.plugins`` entry-point group (once)."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            dist = getattr(getattr(ep, "dist", None), "name", "?")
            raise ConfigError(f"plugin entry point {ep.name!r} ({ep.value}, from the installed package {dist}) "
                              f"failed to load: {describe_failure(exc)}; fix or uninstall that package") from None
