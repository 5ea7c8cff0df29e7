"""The ``lstm-strategies`` command (thin commands over the API and the research layer)."""

from lstm_strategies.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
