"""A registry of classes by the ``name`` they declare (forecasters, strategies).

Defining a class with a ``name`` registers it; a second class claiming a name already taken by
another class is a :class:`~lstm_strategies.errors.ConfigError` (re-importing the same class is not).
"""

from __future__ import annotations

from lstm_strategies.errors import ConfigError


class Registry(dict):
    """A ``dict`` of ``name -> class`` that refuses two classes under one name.

    Parameters
    ----------
    kind : str
        What the classes are ("forecaster", "strategy"), for the error message.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, cls: type) -> type:
        """Record ``cls`` under ``cls.name`` and return it (usable as a class decorator)."""
        existing = self.get(cls.name)
        if existing is not None and (existing.__module__, existing.__qualname__) != (cls.__module__, cls.__qualname__):
            taken_by = f"{existing.__module__}.{existing.__qualname__}"
            raise ConfigError(f"{self.kind} name {cls.name!r} is taken by {taken_by}; "
                              f"give {cls.__qualname__} another name")
        self[cls.name] = cls
        return cls
