"""Inference with a trained :class:`~lstm_strategies.model.VolatilityLSTM`: batched and streaming.

Both paths run :class:`~lstm_strategies.forecasters.streaming.RollingWindowLSTM`: one recurrent
step per bar, the same float32 operations in both, so they agree to 1e-6.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.checkpoint import ModelCard, load_checkpoint, pretrained_path
from lstm_strategies.errors import LeakageError
from lstm_strategies.features import FEATURE_NAMES, StreamingFeatures, compute_features, feature_lookback
from lstm_strategies.forecasters.base import Bar, Forecaster
from lstm_strategies.forecasters.streaming import RollingWindowLSTM
from lstm_strategies.model import VolatilityLSTM


def load_pretrained(name_or_path: str | Path) -> LSTMForecaster:
    """A ready :class:`LSTMForecaster` from a bundled name (``"btc-1h"``) or a checkpoint folder."""
    path = Path(name_or_path)
    if not (path / "model.json").exists():
        path = pretrained_path(str(name_or_path))
    model, card = load_checkpoint(path, expected_features=FEATURE_NAMES)
    return LSTMForecaster(model, card, path=str(path))


class LSTMForecaster(Forecaster):
    """Variance forecasts from a trained LSTM checkpoint.

    Batched (:meth:`predict_batch`) and streaming (:meth:`update`) inference both run
    :class:`~lstm_strategies.forecasters.streaming.RollingWindowLSTM` (one recurrent step per bar)
    and give bit-identical numbers; streaming features come from
    :class:`~lstm_strategies.features.StreamingFeatures`.
    """

    name = "lstm"

    def __init__(self, model: VolatilityLSTM, card: ModelCard, path: str = ""):
        super().__init__(card.horizon, card.timeframe, card.calendar)
        self.model = model.eval()
        self.card = card
        self.path = path
        self._rolling = RollingWindowLSTM(self.model, card.window)

    def get_params(self) -> dict:
        return {"path": self.path, "horizon": self.horizon, "timeframe": self.timeframe,
                "window": self.card.window}

    @property
    def window(self) -> int:
        return self.card.window

    @property
    def lookback(self) -> int:
        return feature_lookback(self.bars_in_day) + self.window - 1

    @property
    def train_end(self) -> pd.Timestamp | None:
        """Last bar whose target the model was trained on (None when unknown)."""
        return pd.Timestamp(self.card.train_end) if self.card.train_end else None

    def check_out_of_sample(self, first_forecast: pd.Timestamp, allow_in_sample: bool = False) -> bool:
        """Raise :class:`LeakageError` if forecasts from ``first_forecast`` on overlap training.

        Returns True when the run is in-sample (only possible with ``allow_in_sample``).
        """
        end = self.train_end
        if end is None or pd.Timestamp(first_forecast) > end:
            return False
        if allow_in_sample:
            return True
        start = self.card.train_start or "?"
        raise LeakageError(
            f"model {self.path or 'lstm'} was trained on {start} .. {end.date()}, and forecasts would be "
            f"made from {pd.Timestamp(first_forecast)} on: the dates {pd.Timestamp(first_forecast).date()} .. "
            f"{end.date()} are in-sample. Start the data (or the indicator's `start`) after {end.date()}, "
            "or pass allow_in_sample=True to mark the run in-sample.")

    def _features(self, df: pd.DataFrame) -> np.ndarray:
        hours = (df.index.hour + df.index.minute / 60.0).to_numpy(dtype="float64")
        cols = [df[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume")]
        return compute_features(*cols, hours, self.bars_in_day)

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Variance forecasts for each row of a feature matrix (NaN until a full valid window exists)."""
        return np.exp(self._rolling.run(features))

    def predict_batch(self, df: pd.DataFrame) -> np.ndarray:
        return self.predict_features(self._features(df))

    # -- streaming -------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._stream = StreamingFeatures(self.bars_in_day)
        self._rolling.reset()
        self._lookback = self.lookback
        self._count = 0

    def update(self, bar: Bar) -> float:
        if not hasattr(self, "_stream"):
            self.reset()
        ts = bar.timestamp
        row = self._stream.update(bar.open, bar.high, bar.low, bar.close, bar.volume,
                                  ts.hour + ts.minute / 60.0)
        log_var = self._rolling.update(row)
        self._count += 1
        if self._count < self._lookback:
            return float("nan")
        self.initialized = True
        return math.exp(log_var)
