"""HAR-IV: log-HAR with the log implied variance as a fourth regressor, refit like log-HAR."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count
from lstm_strategies.features.realized import feature_matrix, forward_variance_matrix
from lstm_strategies.forecasters.har import HAR_COLUMNS, LogHARForecaster
from lstm_strategies.forecasters.refit import refit_points


class HARIVForecaster(LogHARForecaster):
    r"""log-HAR plus the log implied variance, one direct regression per horizon.

    For each horizon ``h``, OLS of :math:`\log RV_{t,t+h}` on
    :math:`[1, \log RV^{(d)}_t, \log RV^{(w)}_t, \log RV^{(m)}_t, \log IV_t^2]` (``IV_t``: the implied
    volatility known at the close of bar ``t``; the log implied variance over the horizon,
    :math:`\log(IV^2 h / 365)`, differs from :math:`\log IV^2` by a constant that the intercept
    absorbs), forecasting :math:`\exp(\hat y + s^2/2)`. Fitted on the bars with an implied value and a
    target known at the refit bar, on log-HAR's schedule (first fit after ``min_train_days``, then
    every ``refit_every_days``, on log-HAR's estimation window: ``window``, both regressions alike).

    **Falls back to log-HAR** (recorded in :attr:`input_fallbacks`) at a bar without a known implied
    value, and for a whole refit period when fewer than ``min_iv_days`` days of such fit rows exist
    (a regression on a few weeks of implied data cannot identify its coefficient).

    Parameters
    ----------
    min_train_days, refit_every_days : int
        log-HAR's schedule (shared by both regressions).
    min_iv_days : int
        Days of bars with implied volatility and a known target needed to fit (chosen on data up to 2022).
    """

    name = "har_iv"
    inputs = ("implied_vol",)
    missing_input = "fallback"
    input_fallback = "log-HAR"

    def __init__(self, min_train_days: int = 180, refit_every_days: int = 30, min_iv_days: Count = 90, *,
                 calendar: str = "crypto", horizons=None, timeframe: str | None = None, **window_and_level):
        self.min_iv_days = min_iv_days
        super().__init__(min_train_days, refit_every_days, calendar=calendar, horizons=horizons, timeframe=timeframe,
                         **window_and_level)

    @property
    def _min_iv_rows(self) -> int:
        return int(self.min_iv_days * self.bars_in_day)

    @property
    def _short_reason(self) -> str:
        return f"fewer than {self.min_iv_days} days of bars with implied vol and a known target at the refit"

    def _with_iv(self, df: pd.DataFrame, X: np.ndarray) -> np.ndarray:
        now, _ = self.input_values("implied_vol", df)
        return np.column_stack([X, np.log(now ** 2)])

    # -- batched -------------------------------------------------------------------------------
    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        X = feature_matrix(df, self.calendar, self.timeframe)[:, HAR_COLUMNS]
        out = self.predict_from_regressors(df, X, first)            # log-HAR: every fallback's forecast
        Xiv = self._with_iv(df, X)
        finite = np.isfinite(Xiv).all(axis=1)
        Y = forward_variance_matrix(df, self.horizons, self.calendar)
        known = self._target_ends(df)
        ts = df.index.asi8
        points = refit_points(ts, self._min_train, self._every)
        for j, k in enumerate(points):
            stop = points[j + 1] if j + 1 < len(points) else len(df)
            if stop <= first:
                continue
            lo = max(k, first)
            forecast = np.isfinite(out[lo:stop]).all(axis=1)
            params = self._ols(Xiv[: k + 1], Y[: k + 1], known[: k + 1] <= k, finite[: k + 1], self._min_iv_rows,
                               weights=self.row_weights(ts, known[: k + 1], k))
            if params is None:
                self.missing_inputs("implied_vol", ts[lo:stop], forecast, self._short_reason)
                continue
            have = finite[k:stop]
            out[k:stop][have] = self._from_regressors(params, Xiv[k:stop][have])
            self.missing_inputs("implied_vol", ts[lo:stop], forecast & ~finite[lo:stop])
        return out

    # -- streaming -----------------------------------------------------------------------------
    def _fit_at(self, df: pd.DataFrame, k: int):
        seen = df.iloc[: k + 1]
        X = self._regressors(seen)
        Y = forward_variance_matrix(seen, self.horizons, self.calendar)  # NaN unless observed by bar k
        weights = self._seen_weights(seen, k)
        base = self._ols(X, Y, np.isfinite(Y), np.isfinite(X).all(axis=1), weights=weights)
        if base is None:
            return None
        Xiv = self._with_iv(seen, X)
        return base, self._ols(Xiv, Y, np.isfinite(Y), np.isfinite(Xiv).all(axis=1), self._min_iv_rows, weights)

    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        base, with_iv = params
        out = super()._predict_rows(df, base, rows)
        if with_iv is not None:
            start = max(0, rows.start - self.lookback + 1)
            part = df.iloc[start: rows.stop]
            Xiv = self._with_iv(part, self._regressors(part))[rows.start - start:]
            have = np.isfinite(Xiv).all(axis=1)
            out[have] = self._from_regressors(with_iv, Xiv[have])
        return out

    def _predict_last(self, params) -> np.ndarray:
        base, with_iv = params
        ts = int(self._rows.ts[self._rows.n - 1])
        if with_iv is None:
            self.missing_inputs("implied_vol", ts, reason=self._short_reason)
            return super()._predict_last(base)
        iv = self.input_lookup("implied_vol").at(ts + pd.Timedelta(self.timeframe).value)
        if iv != iv:
            self.missing_inputs("implied_vol", ts)
            return super()._predict_last(base)
        x = np.array([[*self._streamed_regressors(), math.log(iv ** 2)]])
        return self._from_regressors(with_iv, x)[0]
