"""The ``lstm-strategies`` command (thin commands over the API and the research layer): :mod:`lstm_strategies.cli.app`.

``lstm_strategies.cli.main`` and ``build_parser`` (0.3.0's ``lstm_strategies.cli:main``) resolve here until
0.5.0 with a DeprecationWarning; the console script is ``lstm_strategies.cli.app:main``.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name in ("main", "build_parser"):
        import importlib
        import warnings

        warnings.warn(f"lstm_strategies.cli.{name} moved to lstm_strategies.cli.app.{name} in 0.4.0; the old path "
                      "works until 0.5.0", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("lstm_strategies.cli.app"), name)
    raise AttributeError(f"module 'lstm_strategies.cli' has no attribute {name!r}")
