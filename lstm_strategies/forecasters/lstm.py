"""Inference with a trained :class:`~lstm_strategies.model.VolatilityLSTM`: batched and streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from lstm_strategies.checkpoint import ModelCard, load_checkpoint, pretrained_path
from lstm_strategies.errors import LeakageError
from lstm_strategies.features import FEATURE_NAMES, StreamingFeatures, compute_features, feature_lookback
from lstm_strategies.forecasters.base import Bar, Forecaster
from lstm_strategies.model import VolatilityLSTM

BATCH = 8192


def load_pretrained(name_or_path: str | Path) -> LSTMForecaster:
    """A ready :class:`LSTMForecaster` from a bundled name (``"btc-1h"``) or a checkpoint folder."""
    path = Path(name_or_path)
    if not (path / "model.json").exists():
        path = pretrained_path(str(name_or_path))
    model, card = load_checkpoint(path, expected_features=FEATURE_NAMES)
    return LSTMForecaster(model, card, path=str(path))


class LSTMForecaster(Forecaster):
    """Variance forecasts from a trained LSTM checkpoint.

    Batched inference builds every window once and runs the network in chunks; streaming keeps a
    ring buffer of the last :attr:`lookback` bars and runs one window per bar (1 torch thread is
    fastest for that).
    """

    name = "lstm"

    def __init__(self, model: VolatilityLSTM, card: ModelCard, path: str = ""):
        super().__init__(card.horizon, card.timeframe, card.calendar)
        self.model = model.eval()
        self.card = card
        self.path = path

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
        """Variance forecasts for each row of a feature matrix (NaN until a full window exists)."""
        n, w = len(features), self.window
        out = np.full(n, np.nan)
        valid = np.isfinite(features).all(axis=1)
        # a window is usable when all of its rows are valid
        run = np.convolve(valid.astype(int), np.ones(w, dtype=int), mode="full")[:n] == w
        ends = np.flatnonzero(run)
        if ends.size == 0:
            return out
        x = torch.from_numpy(np.nan_to_num(features).astype(np.float32))
        windows = x.unfold(0, w, 1).permute(0, 2, 1)  # (n - w + 1, w, features), a view
        with torch.inference_mode():
            for lo in range(0, ends.size, BATCH):
                idx = torch.from_numpy(ends[lo: lo + BATCH] - (w - 1))
                out[ends[lo: lo + BATCH]] = torch.exp(self.model(windows[idx])).double().numpy()
        return out

    def predict_batch(self, df: pd.DataFrame) -> np.ndarray:
        return self.predict_features(self._features(df))

    # -- streaming -------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._stream = StreamingFeatures(self.bars_in_day)
        self._window = np.full((self.window, len(FEATURE_NAMES)), np.nan, dtype=np.float32)
        self._x = torch.from_numpy(self._window).unsqueeze(0)  # shares memory with _window
        self._count = 0

    def update(self, bar: Bar) -> float:
        if not hasattr(self, "_stream"):
            self.reset()
        ts = bar.timestamp
        row = self._stream.update(bar.open, bar.high, bar.low, bar.close, bar.volume,
                                  ts.hour + ts.minute / 60.0)
        self._window[:-1] = self._window[1:]
        self._window[-1] = row
        self._count += 1
        if self._count < self.lookback:
            return float("nan")
        self.initialized = True
        with torch.inference_mode():
            return float(torch.exp(self.model(self._x)).item())
