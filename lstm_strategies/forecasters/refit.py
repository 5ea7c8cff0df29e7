"""Expanding-window refits on a calendar schedule, shared by HAR and GARCH.

A model refit at bar ``k`` uses only rows whose target was fully observed at the close of bar
``k``; its parameters then forecast bars ``k .. next refit - 1``. The batched and the streaming
paths call the same schedule and the same fit, so they agree.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import pandas as pd

from lstm_strategies.forecasters.base import Bar, Forecaster, rows_to_frame


def refit_points(timestamps: np.ndarray, min_train: pd.Timedelta, every: pd.Timedelta) -> list[int]:
    """Bar indices at which to refit: first after ``min_train``, then every ``every``."""
    if len(timestamps) == 0:
        return []
    points: list[int] = []
    due = timestamps[0] + min_train.value
    while True:
        k = int(np.searchsorted(timestamps, due, side="left"))
        if k >= len(timestamps):
            return points
        points.append(k)
        due = timestamps[k] + every.value


class ExpandingRefitForecaster(Forecaster):
    """A forecaster refit on an expanding window every ``refit_every_days`` days."""

    def __init__(self, horizon: str = "1D", timeframe: str | None = None, calendar: str = "crypto",
                 min_train_days: int = 180, refit_every_days: int = 30):
        super().__init__(horizon, timeframe, calendar)
        self.min_train_days = min_train_days
        self.refit_every_days = refit_every_days

    def get_params(self) -> dict:
        return {**super().get_params(), "min_train_days": self.min_train_days,
                "refit_every_days": self.refit_every_days}

    @property
    def _min_train(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.min_train_days)

    @property
    def _every(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.refit_every_days)

    @abstractmethod
    def _fit_at(self, df: pd.DataFrame, k: int):
        """Parameters fitted with what is known at the close of bar ``k`` of ``df``."""

    @abstractmethod
    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        """Forecasts for ``rows`` of ``df`` with fixed ``params``."""

    def predict_batch(self, df: pd.DataFrame) -> np.ndarray:
        ts = df.index.asi8
        out = np.full(len(df), np.nan)
        points = refit_points(ts, self._min_train, self._every)
        for j, k in enumerate(points):
            end = points[j + 1] if j + 1 < len(points) else len(df)
            params = self._fit_at(df.iloc[:end], k)
            if params is not None:
                out[k:end] = self._predict_rows(df.iloc[:end], params, slice(k, end))
        return out

    # streaming: the history grows; refit when the schedule says so
    def reset(self) -> None:
        super().reset()
        self._rows: list[tuple] = []
        self._params = None
        self._next_due: int | None = None

    def _history(self) -> pd.DataFrame:
        return rows_to_frame(self._rows, self.timeframe)

    def update(self, bar: Bar) -> float:
        if not hasattr(self, "_rows"):
            self.reset()
        self._rows.append((bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume))
        ts = pd.Timestamp(bar.timestamp).value
        if self._next_due is None:
            self._next_due = ts + self._min_train.value
        if ts >= self._next_due:
            history = self._history()
            self._params = self._fit_at(history, len(history) - 1)
            self._next_due = ts + self._every.value
        if self._params is None:
            self._observe_bar()
            return float("nan")
        self.initialized = True
        return float(self._predict_last(self._params))

    def _observe_bar(self) -> None:
        """Hook for streaming state that must see every bar, even before the first fit."""

    def _predict_last(self, params) -> float:
        """Forecast for the newest streamed bar (default: rebuild the history; override to be fast)."""
        history = self._history()
        n = len(history)
        return self._predict_rows(history, params, slice(n - 1, n))[-1]
