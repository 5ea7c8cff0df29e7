"""HAR-RV and log-HAR forecasters (Corsi 2009) on the crypto calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.features import (
    FEATURE_NAMES,
    TINY_VARIANCE,
    compute_features,
    feature_lookback,
    forward_realized_variance,
)
from lstm_strategies.forecasters.refit import ExpandingRefitForecaster

HAR_COLUMNS = [FEATURE_NAMES.index(c) for c in ("log_rv_1d", "log_rv_7d", "log_rv_30d")]


def _har_regressors(df: pd.DataFrame, bars_in_day: int) -> np.ndarray:
    """Log of the trailing 1-, 7- and 30-day mean daily realized variance at every bar."""
    hours = (df.index.hour + df.index.minute / 60.0).to_numpy(dtype="float64")
    arrays = [df[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close", "volume")]
    return compute_features(*arrays, hours, bars_in_day)[:, HAR_COLUMNS]


class HARForecaster(ExpandingRefitForecaster):
    r"""Heterogeneous autoregressive model of realized variance.

    Linear (``log=False``):
    :math:`RV_{t,t+h} = b_0 + b_d RV^{(1)}_t + b_w RV^{(7)}_t + b_m RV^{(30)}_t`, where
    :math:`RV^{(n)}` is the mean daily RV over the last ``n`` days (rolling bar windows, so on
    hourly data it updates every hour and equals the daily HAR at each day's last bar).

    Log (``log=True``, the strong baseline): the same regression on logs, forecast
    :math:`\exp(\hat y + s^2/2)` with :math:`s^2` the residual variance.

    Refit by OLS on an expanding window every ``refit_every_days``, using only rows whose
    target had been observed at the refit bar.
    """

    def __init__(self, log: bool = True, horizon: str = "1D", timeframe: str | None = None,
                 calendar: str = "crypto", min_train_days: int = 180, refit_every_days: int = 30):
        super().__init__(horizon, timeframe, calendar, min_train_days, refit_every_days)
        self.log = log

    @property
    def name(self) -> str:  # type: ignore[override]
        return "log_har" if self.log else "har"

    def get_params(self) -> dict:
        return {"log": self.log, **super().get_params()}

    @property
    def lookback(self) -> int:
        return feature_lookback(self.bars_in_day)

    def _fit_at(self, df: pd.DataFrame, k: int):
        X = _har_regressors(df.iloc[: k + 1], self.bars_in_day)
        y = forward_realized_variance(df.iloc[: k + 1], self.horizon).to_numpy()
        ts = df.index.asi8[: k + 1]
        seen = ts + pd.Timedelta(self.horizon).value <= ts[k]
        ok = seen & np.isfinite(X).all(axis=1) & np.isfinite(y) & (y > 0)
        if ok.sum() < 30:
            return None
        if self.log:
            design = np.column_stack([np.ones(ok.sum()), X[ok]])
            target = np.log(y[ok])
        else:
            design = np.column_stack([np.ones(ok.sum()), np.exp(X[ok])])
            target = y[ok]
        beta, *_ = np.linalg.lstsq(design, target, rcond=None)
        resid = target - design @ beta
        floor = float(y[ok].min())
        return beta, float(resid.var()), floor

    def _predict_last(self, params) -> float:
        """Streaming: the three trailing RV means straight from the last closes (no DataFrame)."""
        closes = np.fromiter((row[4] for row in self._rows[-self.lookback:]), dtype="float64")
        r2 = np.diff(np.log(closes)) ** 2
        b = self.bars_in_day
        x = np.array([r2[-d * b:].sum() / d for d in (1, 7, 30)])
        return float(self._from_regressors(params, np.log(np.maximum(x, TINY_VARIANCE))[None, :])[0])

    def _from_regressors(self, params, X: np.ndarray) -> np.ndarray:
        beta, resid_var, floor = params
        if self.log:
            return np.exp(beta[0] + X @ beta[1:] + 0.5 * resid_var)
        return np.maximum(beta[0] + np.exp(X) @ beta[1:], max(floor, TINY_VARIANCE))

    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        start = max(0, rows.start - self.lookback + 1)
        X = _har_regressors(df.iloc[start: rows.stop], self.bars_in_day)[rows.start - start:]
        return self._from_regressors(params, X)
