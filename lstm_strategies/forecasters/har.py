"""HAR-RV and log-HAR forecasters (Corsi 2009): one direct regression per horizon."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_strategies.features.realized import (
    FEATURE_NAMES,
    HAR_FEATURES,
    TINY_VARIANCE,
    RunningSum,
    _flog,
    feature_lookback,
    feature_matrix,
    forward_variance_matrix,
    target_ends,
)
from lstm_strategies.forecasters.refit import ExpandingRefitForecaster

HAR_COLUMNS = [FEATURE_NAMES.index(c) for c in HAR_FEATURES]


class HARForecaster(ExpandingRefitForecaster):
    r"""Heterogeneous autoregressive model of realized variance, linear in levels.

    For each horizon ``h`` a direct regression
    :math:`RV_{t,t+h} = b_0 + b_d RV^{(d)}_t + b_w RV^{(w)}_t + b_m RV^{(m)}_t`, where
    :math:`RV^{(n)}` is the mean daily RV over the last day, week and month of the calendar
    (rolling bar windows, so on hourly data it updates every hour and equals the daily HAR at
    each day's last bar). Refit by OLS every ``refit_every_days`` on an expanding window (or a rolling or
    exponentially weighted one: ``window``, weighted least squares with the weighted residual variance),
    using only rows whose target had been observed at the refit bar. Takes the level correction's
    parameters (:class:`~lstm_strategies.forecasters.refit.ExpandingRefitForecaster`).
    """

    name = "har"
    refits = True
    #: regress log variance (log-HAR) instead of variance
    log = False

    def __init__(self, min_train_days: int = 180, refit_every_days: int = 30, *, calendar: str = "crypto",
                 horizons=None, timeframe: str | None = None, **window_and_level):
        super().__init__(min_train_days, refit_every_days, calendar=calendar, horizons=horizons,
                         timeframe=timeframe, **window_and_level)

    @property
    def lookback(self) -> int:
        return feature_lookback(self.bars_in_day, self.calendar)

    def _regressors(self, df: pd.DataFrame) -> np.ndarray:
        return feature_matrix(df, self.calendar, self.timeframe)[:, HAR_COLUMNS]

    def _fit_at(self, df: pd.DataFrame, k: int):
        seen = df.iloc[: k + 1]
        X = self._regressors(seen)
        Y = forward_variance_matrix(seen, self.horizons, self.calendar)  # NaN unless observed by bar k
        return self._ols(X, Y, np.isfinite(Y), np.isfinite(X).all(axis=1), weights=self._seen_weights(seen, k))

    def _seen_weights(self, seen: pd.DataFrame, k: int) -> np.ndarray | None:
        """Streaming: the estimation window's weights of the rows of ``seen`` (bars ``0..k``)."""
        return None if self.window == "expanding" else self.row_weights(seen.index.asi8, self._target_ends(seen), k)

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        return self.predict_from_regressors(df, self._regressors(df), first)

    def predict_from_regressors(self, df: pd.DataFrame, X: np.ndarray, first: int = 0) -> np.ndarray:
        """All refits from one regressor matrix (the HAR columns of the features, which a caller that
        already has them passes in) and one target matrix: no per-refit recomputation.

        A target is usable at refit bar ``k`` once its window has ended by bar ``k``: exactly the
        rows :meth:`_fit_at` finds by computing the targets on ``df.iloc[:k + 1]``.
        """
        from lstm_strategies.forecasters.refit import refit_points

        Y = forward_variance_matrix(df, self.horizons, self.calendar)
        ends = self._target_ends(df)                       # (n, H) bar index where each target is known
        out = np.full((len(df), len(self.horizons)), np.nan)
        finite_x = np.isfinite(X).all(axis=1)
        points = refit_points(df.index.asi8, self._min_train, self._every)
        for j, k in enumerate(points):
            stop = points[j + 1] if j + 1 < len(points) else len(df)
            if stop <= first:
                continue  # a segment entirely before `first`: not asked for
            params = self._ols(X[: k + 1], Y[: k + 1], ends[: k + 1] <= k, finite_x[: k + 1],
                               weights=self.row_weights(df.index.asi8, ends[: k + 1], k))
            if params is not None:
                out[k:stop] = self._from_regressors(params, X[k:stop])
        return out

    def _target_ends(self, df: pd.DataFrame) -> np.ndarray:
        """For each bar and horizon, the first bar at whose close its target is known (:func:`target_ends`)."""
        return target_ends(df, self.horizons, self.calendar, self.bars_in_day)

    def _ols(self, X: np.ndarray, Y: np.ndarray, known: np.ndarray, finite_x: np.ndarray, min_rows: int = 30,
             weights: np.ndarray | None = None):
        """Per horizon, OLS on the rows with finite regressors and a known positive target; None when a
        horizon has fewer than ``min_rows`` of them (a refit that cannot fit every horizon is not used).

        ``weights`` ``(rows, H)`` (the estimation window; None: expanding): rows of weight 0 are left out, and
        with unequal weights (EW) the fit is weighted least squares with the weighted residual variance.
        """
        params = []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            ok = finite_x & known[:, j] & np.isfinite(y) & (y > 0)
            if weights is not None:
                ok &= weights[:, j] > 1e-12
            if ok.sum() < min_rows:
                return None
            if self.log:
                design, target = np.column_stack([np.ones(ok.sum()), X[ok]]), np.log(y[ok])
            else:
                design, target = np.column_stack([np.ones(ok.sum()), np.exp(X[ok])]), y[ok]
            if self.window != "ew":   # expanding (0.3.0's arithmetic, bit for bit) and rolling: equal weights
                beta, *_ = np.linalg.lstsq(design, target, rcond=None)
                resid_var = float((target - design @ beta).var())
            else:
                w = weights[ok, j]
                sw = np.sqrt(w)
                beta, *_ = np.linalg.lstsq(design * sw[:, None], target * sw, rcond=None)
                resid_var = float(np.sum(w * (target - design @ beta) ** 2) / np.sum(w))
            params.append((beta, resid_var, float(y[ok].min())))
        return params

    def _from_regressors(self, params, X: np.ndarray) -> np.ndarray:
        out = np.empty((len(X), len(params)))
        for j, (beta, resid_var, floor) in enumerate(params):
            if self.log:
                out[:, j] = np.exp(beta[0] + X @ beta[1:] + 0.5 * resid_var)
            else:
                out[:, j] = np.maximum(beta[0] + np.exp(X) @ beta[1:], max(floor, TINY_VARIANCE))
        return out

    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        start = max(0, rows.start - self.lookback + 1)
        X = self._regressors(df.iloc[start: rows.stop])[rows.start - start:]
        return self._from_regressors(params, X)

    def _reset(self) -> None:
        if self.is_fitted:
            self._r2 = RunningSum(max(self.cal.har_days) * self.bars_in_day)
            self._windows = [(d * self.bars_in_day, d) for d in self.cal.har_days]
        self._last_close: float | None = None
        self._coefs_of, self._coefs = None, []

    def _observe_bar(self) -> None:
        rows = self._rows
        close = float(rows.values[rows.n - 1, 3])
        last = self._last_close
        self._r2.add(0.0 if last is None else (math.log(close) - math.log(last)) ** 2)
        self._last_close = close

    def _streamed_regressors(self) -> tuple[float, float, float]:
        """Streaming: the log of the three trailing RV means from running sums (O(1), the batched arithmetic)."""
        r2, (day, week, month) = self._r2, self._windows   # the calendar's three HAR windows
        return (_flog(r2.window(day[0]) / day[1]), _flog(r2.window(week[0]) / week[1]),
                _flog(r2.window(month[0]) / month[1]))

    def _predict_last(self, params) -> np.ndarray:
        """Streaming: the forecast from the streamed regressors."""
        x1, x2, x3 = self._streamed_regressors()
        if self.log:  # the batched formula in float64 scalars, without array overhead
            if params is not self._coefs_of:
                self._coefs_of = params
                self._coefs = [(*beta.tolist(), 0.5 * resid_var) for beta, resid_var, _ in params]
            return np.array([math.exp(b0 + (b1 * x1 + b2 * x2 + b3 * x3) + half_var)
                             for b0, b1, b2, b3, half_var in self._coefs])
        return self._from_regressors(params, np.array([[x1, x2, x3]]))[0]


class LogHARForecaster(HARForecaster):
    r"""log-HAR, the strong baseline: the HAR regression on logs, one per horizon, forecasting
    :math:`\exp(\hat y + s^2/2)` with :math:`s^2` the residual variance."""

    name = "log_har"
    log = True
