"""Shared prototype code for issue #29 (research phase): data, estimation windows, level corrections, scores.

Everything here is causal by construction and written bar by bar in spirit (the vectorised forms are
cumulative sums over rows whose targets are known at the forecast bar), so that the library's batched and
streaming paths can reproduce it.

Conventions (as the library's):
* Hourly bars, forecast at each bar's close; horizons 1, 7, 30 days; the target of bar ``t`` at horizon ``h``
  is the sum of squared hourly log returns over ``(t, t + h days]`` (``features.forward_realized_variance``);
  it is known at bar ``target_ends[t, j]`` (the first bar stamped at or after ``t + h``).
* Implied vol: DVOL's daily close of day ``d`` is known at the close of day ``d``'s 23:00 bar
  (``load_implied_vol`` + ``ImpliedVolLookup.values_at(close time)``).
* Daily origins: each UTC day's last bar (``evaluation.forecast_origins``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CACHE = HERE / "cache"
OUT = HERE / "out"
CACHE.mkdir(exist_ok=True)
OUT.mkdir(exist_ok=True)
HORIZONS = (1, 7, 30)
ASSETS = ("btc", "eth")
HOUR_NS = 3_600_000_000_000
DAY_NS = 24 * HOUR_NS

# the periods (rules of the issue)
BAR_SELECTION_END = "2021-12-31"      # bar-only forecasters: choices on data up to here
IV_SELECTION_END = "2022-12-31"       # anything that reads implied vol
TEST = ("2023-01-01", "2026-04-06")   # scored once, after the freeze
DECISION_TEST = ("2023-01-01", "2026-03-07")     # decision days whose 30-day positions settle by 2026-04-06
DECISION_SELECTION = ("2021-03-24", "2022-12-01")  # decision days whose positions settle by 2022-12-31


# ------------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------------
def load_bars(asset: str) -> pd.DataFrame:
    from lstm_strategies.datasets import load_dataset

    return load_dataset(f"{asset}_usdt_1h")


def implied_at_bars(asset: str, df: pd.DataFrame) -> np.ndarray:
    """DVOL (a fraction, 0.6 for 60%) known at each bar's close, NaN where none (the library's lookup)."""
    from lstm_strategies.implied import ImpliedVolLookup, load_implied_vol

    look = ImpliedVolLookup(load_implied_vol(f"{asset}_dvol_daily"), "3D")
    now, _ = look.values_at(df.index.asi8 + HOUR_NS)
    return now


def load_cache(asset: str) -> dict:
    """The cached hourly arrays of ``01_cache.py`` (ts, close, Y, ends, HAR regressors, base forecasts)."""
    z = np.load(CACHE / f"hourly_{asset}.npz")
    return {k: z[k] for k in z.files}


def origins_mask(ts: np.ndarray) -> np.ndarray:
    """True at each UTC day's last hourly bar (the 23:00 bar: it closes at 24:00)."""
    return ((ts + HOUR_NS) % DAY_NS) == 0


def ts_of(date: str) -> int:
    return pd.Timestamp(date, tz="UTC").value


# ------------------------------------------------------------------------------------------------
# estimation windows for log-HAR-type regressions (expanding, rolling, exponentially weighted)
# ------------------------------------------------------------------------------------------------
def refit_points(ts: np.ndarray, min_train_days: int = 180, every_days: int = 30) -> list[int]:
    """The library's schedule (refit.refit_points)."""
    points, due = [], ts[0] + min_train_days * DAY_NS
    while True:
        k = int(np.searchsorted(ts, due, side="left"))
        if k >= len(ts):
            return points
        points.append(k)
        due = ts[k] + every_days * DAY_NS


def row_weights(ts: np.ndarray, ends: np.ndarray, k: int, window: tuple) -> np.ndarray:
    """Weights of fit rows ``0..k`` at refit bar ``k`` for a window spec.

    ``("expanding",)``: 1 for every row; ``("rolling", days)``: 1 for rows whose target ended within the
    last ``days`` days (``ts[end] > ts[k] - days``), else 0; ``("ew", half_life_days)``:
    ``0.5 ** (age / half_life)`` with ``age`` the time from the row's target end to the refit bar.
    Rows whose target is not known at ``k`` get weight 0 elsewhere (the caller's mask).
    """
    kind = window[0]
    n = k + 1
    if kind == "expanding":
        return np.ones(n)
    end_ts = ts[np.minimum(ends[:n], len(ts) - 1)]
    age_days = (ts[k] - end_ts) / DAY_NS
    if kind == "rolling":
        return (age_days < window[1]).astype(float)
    if kind == "ew":
        return 0.5 ** (np.maximum(age_days, 0.0) / window[1])
    raise ValueError(window)


def wls(X: np.ndarray, y: np.ndarray, w: np.ndarray):
    """Weighted least squares with an intercept: (beta, weighted residual variance)."""
    A = np.column_stack([np.ones(len(y)), X])
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)
    resid = y - A @ beta
    s2 = float(np.sum(w * resid**2) / np.sum(w))
    return beta, s2


def log_har_windowed(c: dict, window: tuple, use_iv: bool = False, min_rows_days: int = 30,
                     min_iv_days: int = 90, min_train_days: int = 180, every_days: int = 30) -> np.ndarray:
    """log-HAR (or HAR-IV with ``use_iv``) on the library's schedule with an estimation-window spec.

    At each refit bar ``k``: weighted OLS of ``log Y`` on ``[1, log RV_d, log RV_w, log RV_m (, log IV^2)]``
    over the rows whose target is known at ``k`` (``ends <= k``), with :func:`row_weights`; forecasts
    ``exp(xb + s^2/2)`` with ``s^2`` the weighted residual variance, for bars ``k .. next refit - 1``.
    HAR-IV falls back to the same-window log-HAR when fewer than ``min_iv_days`` days of rows with
    implied vol are usable, or at a bar without implied vol (the library's rule). A window with fewer
    than ``min_rows_days`` days of (positive-weight) rows keeps the previous fit.
    """
    ts, X0, Y, ends = c["ts"], c["har_x"], c["Y"], c["ends"]
    iv = c["iv"]
    n, H = Y.shape
    X = np.column_stack([X0, np.log(iv**2)]) if use_iv else X0
    out = np.full((n, H), np.nan)
    pts = refit_points(ts, min_train_days, every_days)
    finite0 = np.isfinite(X0).all(axis=1)
    finite = np.isfinite(X).all(axis=1)
    prev = None
    for j_pt, k in enumerate(pts):
        stop = pts[j_pt + 1] if j_pt + 1 < len(pts) else n
        base, with_iv = [], []
        for h in range(H):
            known = ends[: k + 1, h] <= k
            w = row_weights(ts, ends[:, h], k, window)
            y = Y[: k + 1, h]
            ok = known & finite0[: k + 1] & np.isfinite(y) & (y > 0) & (w > 1e-12)
            base.append(wls(X0[: k + 1][ok], np.log(y[ok]), w[ok]) if ok.sum() >= min_rows_days * 24 else None)
            if use_iv:
                ok_iv = ok & finite[: k + 1]
                with_iv.append(wls(X[: k + 1][ok_iv], np.log(y[ok_iv]), w[ok_iv])
                               if ok_iv.sum() >= min_iv_days * 24 else None)
        # as the library: a refit that cannot fit every horizon is not used (keep the previous fit for the
        # base regression; HAR-IV falls back to the base for the whole period)
        if all(b is not None for b in base):
            prev = base
        if prev is None:
            continue
        iv_fit = with_iv if use_iv and all(b is not None for b in with_iv) else None
        for h in range(H):
            b, s2 = prev[h]
            out[k:stop, h] = np.exp(b[0] + X0[k:stop] @ b[1:] + 0.5 * s2)
            if iv_fit is not None:
                b, s2 = iv_fit[h]
                rows = np.arange(k, stop)[finite[k:stop]]
                out[rows, h] = np.exp(b[0] + X[rows] @ b[1:] + 0.5 * s2)
    return out


# ------------------------------------------------------------------------------------------------
# causal level correction from completed windows
# ------------------------------------------------------------------------------------------------
def level_factor(ts: np.ndarray, Y: np.ndarray, F: np.ndarray, ends: np.ndarray, window_days: float,
                 shrink: float = 1.0, min_days: float = 30.0, form: str = "ratio_of_means",
                 cap: tuple[float, float] = (0.25, 4.0), source: str = "own") -> np.ndarray:
    """Causal level factor per bar and horizon from forecasts whose targets are complete.

    For bar ``t`` and horizon ``j`` the rows ``s`` with ``ends[s, j] <= t`` (target known at ``t``) and
    whose window ended within the last ``window_days`` days (``ts[s] + h > ts[t] - window``) give

    * ``ratio_of_means``: ``c = sum Y_s / sum F_s`` (the bias ratio itself), or
    * ``mean_ratio``: ``c = mean(Y_s / F_s)`` (the QLIKE-optimal multiple; ``implied_level``'s form),

    shrunk towards 1 in logs: ``c_used = exp(shrink * log c)`` (``shrink`` 1 = full correction, 0 = none),
    clipped to ``cap``. With ``source="h1"`` every horizon takes the 1-day horizon's factor (its targets
    complete a day after the forecast, so it lags a level shift least). Factor 1 until ``min_days`` days of such rows exist. Rows with a NaN forecast or
    target are skipped. Expressible per bar with running sums (as ``ImpliedLevelForecaster``).
    """
    n, H = F.shape
    out = np.ones((n, H))
    t_idx = np.arange(n)
    for j, h in enumerate(HORIZONS[:H]):
        y, f = Y[:, j], F[:, j]
        ok = np.isfinite(y) & np.isfinite(f) & (f > 0)
        if form == "ratio_of_means":
            num, den = np.where(ok, y, 0.0), np.where(ok, f, 0.0)
        elif form == "mean_ratio":
            num, den = np.where(ok, y / np.where(ok, f, 1.0), 0.0), ok.astype(float)
        else:
            raise ValueError(form)
        cn = np.concatenate([[0.0], np.cumsum(num)])
        cd = np.concatenate([[0.0], np.cumsum(den)])
        cc = np.concatenate([[0], np.cumsum(ok)])
        # rows [0, hi) are known at t (ends is non-decreasing in s)
        hi = np.searchsorted(ends[:, j], t_idx, side="right")
        lo = np.minimum(np.searchsorted(ts, ts - (window_days + h) * DAY_NS, side="right"), hi)
        cnt = cc[hi] - cc[lo]
        with np.errstate(divide="ignore", invalid="ignore"):
            c = (cn[hi] - cn[lo]) / (cd[hi] - cd[lo])
        good = (cnt >= min_days * 24) & np.isfinite(c) & (c > 0)
        cj = np.ones(n)
        cj[good] = np.exp(shrink * np.log(np.clip(c[good], *cap)))
        out[:, j] = cj
    if source == "h1":
        out[:, :] = out[:, [0]]
    return out


# ------------------------------------------------------------------------------------------------
# scores
# ------------------------------------------------------------------------------------------------
def qlike(rv, f) -> np.ndarray:
    r = np.asarray(rv, float) / np.asarray(f, float)
    return r - np.log(r) - 1.0


def daily_frame(c: dict, F: np.ndarray, start: str, end: str) -> pd.DataFrame:
    """Daily origins in ``[start, end]`` whose targets are complete inside the data, all horizons."""
    ts = c["ts"]
    m = origins_mask(ts) & (ts >= ts_of(start)) & (ts <= ts_of(end) + DAY_NS)
    idx = np.flatnonzero(m)
    days = pd.DatetimeIndex(ts[idx], tz="UTC").tz_convert(None).normalize()
    cols = {}
    for j, h in enumerate(HORIZONS):
        cols[f"rv{h}"] = c["Y"][idx, j]
        cols[f"f{h}"] = F[idx, j]
    return pd.DataFrame(cols, index=days)


def bias_and_qlike(c: dict, F: np.ndarray, start: str, end: str, target_end: str | None = None) -> pd.DataFrame:
    """Per calendar year and horizon: mean(RV)/mean(F), mean QLIKE, n (origins with targets ending by
    ``target_end`` when given)."""
    d = daily_frame(c, F, start, end)
    rows = []
    for h in HORIZONS:
        sub = d[[f"rv{h}", f"f{h}"]].dropna()
        if target_end is not None:
            sub = sub[sub.index + pd.Timedelta(days=h) <= pd.Timestamp(target_end)]
        for yr, g in sub.groupby(sub.index.year):
            rows.append({"year": yr, "h": h, "n": len(g), "bias": g[f"rv{h}"].mean() / g[f"f{h}"].mean(),
                         "qlike": qlike(g[f"rv{h}"], g[f"f{h}"]).mean()})
    return pd.DataFrame(rows)


def md_table(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in df.iterrows():
        cells = []
        for c_ in cols:
            v = r[c_]
            if isinstance(v, (float, np.floating)):
                cells.append("-" if not math.isfinite(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# the daily panel of the variance research prototype (docs/research/variance/varswap.py)
# ------------------------------------------------------------------------------------------------
def daily_panel(c: dict, forecasts: dict) -> pd.DataFrame:
    """One row per UTC day (contiguous): close and DVOL (points) at the day's last bar, ``rvd`` (the day's
    realized variance in variance points of a 30-day swap), ``rv`` (the swap's realized variance opened that
    day), ``iv2`` and ``F_<name>`` (30-day forecasts in variance points) for ``forecasts`` (name -> (n, 3)
    hourly arrays). Built on the complete hourly grid of ``straddle_sim`` (gaps carry the last close)."""
    from straddle_sim import hourly_grid

    ann = 365.0 / 30.0 * 1e4
    g = hourly_grid(c, {f"F_{k}": v[:, 2] for k, v in forecasts.items()})
    r2 = np.log(g["close"]).diff().fillna(0.0) ** 2
    day = g.index.tz_convert(None).normalize()
    rvd = r2.groupby(day).sum()
    last = g[g.index.hour == 23]
    p = pd.DataFrame(index=last.index.tz_convert(None).normalize())
    p["close"] = last["close"].to_numpy()
    p["dvol"] = last["iv"].to_numpy() * 100.0
    p["iv2"] = p["dvol"] ** 2
    p["rvd"] = rvd.reindex(p.index).to_numpy() * ann
    p["rv"] = p["rvd"].rolling(30).sum().shift(-30)
    for k in forecasts:
        p[f"F_{k}"] = last[f"F_{k}"].to_numpy() * ann
    assert (p.index.to_series().diff().dropna() == pd.Timedelta("1D")).all()
    return p
