"""Refitting regressions on the implied volatility: HAR-IV, raw implied, level-corrected implied.

Every forecaster here follows the log-HAR baseline's schedule (``lstm_strategies.forecasters.har``):
refit at ``refit_points`` (first 180 days after the data's first bar, then every 30 days) on the
expanding window of hourly rows whose target is *known* at the refit bar, forecasting every bar until
the next refit.

* ``har_iv``: for each horizon h, OLS of log RV_{t,t+h} on
  ``[1, log_rv_day, log_rv_week, log_rv_month, log(IV_t^2)]`` (the log implied variance over the
  horizon, log(IV^2 h/365), differs from log IV^2 by a constant that the intercept absorbs), forecast
  ``exp(x'b + s^2/2)`` with s^2 the residual variance, as log-HAR. Fit rows: bars with DVOL known and
  a known target; at least ``MIN_IV_DAYS`` days of such rows, else (and at any bar without DVOL) the
  forecast falls back to log-HAR's.
* ``implied_raw``: IV_t^2 * h / 365.
* ``implied_level``: IV_t^2 * h / 365 times the mean of RV_{s,s+h} / (IV_s^2 h/365) over the hourly
  rows s whose target is known at t and whose window ended within the last W days (all of them for
  W = None); slope fixed at 1. QLIKE-optimal multiplicative level: argmin_c E[RV/(c IV) + log c] = E[RV/IV].
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.refit import refit_points

import ivfeatures as F

MIN_IV_DAYS = 90


def schedule(df: pd.DataFrame) -> list[int]:
    """log-HAR's refit bars (same arguments as ``LogHARForecaster`` defaults)."""
    return refit_points(df.index.asi8, pd.Timedelta(days=180), pd.Timedelta(days=30))


def refit_log_ols(X: np.ndarray, Y: np.ndarray, ends: np.ndarray, points: list[int],
                  min_rows: int = 30, return_params: bool = False):
    """Forecasts ``exp(x'b + s^2/2)`` of log-linear regressions refit at ``points`` (expanding window).

    At refit bar ``k`` a horizon is fitted on rows ``r <= k`` with finite regressors, a known target
    (``ends[r, j] <= k``) and at least ``min_rows`` of them; otherwise its segment stays NaN.
    """
    n, H = Y.shape
    out = np.full((n, H), np.nan)
    if X.ndim == 3:       # per-horizon regressors (n, H, k)
        for j in range(H):
            r = refit_log_ols(X[:, j], Y[:, j:j + 1], ends[:, j:j + 1], points, min_rows, True)
            out[:, j] = r[0][:, 0]
        return out
    finite_x = np.isfinite(X).all(axis=1)
    logy = np.log(np.where(Y > 0, Y, np.nan))
    params = []
    for i, k in enumerate(points):
        stop = points[i + 1] if i + 1 < len(points) else n
        row = []
        for j in range(H):
            ok = finite_x[: k + 1] & (ends[: k + 1, j] <= k) & np.isfinite(logy[: k + 1, j])
            if ok.sum() < min_rows:
                row.append(None)
                continue
            design = np.column_stack([np.ones(ok.sum()), X[: k + 1][ok]])
            beta, *_ = np.linalg.lstsq(design, logy[: k + 1, j][ok], rcond=None)
            s2 = float((logy[: k + 1, j][ok] - design @ beta).var())
            out[k:stop, j] = np.exp(beta[0] + X[k:stop] @ beta[1:] + 0.5 * s2)
            row.append((beta, s2))
        params.append((k, row))
    return (out, params) if return_params else out


def log_har(df: pd.DataFrame) -> np.ndarray:
    """The library's log-HAR baseline (``make_forecaster("log_har")``), refit monthly."""
    return make_forecaster("log_har", "crypto", horizons=F.HORIZONS).fit(df).predict_batch(df)


def har_iv(df: pd.DataFrame, iv_now: np.ndarray, feats: np.ndarray | None = None,
           base: np.ndarray | None = None, return_params: bool = False):
    """HAR-IV forecasts (n, H) and a boolean (n,) mask of the bars that fell back to log-HAR."""
    feats = F.base_features(df) if feats is None else feats
    base = log_har(df) if base is None else base
    X = np.column_stack([feats[:, :3], np.log(iv_now ** 2)])
    Y, ends = F.targets(df), F.target_ends(df)
    fc, params = refit_log_ols(X, Y, ends, schedule(df), min_rows=MIN_IV_DAYS * 24, return_params=True)
    fallback = ~np.isfinite(fc).all(axis=1)
    fc[fallback] = base[fallback]
    return (fc, fallback, params) if return_params else (fc, fallback)


def implied_raw(iv_now: np.ndarray) -> np.ndarray:
    return F.implied_variance(iv_now)


def implied_level(df: pd.DataFrame, iv_now: np.ndarray, window_days: int | None,
                  min_rows: int = 24, return_level: bool = False):
    """Level-corrected implied variance (n, H); NaN where fewer than ``min_rows`` ratios are known."""
    ts = df.index.asi8
    ivvar = F.implied_variance(iv_now)
    Y, ends = F.targets(df), F.target_ends(df)
    n = len(df)
    out = np.full((n, len(F.HORIZONS)), np.nan)
    levels = np.full_like(out, np.nan)
    t_idx = np.arange(n)
    for j, h in enumerate(F.HORIZONS):
        ratio = Y[:, j] / ivvar[:, j]
        valid = np.isfinite(ratio)
        csum = np.concatenate([[0.0], np.cumsum(np.where(valid, ratio, 0.0))])
        ccnt = np.concatenate([[0], np.cumsum(valid)])
        hi = np.searchsorted(ends[:, j], t_idx, side="right")          # rows [0, hi) are known at t
        if window_days is None:
            lo = np.zeros(n, dtype=int)
        else:   # windows that ended within the last W days: ts[s] + h days > ts[t] - W days
            lo = np.searchsorted(ts, ts - pd.Timedelta(days=window_days + h).value, side="right")
        lo = np.minimum(lo, hi)
        cnt = ccnt[hi] - ccnt[lo]
        mean = np.where(cnt >= min_rows, (csum[hi] - csum[lo]) / np.maximum(cnt, 1), np.nan)
        levels[:, j] = mean
        out[:, j] = ivvar[:, j] * mean
    return (out, levels) if return_level else out


def har_iv_combo(df: pd.DataFrame, iv_now: np.ndarray, model_var: np.ndarray, oos_from: str,
                 feats: np.ndarray | None = None, fallback: np.ndarray | None = None) -> np.ndarray:
    """HAR-IV plus the log of a model's forecast as a regressor (per horizon), refit monthly.

    Only rows after the model's training end (``oos_from``, a UTC day) enter the fits, so the
    regression sees the model's out-of-sample forecasts only; at least ``MIN_IV_DAYS`` days of them,
    else ``fallback`` (HAR-IV).
    """
    feats = F.base_features(df) if feats is None else feats
    n, H = model_var.shape
    X = np.empty((n, H, 5))
    X[:, :, :3] = feats[:, None, :3]
    X[:, :, 3] = np.log(iv_now ** 2)[:, None]
    X[:, :, 4] = np.log(model_var)
    insample = df.index < pd.Timestamp(oos_from, tz="UTC")
    Xfit = X.copy()
    Xfit[insample] = np.nan
    Y, ends = F.targets(df), F.target_ends(df)
    # fit on out-of-sample rows only, forecast with the regressors of every row
    out = np.full((n, H), np.nan)
    points = schedule(df)
    for j in range(H):
        _, params = refit_log_ols(Xfit[:, j], Y[:, j:j + 1], ends[:, j:j + 1], points, MIN_IV_DAYS * 24, True)
        for i, (k, row) in enumerate(params):
            stop = points[i + 1] if i + 1 < len(points) else n
            if row[0] is not None:
                beta, s2 = row[0]
                out[k:stop, j] = np.exp(beta[0] + X[k:stop, j] @ beta[1:] + 0.5 * s2)
    if fallback is not None:
        bad = ~np.isfinite(out)
        out[bad] = fallback[bad]
    return out
