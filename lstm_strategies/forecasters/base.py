"""The interface every volatility forecaster follows (no Backtrader import here).

A forecaster maps OHLCV bars to a forecast of the variance of log returns over the next
``horizon`` (e.g. the next 24 hours), made at the close of each bar with bars ``<= t`` only.

* :meth:`Forecaster.predict_batch` - all forecasts of a frame in one vectorised pass;
* :meth:`Forecaster.update` - one bar at a time (live trading, Backtrader's ``next`` mode);
* :meth:`Forecaster.reset` - forget the streamed bars so the object can be reused.

Both paths give the same numbers; the tests check it to 1e-6.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_strategies.data import OHLCV, bars_per_day, infer_timeframe, timeframe_label
from lstm_strategies.features import annualise_variance


@dataclass(frozen=True)
class Bar:
    """One OHLCV bar; ``timestamp`` is the bar's open time in UTC."""

    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float


def rows_to_frame(rows: list[tuple], timeframe: str | None) -> pd.DataFrame:
    """An OHLCV frame from streamed ``(timestamp, open, high, low, close, volume)`` tuples."""
    frame = pd.DataFrame([r[1:] for r in rows], columns=OHLCV,
                         index=pd.DatetimeIndex([r[0] for r in rows]).as_unit("ns"))
    frame.attrs["timeframe"] = timeframe
    return frame


class Forecaster(ABC):
    """Base class: subclasses implement :meth:`predict_batch` and say how far back they look.

    Parameters
    ----------
    horizon : str
        Forecast horizon as a duration (``"1D"``, ``"24h"``).
    timeframe : str, optional
        Bar spacing the forecaster expects; set from the data by :meth:`fit` when omitted.
    calendar : {"crypto", "equity"}
        Annualisation calendar (365 or 252 days).
    """

    #: short name used by configs and reports
    name = "base"

    def __init__(self, horizon: str = "1D", timeframe: str | None = None, calendar: str = "crypto"):
        self.horizon = horizon
        self.timeframe = timeframe
        self.calendar = calendar
        self._buffer: deque | None = None
        self.initialized = False

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def get_params(self) -> dict:
        """Constructor parameters (scikit-learn style)."""
        return {"horizon": self.horizon, "timeframe": self.timeframe, "calendar": self.calendar}

    # -- sizes -------------------------------------------------------------------------------
    @property
    def bars_in_day(self) -> int:
        """Bars per 24 hours at the forecaster's timeframe (at least 1)."""
        return max(1, int(round(bars_per_day(self.timeframe or "1D"))))

    @property
    def horizon_bars(self) -> float:
        """Number of bars in the horizon."""
        return pd.Timedelta(self.horizon) / pd.Timedelta(self.timeframe or "1D")

    @property
    @abstractmethod
    def lookback(self) -> int:
        """Bars of history one forecast needs (the first ``lookback - 1`` forecasts are NaN)."""

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> Forecaster:
        """Fit on a training frame (default: nothing to fit, only the timeframe is recorded)."""
        self._check_timeframe(df)
        return self

    def _check_timeframe(self, df: pd.DataFrame) -> None:
        from lstm_strategies.errors import DataError

        step = timeframe_label(df.attrs.get("timeframe") or infer_timeframe(df.index))
        if self.timeframe is None:
            self.timeframe = step
        elif pd.Timedelta(step) != pd.Timedelta(self.timeframe):
            raise DataError(f"{df.attrs.get('source', 'data')}: bars are {step} apart but "
                            f"{self!r} expects {self.timeframe}; resample the data or use a matching model")

    # -- batched -----------------------------------------------------------------------------
    @abstractmethod
    def predict_batch(self, df: pd.DataFrame) -> np.ndarray:
        """Variance forecasts over the horizon for every bar of ``df`` (NaN in warm-up)."""

    def forecast_series(self, df: pd.DataFrame) -> pd.DataFrame:
        """Forecasts as a frame with ``var`` (over the horizon) and ``vol`` (annualised)."""
        self._check_timeframe(df)
        var = self.predict_batch(df)
        vol = annualise_variance(var, self.horizon_bars, self.timeframe, self.calendar)
        return pd.DataFrame({"var": var, "vol": vol}, index=df.index)

    # -- streaming ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every streamed bar; the fitted parameters stay."""
        self._buffer = None
        self.initialized = False

    def update(self, bar: Bar) -> float:
        """Add one bar and return the forecast made at its close (NaN during warm-up).

        The default keeps the last :attr:`lookback` bars and runs :meth:`predict_batch` on them,
        which is exact for forecasters with a finite lookback. Subclasses with O(1) recursions
        override it.
        """
        if self._buffer is None:
            self._buffer = deque(maxlen=self.lookback)
        self._buffer.append((bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume))
        if len(self._buffer) < self.lookback:
            return float("nan")
        self.initialized = True
        return float(self.predict_batch(rows_to_frame(list(self._buffer), self.timeframe))[-1])
