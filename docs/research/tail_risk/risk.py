"""Tail risk at a variance forecast's horizon: h-day VaR and ES, long and short, from any forecaster.

Prototype for issue #30 (numpy / pandas / scipy only).  Conventions used everywhere:

* **Origins.** One row per forecast origin (each UTC day's last bar, its close at 24:00 UTC).
  ``variance`` is the forecaster's h-day variance made at that close; ``returns`` is the h-day
  log return from that close to the close h days later (NaN where it is not complete in the data).
* **Losses are positive numbers in log-return units.**  The long position's VaR is
  ``-q_{1-a}(r)``, its ES ``-E[r | r <= q_{1-a}(r)]``; the short position's VaR is ``q_a(r)``,
  its ES ``E[r | r >= q_a(r)]``.  A loss in price terms is ``1 - exp(-VaR)`` for a long and
  ``exp(VaR) - 1`` for a short.
* **Standardised returns.** ``z_t = r_{t,h} / sqrt(F_{t,h})``.  Multi-day returns are standardised
  by the multi-day forecast (not by sqrt(h) times the 1-day one).
* **Causality.** The residual of origin ``t`` is known at ``t + h days`` (its return has ended).
  The VaR/ES made at origin ``s`` uses only residuals with ``t + h days <= s`` (so with h = 1 the
  newest residual is the one whose day just closed), the last ``window`` of them.

Filtered historical simulation (FHS, Barone-Adesi et al. 1999; Hull & White 1998):
``VaR_{s} = -sqrt(F_s) * q_{1-a}(pool_s)``, ``ES_s = -sqrt(F_s) * mean(pool_s <= q_{1-a_ES})``.
Empirical quantiles use numpy's default (linear interpolation, "type 7"); the ES is the mean of the
pool values at or beyond its own quantile.

**Fallback** before ``min_residuals`` residuals exist in the pool (the start of a series, or for a
trained network whose in-sample residuals are excluded with ``pool_from``): the parametric
alternative named by ``fallback`` (default: a unit-variance Student-t with ``fallback_dof``), so
every origin with a forecast gets a VaR/ES and the ``source`` column says which method made it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = ["RiskSpec", "standardised_returns", "residual_pool_bounds", "fhs_quantiles",
           "parametric_quantiles", "t_unit_var_es", "forecast_risk", "null_sampler", "to_price_loss"]

DAY_NS = pd.Timedelta("1D").value


@dataclass(frozen=True)
class RiskSpec:
    """How a risk forecast is made.

    Parameters
    ----------
    horizon : int
        Days ``h``; ``variance`` must be the h-day forecast and ``returns`` the h-day return.
    var_level, es_level : float
        Confidence levels of the VaR and of the ES (defaults 0.99 and 0.975, Basel's).
    method : {"fhs", "normal", "t"}
        Filtered historical simulation or a parametric alternative.
    window : int or None
        FHS pool size (the last ``window`` known residuals); None: expanding.
    min_residuals : int
        Pool size below which the FHS uses ``fallback``.
    fallback : {"normal", "t"}
        Parametric method used before ``min_residuals`` residuals exist.
    fallback_dof, dof : float or "fit"
        Student-t degrees of freedom (> 2) of the fallback / of ``method="t"``; ``"fit"`` (``dof``
        only) estimates them by maximum likelihood on the same causal pool, refit every
        ``refit_every`` origins.
    scale : {"unit", "pool"}
        Parametric methods: the standardised return's variance is 1 (the forecast taken at its word)
        or the pool's mean of z^2 (a causal correction of the forecast's bias).
    pool_from : str or Timestamp, optional
        Residuals of origins before this date never enter the pool (e.g. a trained network's
        in-sample period).
    """

    horizon: int = 1
    var_level: float = 0.99
    es_level: float = 0.975
    method: str = "fhs"
    window: int | None = 1000
    min_residuals: int = 250
    fallback: str = "t"
    fallback_dof: float = 5.0
    dof: float | str = 5.0
    scale: str = "unit"
    refit_every: int = 30
    pool_from: str | pd.Timestamp | None = None

    def __post_init__(self) -> None:
        if not (0.5 < self.var_level < 1 and 0.5 < self.es_level < 1):
            raise ValueError("levels must lie in (0.5, 1)")
        if self.method not in ("fhs", "normal", "t") or self.fallback not in ("normal", "t"):
            raise ValueError(f"unknown method {self.method!r} / fallback {self.fallback!r}")
        if self.horizon < 1 or (self.window is not None and self.window < 2) or self.min_residuals < 2:
            raise ValueError("horizon >= 1, window >= 2 and min_residuals >= 2 are required")


def standardised_returns(returns: pd.Series, variance: pd.Series) -> pd.Series:
    """``r / sqrt(F)``: NaN where either is missing or the forecast is not positive."""
    f = variance.reindex(returns.index).to_numpy(dtype="float64")
    r = returns.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(f > 0, r / np.sqrt(f), np.nan)
    return pd.Series(z, index=returns.index, name="z")


def residual_pool_bounds(index: pd.DatetimeIndex, horizon: int, window: int | None,
                         usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each origin, the positions ``[lo, hi)`` (into the array of *usable* residuals, in origin
    order) of the causal pool: residuals whose h-day return ended at or before the origin's close.

    The residual of origin ``t`` ends at ``t + h`` days; ``index`` holds the origins' bar open times,
    which differ from their closes by the same bar length for every origin, so comparing open times
    is the same as comparing closes.
    """
    ts = pd.DatetimeIndex(index).as_unit("ns").asi8     # pandas 3 indexes default to microseconds
    known_at = ts[usable] + horizon * DAY_NS
    hi = np.searchsorted(known_at, ts, side="right")     # residuals known at each origin
    lo = np.zeros_like(hi) if window is None else np.maximum(hi - window, 0)
    return lo, hi


def fhs_quantiles(z: np.ndarray, lo: np.ndarray, hi: np.ndarray, var_level: float, es_level: float
                  ) -> np.ndarray:
    """Per origin, in z units, of the pool ``z[lo:hi]``: ``(q_var_lo, q_es_lo, es_lo, q_var_hi,
    q_es_hi, es_hi)``: the lower-tail quantiles at ``1 - var_level`` and ``1 - es_level``, the mean
    at or below the latter (the lower ES), and the upper tail mirrored.  NaN where the pool is empty.
    """
    out = np.full((len(lo), 6), np.nan)
    a_v, a_e = 1.0 - var_level, 1.0 - es_level
    for i, (a, b) in enumerate(zip(lo, hi)):
        if b - a < 1:
            continue
        pool = z[a:b]
        q = np.quantile(pool, [a_v, a_e, 1 - a_v, 1 - a_e])
        out[i] = (q[0], q[1], pool[pool <= q[1]].mean(), q[2], q[3], pool[pool >= q[3]].mean())
    return out


def t_unit_var_es(p: float, dof: float) -> tuple[float, float]:
    """Lower-tail quantile and expected shortfall (``E[X | X <= q]``) at probability ``p`` of a
    Student-t with ``dof`` degrees of freedom scaled to unit variance.

    Closed form (e.g. McNeil, Frey & Embrechts 2015, ex. 2.15): for the standard t,
    ``E[T | T <= x] = -f(x) (dof + x^2) / ((dof - 1) p)`` with ``x = t^{-1}(p)``.
    """
    if dof <= 2:
        raise ValueError("a unit-variance t needs dof > 2")
    x = stats.t.ppf(p, dof)
    es = -stats.t.pdf(x, dof) * (dof + x * x) / ((dof - 1.0) * p)
    s = np.sqrt((dof - 2.0) / dof)
    return float(x * s), float(es * s)


def _normal_q_es(p: float) -> tuple[float, float]:
    x = stats.norm.ppf(p)
    return float(x), float(-stats.norm.pdf(x) / p)


def _fit_dof(pool: np.ndarray) -> float:
    """Maximum-likelihood dof (location 0, free scale) of a Student-t on ``pool``, in [2.1, 100]."""
    pool = pool[np.isfinite(pool)]

    def nll(params):
        dof, log_s = params
        return -stats.t.logpdf(pool, dof, scale=np.exp(log_s)).sum()

    res = optimize.minimize(nll, x0=[5.0, np.log(pool.std() * np.sqrt(3 / 5))],
                            bounds=[(2.1, 100.0), (-5.0, 5.0)], method="L-BFGS-B")
    return float(res.x[0])


def parametric_quantiles(n: int, dist: str, dof, var_level: float, es_level: float,
                         scale: np.ndarray | None = None) -> np.ndarray:
    """The same six columns as :func:`fhs_quantiles` for a symmetric zero-mean distribution.

    ``dist`` is ``"normal"`` or ``"t"`` (unit variance, ``dof`` scalar or per-origin array);
    ``scale`` (per origin) multiplies the standardised distribution (e.g. the pool's RMS of z).
    """
    dofs = np.broadcast_to(np.asarray(dof, dtype="float64"), (n,))
    out = np.empty((n, 6))
    memo: dict[float, tuple] = {}
    for i in range(n):
        d = float(dofs[i])
        if d not in memo:
            if dist == "normal":
                qv, _ = _normal_q_es(1 - var_level)
                qe, ee = _normal_q_es(1 - es_level)
            else:
                qv, _ = t_unit_var_es(1 - var_level, d)
                qe, ee = t_unit_var_es(1 - es_level, d)
            memo[d] = (qv, qe, ee, -qv, -qe, -ee)
        out[i] = memo[d]
    if scale is not None:
        out *= np.asarray(scale, dtype="float64")[:, None]
    return out


def forecast_risk(variance: pd.Series, returns: pd.Series, spec: RiskSpec = RiskSpec(),
                  reference_residuals: pd.Series | None = None) -> pd.DataFrame:
    """VaR and ES, long and short, at every origin with a forecast.

    Parameters
    ----------
    variance : Series
        h-day variance forecasts indexed by origin (UTC, one per day).
    returns : Series
        h-day log returns from each origin (same index; NaN where not complete).  Only returns that
        ended at or before an origin's close enter that origin's pool.
    spec : RiskSpec
        Method, levels, window, fallback.
    reference_residuals : Series, optional
        Standardised returns of another forecaster (e.g. log-HAR's, indexed by origin) whose causal
        pool replaces the parametric fallback while this forecaster's own pool is too small (source
        ``"fhs_ref"``); the parametric fallback still applies while the reference pool is too small.

    Returns
    -------
    DataFrame
        Index: the origins.  ``var_long, es_long, var_short, es_short`` (positive losses, log-return
        units, ``var_level`` / ``es_level``), ``sigma`` (sqrt of the forecast), ``z_q_long`` ... (the
        same in z units), ``n_pool`` (residuals in the pool), ``source`` (``"fhs"``, ``"normal"``,
        ``"t"``; the fallback's name where the FHS fell back), ``dof`` (t methods).
    """
    idx = variance.index
    returns = returns.reindex(idx)
    f = variance.to_numpy(dtype="float64")
    sigma = np.sqrt(np.where(f > 0, f, np.nan))
    z_all = standardised_returns(returns, variance).to_numpy()
    usable = np.isfinite(z_all)
    if spec.pool_from is not None:
        first = pd.Timestamp(spec.pool_from)
        if idx.tz is not None and first.tz is None:
            first = first.tz_localize(idx.tz)
        usable &= np.asarray(idx >= first)
    z = z_all[usable]
    lo, hi = residual_pool_bounds(idx, spec.horizon, spec.window, usable)
    n_pool = hi - lo
    n = len(idx)
    zq = np.full((n, 6), np.nan)
    source = np.full(n, "", dtype=object)
    ref_pool = None
    dof_used = np.full(n, np.nan)

    def rms_scale(rows):
        if spec.scale != "pool":
            return None
        return np.array([np.sqrt(np.mean(z[lo[i]:hi[i]] ** 2)) if n_pool[i] >= spec.min_residuals else 1.0
                         for i in rows])

    enough = n_pool >= spec.min_residuals
    if spec.method == "fhs":
        rows = np.flatnonzero(enough)
        zq[rows] = fhs_quantiles(z, lo[rows], hi[rows], spec.var_level, spec.es_level)
        source[rows] = "fhs"
        fb = np.flatnonzero(~enough)
        if reference_residuals is not None and len(fb):
            zr_all = reference_residuals.reindex(idx).to_numpy(dtype="float64")
            ok_r = np.isfinite(zr_all)
            lo_r, hi_r = residual_pool_bounds(idx, spec.horizon, spec.window, ok_r)
            use = fb[(hi_r - lo_r)[fb] >= spec.min_residuals]
            zq[use] = fhs_quantiles(zr_all[ok_r], lo_r[use], hi_r[use], spec.var_level, spec.es_level)
            source[use] = "fhs_ref"
            fb = np.setdiff1d(fb, use)
            ref_pool = (zr_all[ok_r], lo_r, hi_r)
        zq[fb] = parametric_quantiles(len(fb), spec.fallback, spec.fallback_dof, spec.var_level, spec.es_level)
        source[fb] = spec.fallback
        if spec.fallback == "t":
            dof_used[fb] = spec.fallback_dof
    else:
        rows = np.arange(n)
        if spec.method == "t" and spec.dof == "fit":
            dofs = np.full(n, spec.fallback_dof)
            last_fit, current = -10**9, spec.fallback_dof
            for i in rows:
                if enough[i] and i - last_fit >= spec.refit_every:
                    current, last_fit = _fit_dof(z[lo[i]:hi[i]]), i
                dofs[i] = current if enough[i] else spec.fallback_dof
        else:
            dofs = np.full(n, float(spec.dof) if spec.method == "t" else np.nan)
        zq[rows] = parametric_quantiles(n, spec.method, dofs, spec.var_level, spec.es_level, rms_scale(rows))
        source[:] = spec.method
        dof_used[:] = dofs if spec.method == "t" else np.nan
    out = pd.DataFrame({
        "var_long": -zq[:, 0] * sigma, "es_long": -zq[:, 2] * sigma,
        "var_short": zq[:, 3] * sigma, "es_short": zq[:, 5] * sigma,
        "var_es_long": -zq[:, 1] * sigma, "var_es_short": zq[:, 4] * sigma,   # VaR at the ES's level
        "sigma": sigma, "zq_long": zq[:, 0], "zqe_long": zq[:, 1], "zes_long": zq[:, 2],
        "zq_short": zq[:, 3], "zqe_short": zq[:, 4], "zes_short": zq[:, 5],
        "n_pool": n_pool, "source": source, "dof": dof_used}, index=idx)
    cols = ["var_long", "es_long", "var_short", "es_short", "var_es_long", "var_es_short"]
    out.loc[~np.isfinite(sigma), cols] = np.nan
    out.attrs["spec"] = spec
    out.attrs["pool"] = (z, lo, hi)     # for simulation under the null (see null_sampler)
    out.attrs["ref_pool"] = ref_pool
    return out


def null_sampler(risk: pd.DataFrame, seed: int = 0):
    """A function ``draw(n_sims) -> (n_sims, T) array`` of standardised returns drawn from each
    origin's own predictive distribution (its FHS pool, or its parametric law): the null of a
    correct risk model, for simulated p-values of ES backtests (e.g. Acerbi-Szekely Z2)."""
    z, lo, hi = risk.attrs["pool"]
    spec: RiskSpec = risk.attrs["spec"]
    src = risk["source"].to_numpy()
    dof = risk["dof"].to_numpy()
    rng = np.random.default_rng(seed)
    if spec.method != "fhs" and spec.scale == "pool":
        raise NotImplementedError("null sampling of pool-scaled parametric forecasts")
    fhs = src == "fhs"
    ref = src == "fhs_ref"
    norm = src == "normal"
    tt = src == "t"

    def draw(n_sims: int) -> np.ndarray:
        T = len(src)
        out = np.empty((n_sims, T))
        if fhs.any():
            a, b = lo[fhs], hi[fhs]
            k = a[None, :] + np.floor(rng.random((n_sims, fhs.sum())) * (b - a)[None, :]).astype(int)
            out[:, fhs] = z[k]
        if ref.any():
            zr, lo_r, hi_r = risk.attrs["ref_pool"]
            a, b = lo_r[ref], hi_r[ref]
            k = a[None, :] + np.floor(rng.random((n_sims, ref.sum())) * (b - a)[None, :]).astype(int)
            out[:, ref] = zr[k]
        if norm.any():
            out[:, norm] = rng.standard_normal((n_sims, norm.sum()))
        if tt.any():
            d = dof[tt]
            out[:, tt] = rng.standard_t(d[None, :], size=(n_sims, tt.sum())) * np.sqrt((d - 2) / d)[None, :]
        return out

    return draw


def to_price_loss(var_log: np.ndarray | pd.Series, side: str = "long"):
    """A log-return loss as a fraction of the position's value: ``1 - exp(-x)`` long, ``exp(x) - 1`` short."""
    x = np.asarray(var_log, dtype="float64")
    return 1.0 - np.exp(-x) if side == "long" else np.expm1(x)
