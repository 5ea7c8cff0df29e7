"""The package version (a module of its own, so that any module may import it without a cycle)."""

__version__ = "0.4.0"
