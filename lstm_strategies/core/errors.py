"""Exceptions raised by lstm-strategies.

Every error a user can cause (a bad file, a bad config, a mismatched model) is one of these,
with a message that names the file, row or key and says what to do.
"""

from __future__ import annotations


class LSTMStrategiesError(Exception):
    """Base class of every error raised on purpose by this package."""


class DataError(LSTMStrategiesError, ValueError):
    """An OHLCV input is malformed: which file, which row/column, and what to do."""


class ShortHistoryError(DataError):
    """A history too short for a training split (too few training or validation windows)."""


class CheckpointError(LSTMStrategiesError, ValueError):
    """A model checkpoint is missing, truncated, tampered with or does not match the caller."""


class ConfigError(LSTMStrategiesError, ValueError):
    """A backtest or sweep configuration is invalid; the message names the key."""


class LeakageError(LSTMStrategiesError, ValueError):
    """A pretrained model would be scored on dates it was trained on."""


class NotFittedError(LSTMStrategiesError, RuntimeError):
    """A forecaster was asked to forecast before :meth:`fit` (or :meth:`bind`) told it the bar size."""


class ForecastError(LSTMStrategiesError, ValueError):
    """A forecaster produced forecasts that cannot be scored or used (infinite, non-positive, none at all)."""


class BacktestError(LSTMStrategiesError, RuntimeError):
    """A run did not do what its config asked (e.g. the broker rejected orders)."""


class OutputError(LSTMStrategiesError, OSError):
    """An output cannot be written (a read-only folder, a path under a file, a full disk)."""


class ReportError(LSTMStrategiesError, ValueError):
    """A run's report cannot be made as declared (a declared metric the strategy does not compute)."""
