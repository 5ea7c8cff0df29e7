"""Refits on a calendar schedule, shared by HAR and GARCH: expanding (0.3.0), rolling or exponentially
weighted estimation windows.

A model refit at bar ``k`` uses only rows whose targets were fully observed at the close of bar
``k``; its parameters then forecast bars ``k .. next refit - 1``. The batched and the streaming
paths call the same schedule and the same fit, so they agree.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count
from lstm_strategies.forecasters.base import BarHistory, Forecaster
from lstm_strategies.forecasters.level import (
    WINDOWS,
    LevelMinDays,
    LevelMode,
    LevelShrink,
    LevelWindowDays,
    WindowDays,
    check_window,
    row_weights,
    set_level,
)


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
    """A forecaster refit every ``refit_every_days`` days on an estimation window (expanding by default;
    the name is 0.3.0's).

    :meth:`advance` takes a bar in and refits when due (or, with ``defer_fit``, when the next
    forecast is read); :meth:`step` also forecasts.

    Parameters
    ----------
    min_train_days : int
        Days of history before the first fit (>= 1).
    refit_every_days : int
        Days between refits (>= 1).
    window : {"expanding", "rolling", "ew"}
        Estimation window: every known row (0.3.0), the rows whose target ended within the last
        ``window_days`` days, or weights ``0.5 ** (age / window_days)`` by the days from a row's target end
        to the refit (weighted least squares; GARCH takes expanding or rolling only).
    window_days : float, optional
        The rolling window's length or the EW half-life, in days (required unless expanding).
    level_correction : {"off", "own", "h1"}
        The causal level correction (:mod:`~lstm_strategies.forecasters.level`): off (0.3.0), each horizon
        by its own completed windows, or every horizon by the 1-day horizon's.
    level_window_days, level_shrink, level_min_days : float
        The correction's window (days), power (1: full) and warm-up (days of completed windows).
    """

    refits = True
    #: the estimation windows the class can fit
    windows = WINDOWS

    def __init__(self, min_train_days: Count = 180, refit_every_days: Count = 30, *, window: str = "expanding",
                 window_days: WindowDays = None, level_correction: LevelMode = "off",
                 level_window_days: LevelWindowDays = 180, level_shrink: LevelShrink = 1.0,
                 level_min_days: LevelMinDays = 30, calendar: str = "crypto", horizons=None,
                 timeframe: str | None = None):
        owner = type(self).__name__
        self.min_train_days, self.refit_every_days = min_train_days, refit_every_days
        self._window_days = check_window(owner, window, window_days, self.windows)
        self.window, self.window_days = window, window_days
        set_level(self, level_correction, level_window_days, level_shrink, level_min_days)
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    def row_weights(self, ts: np.ndarray, ends: np.ndarray, k: int) -> np.ndarray | None:
        """Weights ``(rows, H)`` of fit rows whose targets are known at bar ``ends`` for a refit at bar ``k``
        (None: the expanding window, unweighted). Rows not known at ``k`` get the weight of bar ``k``'s
        end: the caller masks them."""
        if self.window == "expanding":
            return None
        end_ts = ts[np.minimum(ends, k)]
        return np.column_stack([row_weights(end_ts[:, j], int(ts[k]), self.window, self._window_days)
                                for j in range(end_ts.shape[1])])

    @property
    def warmup_bars(self) -> int:
        first_fit = int(self.cal.trading_days(self.min_train_days) * self.bars_in_day)  # calendar days -> bars
        return max(self.lookback, first_fit + 1)

    @property
    def _min_train(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.min_train_days)

    @property
    def _every(self) -> pd.Timedelta:
        return pd.Timedelta(days=self.refit_every_days)

    @abstractmethod
    def _fit_at(self, df: pd.DataFrame, k: int):
        """Parameters fitted with what is known at the close of bar ``k`` of ``df`` (None: too little)."""

    @abstractmethod
    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        """``(rows, H)`` forecasts for ``rows`` of ``df`` with fixed ``params``."""

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        ts = df.index.asi8
        out = np.full((len(df), len(self.horizons)), np.nan)
        points = refit_points(ts, self._min_train, self._every)
        for j, k in enumerate(points):
            end = points[j + 1] if j + 1 < len(points) else len(df)
            if end <= first:
                continue  # a segment entirely before `first`: not asked for
            params = self._fit_at(df.iloc[:end], k)
            if params is not None:
                out[k:end] = self._predict_rows(df.iloc[:end], params, slice(k, end))
        return out

    # streaming: the history grows; refit when the schedule says so
    def _reset(self) -> None:
        self._rows = BarHistory()
        self._params = None
        self._next_due: int | None = None
        self._deferred_fit: int | None = None

    def _history(self) -> pd.DataFrame:
        return self._rows.frame(self.timeframe)

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        quiet = self.quiet_until is not None and ts_ns < self.quiet_until
        self.advance(ts_ns, open_, high, low, close, volume, defer_fit=quiet)
        if self._params is None or quiet:
            return np.full(len(self.horizons), np.nan)
        self.initialized = True
        return self._predict_last(self._params)

    def advance(self, ts_ns, open_, high, low, close, volume, defer_fit: bool = False) -> None:
        """Take in one bar and refit when the schedule says so, without forecasting.

        With ``defer_fit`` (no forecast will be read yet) a due refit only records the bar it is due
        at; the first bar taken without it fits there, on the rows known then, so every forecast read
        is the one the schedule gives, while refits nobody reads are never computed.
        """
        self._rows.append(ts_ns, open_, high, low, close, volume)
        if self._next_due is None:
            self._next_due = ts_ns + self._min_train.value
        if ts_ns >= self._next_due:
            self._next_due = ts_ns + self._every.value
            if defer_fit:
                self._deferred_fit = self._rows.n - 1
            else:
                self._deferred_fit = None
                history = self._history()
                self._params = self._fit_at(history, len(history) - 1)
        elif self._deferred_fit is not None and not defer_fit:
            k, self._deferred_fit = self._deferred_fit, None
            self._params = self._fit_at(self._history(), k)
        self._observe_bar()

    def _observe_bar(self) -> None:
        """Hook for streaming state that must see every bar, even before the first fit."""

    def _predict_last(self, params) -> np.ndarray:
        """Forecast for the newest streamed bar (default: rebuild the history; override to be fast)."""
        history = self._history()
        n = len(history)
        return self._predict_rows(history, params, slice(n - 1, n))[-1]
