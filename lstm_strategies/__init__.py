"""lstm-strategies: LSTM volatility forecasts for Backtrader, with vol-targeting and hedging strategies."""

from __future__ import annotations

from lstm_strategies import _compat
from lstm_strategies._version import __version__

_compat.install()  # the import paths of 0.3.0 keep working for one release, with a DeprecationWarning

__all__ = ["__version__", "load_ohlcv", "load_pretrained"]


def __getattr__(name: str):
    # lazy: `import lstm_strategies` stays cheap (torch is imported only when a model is needed)
    if name == "load_pretrained":
        from lstm_strategies.models.lstm import load_pretrained

        return load_pretrained
    if name == "load_ohlcv":
        from lstm_strategies.data.load import load_ohlcv

        return load_ohlcv
    raise AttributeError(f"module 'lstm_strategies' has no attribute {name!r}")
