"""RiskMetrics EWMA variance forecaster."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count, Range
from lstm_strategies.forecasters.base import Forecaster


class EWMAForecaster(Forecaster):
    r"""RiskMetrics (1996) exponentially weighted variance.

    .. math:: \sigma^2_t = \lambda_b \sigma^2_{t-1} + (1 - \lambda_b) r_t^2, \qquad
              \lambda_b = \lambda^{1/B}

    where ``lam`` is the daily decay (0.94) and ``B`` the bars per day, so the half-life in days
    does not depend on the bar size. The term structure is flat: the variance over ``h`` days is
    ``h * B * sigma^2``. The recursion starts at the first squared return; forecasts during the
    first ``burn_in_days`` are NaN.

    Parameters
    ----------
    lam : float
        Daily decay, ``0 < lam < 1``.
    burn_in_days : int
        Days of bars before the first published forecast (>= 1).
    """

    name = "ewma"

    def __init__(self, lam: Annotated[float, Range(0, 1, low_open=True, high_open=True)] = 0.94,
                 burn_in_days: Count = 30, *, calendar: str = "crypto", horizons=None, timeframe: str | None = None):
        self.lam, self.burn_in_days = lam, burn_in_days
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    @property
    def lookback(self) -> int:
        return self.burn_in_days * self.bars_in_day + 1

    @property
    def bar_decay(self) -> float:
        """Decay per bar, ``lam ** (1 / bars_per_day)``."""
        return self.lam ** (1.0 / self.bars_in_day)

    def _horizon_bars(self) -> np.ndarray:
        return np.asarray(self.horizons, dtype="float64") * self.bars_in_day

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        r2 = (np.log(df["close"]).diff() ** 2).iloc[1:]
        var = np.full(len(df), np.nan)
        if len(r2):
            var[1:] = r2.ewm(alpha=1.0 - self.bar_decay, adjust=False).mean().to_numpy()
        var[: self.lookback - 1] = np.nan
        return var[:, None] * self._horizon_bars()

    def _reset(self) -> None:
        self._sigma2 = math.nan
        self._last_close: float | None = None
        self._count = 0
        self._scale = self._horizon_bars() if self.is_fitted else None
        self._decay = self.bar_decay if self.is_fitted else None
        self._lookback = self.lookback if self.is_fitted else None

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        self._count += 1
        if self._last_close is not None:
            r2 = math.log(close / self._last_close) ** 2
            decay = self._decay
            self._sigma2 = r2 if math.isnan(self._sigma2) else decay * self._sigma2 + (1.0 - decay) * r2
        self._last_close = close
        if self._count < self._lookback:
            return self._scale * math.nan
        self.initialized = True
        return self._sigma2 * self._scale
