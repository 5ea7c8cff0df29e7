"""RiskMetrics EWMA variance forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.forecasters.base import Bar, Forecaster


class EWMAForecaster(Forecaster):
    r"""RiskMetrics (1996) exponentially weighted variance.

    .. math:: \sigma^2_t = \lambda_b \sigma^2_{t-1} + (1 - \lambda_b) r_t^2, \qquad
              \lambda_b = \lambda^{1/B}

    where ``lam`` is the daily decay (0.94) and ``B`` the bars per day, so the half-life in days
    does not depend on the bar size. The forecast over the horizon is ``horizon_bars * sigma^2``.
    The recursion starts at the first squared return; forecasts during the first ``burn_in_days``
    are NaN.
    """

    name = "ewma"

    def __init__(self, lam: float = 0.94, horizon: str = "1D", timeframe: str | None = None,
                 calendar: str = "crypto", burn_in_days: int = 30):
        super().__init__(horizon, timeframe, calendar)
        self.lam = lam
        self.burn_in_days = burn_in_days

    def get_params(self) -> dict:
        return {"lam": self.lam, **super().get_params(), "burn_in_days": self.burn_in_days}

    @property
    def lookback(self) -> int:
        return self.burn_in_days * self.bars_in_day + 1

    @property
    def bar_decay(self) -> float:
        """Decay per bar, ``lam ** (1 / bars_per_day)``."""
        return self.lam ** (1.0 / self.bars_in_day)

    def predict_batch(self, df: pd.DataFrame) -> np.ndarray:
        r2 = (np.log(df["close"]).diff() ** 2).iloc[1:]
        var = np.full(len(df), np.nan)
        if len(r2):
            smoothed = r2.ewm(alpha=1.0 - self.bar_decay, adjust=False).mean().to_numpy()
            var[1:] = smoothed * self.horizon_bars
        var[: self.lookback - 1] = np.nan
        return var

    def reset(self) -> None:
        super().reset()
        self._state: tuple[float, float | None, int] = (np.nan, None, 0)

    def update(self, bar: Bar) -> float:
        state = getattr(self, "_state", None) or (np.nan, None, 0)
        sigma2, last_close, count = state
        count += 1
        if last_close is not None:
            r2 = float(np.log(bar.close / last_close)) ** 2
            decay = self.bar_decay
            sigma2 = r2 if np.isnan(sigma2) else decay * sigma2 + (1.0 - decay) * r2
        self._state = (sigma2, bar.close, count)
        if count < self.lookback:
            return float("nan")
        self.initialized = True
        return sigma2 * self.horizon_bars
