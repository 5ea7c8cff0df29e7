"""Power and sample size of the project's comparisons: how much data a verdict needs.

Every comparison the project reports ("not significant", a goal line, a DM test, a Sharpe difference) has a
**minimum detectable effect** (MDE): the smallest true effect its sample would detect with probability
``power`` (80%) in a two-sided test at level ``alpha`` (5%). With a standard error ``se`` of the estimate,

.. math:: \\text{MDE} = (z_{1-\\alpha/2} + z_{\\text{power}})\\, \\text{se},

and the sample that would detect an effect ``delta`` is ``n = (z_{1-alpha/2} + z_power)^2 v / delta^2`` where
``v = n se^2`` is the per-observation (long-run) variance. (The normal approximation; the opposite tail's
rejections are ignored, which understates power by less than 0.1% at 80%.)

Three comparisons are covered:

(a) a mean, or a mean difference of paired daily series, with a Newey-West (HAC) variance: daily P&L of two
    books, per-origin P&L of overlapping 30-day positions (use ``lags >= horizon - 1``);
(b) a Diebold-Mariano comparison: (a) applied to the loss differential ``L_a - L_b``, with the MDE also
    expressed as a ratio of mean losses (the way the project reports QLIKE);
(c) a difference of Sharpe ratios: the Jobson-Korkie variance with Memmel's (2003) correction (iid normal
    returns), its HAC generalisation by the delta method (Ledoit & Wolf 2008), or a stationary-bootstrap
    variance (Politis & Romano 1994).

Only numpy and scipy are used. Functions take 1-d arrays (NaN-free) and return floats or small dicts.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy.stats import norm

__all__ = ["z_sum", "newey_west_lags", "newey_west_variance", "mde_from_se", "required_n",
           "mean_power", "paired_mean_power", "dm_power", "sharpe_diff_variance", "sharpe_diff_power",
           "stationary_bootstrap_indices", "power_at"]


# ----------------------------------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------------------------------
def z_sum(alpha: float = 0.05, power: float = 0.8, two_sided: bool = True) -> float:
    """``z_{1-alpha/2} + z_{power}`` (two-sided) or ``z_{1-alpha} + z_{power}``: 2.8016 at 5% and 80%."""
    if not (0 < alpha < 1 and 0 < power < 1):
        raise ValueError("alpha and power must be in (0, 1)")
    return float(norm.ppf(1 - alpha / 2 if two_sided else 1 - alpha) + norm.ppf(power))


def newey_west_lags(n: int, horizon: int = 1) -> int:
    """Default truncation lag: the Newey-West (1994) plug-in ``floor(4 (n/100)^(2/9))``, and at least
    ``horizon - 1`` (an ``h``-day overlapping series is MA(h-1) under the null)."""
    return int(max(math.floor(4 * (n / 100.0) ** (2.0 / 9.0)), horizon - 1, 0))


def newey_west_variance(x: np.ndarray, lags: int | None = None) -> float:
    """Long-run variance of ``x`` (Bartlett kernel): ``g0 + 2 sum_{k=1..L} (1 - k/(L+1)) g_k``.

    ``g_k`` are autocovariances around the sample mean, divided by ``n`` (so ``lags=0`` gives
    ``x.var(ddof=0)``). The variance of the sample mean is this over ``n``. Floored at a tenth of ``g0``
    so that a negative-autocorrelation artefact never yields a zero or negative variance.
    """
    x = np.asarray(x, dtype="float64")
    n = len(x)
    if n < 2:
        raise ValueError("need at least 2 observations")
    lags = newey_west_lags(n) if lags is None else int(lags)
    e = x - x.mean()
    g0 = float(e @ e) / n
    lrv = g0
    for k in range(1, min(lags, n - 1) + 1):
        lrv += 2.0 * (1.0 - k / (lags + 1.0)) * float(e[k:] @ e[:-k]) / n
    return max(lrv, 0.1 * g0)


def mde_from_se(se: float, alpha: float = 0.05, power: float = 0.8, two_sided: bool = True) -> float:
    """Minimum detectable effect of an estimate with standard error ``se``."""
    return z_sum(alpha, power, two_sided) * float(se)


def required_n(effect: float, per_obs_variance: float, alpha: float = 0.05, power: float = 0.8,
               two_sided: bool = True) -> float:
    """Observations needed to detect ``effect`` when the estimate's variance is ``per_obs_variance / n``.

    Returns ``inf`` for a zero effect. Not rounded (callers report ``ceil``).
    """
    if effect == 0 or not np.isfinite(effect):
        return math.inf
    return z_sum(alpha, power, two_sided) ** 2 * float(per_obs_variance) / float(effect) ** 2


def power_at(effect: float, se: float, alpha: float = 0.05, two_sided: bool = True) -> float:
    """Power of the (normal) test to detect ``effect`` given ``se`` (both tails when two-sided)."""
    if se <= 0:
        return 1.0
    z = norm.ppf(1 - alpha / 2 if two_sided else 1 - alpha)
    s = abs(effect) / se
    return float(norm.cdf(s - z) + (norm.cdf(-s - z) if two_sided else 0.0))


# ----------------------------------------------------------------------------------------------
# (a) means and paired mean differences with HAC variance
# ----------------------------------------------------------------------------------------------
def mean_power(x: np.ndarray, lags: int | None = None, alpha: float = 0.05, power: float = 0.8,
               two_sided: bool = True) -> dict:
    """MDE at ``power`` of a test that the mean of ``x`` is 0, with a Newey-West standard error.

    Returns
    -------
    dict
        ``estimate`` (the mean), ``se``, ``t``, ``n``, ``lags``, ``lrv`` (per-observation long-run variance),
        ``mde`` (same units as ``x``), ``power_observed`` (power against an effect equal to the estimate)
        and ``n_required`` (observations that would detect the observed mean at ``power``; same dependence).
    """
    x = np.asarray(x, dtype="float64")
    n = len(x)
    lags = newey_west_lags(n) if lags is None else int(lags)
    lrv = newey_west_variance(x, lags)
    se = math.sqrt(lrv / n)
    est = float(x.mean())
    return {"estimate": est, "se": se, "t": est / se if se > 0 else math.nan, "n": n, "lags": lags, "lrv": lrv,
            "mde": mde_from_se(se, alpha, power, two_sided), "power_observed": power_at(est, se, alpha, two_sided),
            "n_required": required_n(est, lrv, alpha, power, two_sided)}


def paired_mean_power(a: np.ndarray, b: np.ndarray, lags: int | None = None, alpha: float = 0.05,
                      power: float = 0.8, two_sided: bool = True) -> dict:
    """:func:`mean_power` of the paired difference ``a - b`` (same dates, e.g. two books' daily P&L)."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    if a.shape != b.shape:
        raise ValueError("a and b must be paired (same length)")
    return mean_power(a - b, lags, alpha, power, two_sided)


# ----------------------------------------------------------------------------------------------
# (b) Diebold-Mariano
# ----------------------------------------------------------------------------------------------
def dm_power(loss_a: np.ndarray, loss_b: np.ndarray, horizon: int = 1, lags: int | None = None,
             alpha: float = 0.05, power: float = 0.8) -> dict:
    """Power of a Diebold-Mariano test of equal mean loss (two-sided), on the loss differential.

    The differential ``d = loss_a - loss_b`` of ``horizon``-step forecasts is MA(h-1) under the null; the
    default lag is ``max(h - 1, NW plug-in)`` (:func:`newey_west_lags`). The DM statistic is the HAC t of
    the mean of ``d`` (the Harvey-Leybourne-Newbold small-sample factor changes it by under 3% at the
    project's sample sizes and is not applied here).

    Returns
    -------
    dict
        :func:`mean_power`'s keys for ``d``, plus ``ratio`` (mean loss_a / mean loss_b, the project's
        "QLIKE ratio"), ``mde_ratio_low`` / ``mde_ratio_high`` (the loss ratios ``1 -+ mde / mean(loss_b)``
        the sample would detect at ``power``) and ``n_required`` for the observed ratio.
    """
    loss_a, loss_b = np.asarray(loss_a, dtype="float64"), np.asarray(loss_b, dtype="float64")
    lags = newey_west_lags(len(loss_a), horizon) if lags is None else int(lags)
    out = paired_mean_power(loss_a, loss_b, lags, alpha, power, True)
    base = float(loss_b.mean())
    out.update(ratio=float(loss_a.mean()) / base, mde_ratio_low=1.0 - out["mde"] / base,
               mde_ratio_high=1.0 + out["mde"] / base)
    return out


# ----------------------------------------------------------------------------------------------
# (c) Sharpe ratio differences
# ----------------------------------------------------------------------------------------------
def stationary_bootstrap_indices(n: int, block: float, rng: np.random.Generator) -> np.ndarray:
    """One draw of Politis & Romano's stationary bootstrap: indices of ``n`` observations in blocks of
    geometric length with mean ``block``, wrapping around the end."""
    idx = np.empty(n, dtype=np.int64)
    p = 1.0 / block
    starts = rng.random(n) < p
    starts[0] = True
    new = rng.integers(0, n, size=n)
    cur = 0
    for t in range(n):
        cur = new[t] if starts[t] else (cur + 1) % n
        idx[t] = cur
    return idx


def _sharpe(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0, ddof=1)
    return x.mean(axis=0) / sd


def sharpe_diff_variance(a: np.ndarray, b: np.ndarray,
                         method: Literal["memmel", "hac", "bootstrap"] = "hac", lags: int | None = None,
                         reps: int = 1000, block: float = 10.0, seed: int = 0) -> float:
    """Per-observation variance ``v`` of the difference of per-period Sharpe ratios: ``Var(SR_a - SR_b) ~ v / n``.

    * ``memmel``: Jobson & Korkie (1981) with Memmel's (2003) correction, iid normal returns:
      ``v = 2 (1 - rho) + (SR_a^2 + SR_b^2 - 2 SR_a SR_b rho^2) / 2``.
    * ``hac``: the delta method on the moments ``(mean a, mean b, mean a^2, mean b^2)`` with their
      Newey-West long-run covariance (Ledoit & Wolf 2008, eq. 3.3): no normality, serial dependence allowed.
    * ``bootstrap``: ``n`` times the variance of the difference over ``reps`` stationary-bootstrap draws
      (mean block ``block``).
    """
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    n = len(a)
    if method == "memmel":
        sa, sb = float(_sharpe(a)), float(_sharpe(b))
        rho = float(np.corrcoef(a, b)[0, 1])
        return 2.0 * (1.0 - rho) + 0.5 * (sa**2 + sb**2 - 2.0 * sa * sb * rho**2)
    if method == "hac":
        mu = np.array([a.mean(), b.mean(), (a**2).mean(), (b**2).mean()])
        y = np.column_stack([a - mu[0], b - mu[1], a**2 - mu[2], b**2 - mu[3]])
        lags = newey_west_lags(n) if lags is None else int(lags)
        psi = y.T @ y / n
        for k in range(1, min(lags, n - 1) + 1):
            g = y[k:].T @ y[:-k] / n
            psi += (1.0 - k / (lags + 1.0)) * (g + g.T)
        va, vb = mu[2] - mu[0] ** 2, mu[3] - mu[1] ** 2
        grad = np.array([mu[2] / va**1.5, -mu[3] / vb**1.5, -0.5 * mu[0] / va**1.5, 0.5 * mu[1] / vb**1.5])
        return float(grad @ psi @ grad)
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        pair = np.column_stack([a, b])
        draws = np.empty(reps)
        for r in range(reps):
            s = _sharpe(pair[stationary_bootstrap_indices(n, block, rng)])
            draws[r] = s[0] - s[1]
        draws = draws[np.isfinite(draws)]
        return float(n * draws.var(ddof=1))
    raise ValueError(f"method={method!r}: choose memmel, hac or bootstrap")


def sharpe_diff_power(a: np.ndarray, b: np.ndarray, periods_per_year: float = 365.0,
                      method: Literal["memmel", "hac", "bootstrap"] = "hac", lags: int | None = None,
                      alpha: float = 0.05, power: float = 0.8, **kw) -> dict:
    """MDE of an annualised Sharpe difference (paired daily P&L ``a``, ``b``) and the sample that would
    detect the observed one.

    Returns
    -------
    dict
        ``diff`` (annualised Sharpe a - b), ``se`` (annualised), ``mde`` (annualised Sharpe points),
        ``n``, ``n_required`` (observations, at the same per-observation variance) and ``years_required``.
    """
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    n = len(a)
    v = sharpe_diff_variance(a, b, method, lags, **kw)
    ann = math.sqrt(periods_per_year)
    diff = float(_sharpe(a) - _sharpe(b))
    se = math.sqrt(v / n)
    need = required_n(diff, v, alpha, power)
    return {"diff": diff * ann, "se": se * ann, "mde": mde_from_se(se, alpha, power) * ann, "n": n,
            "n_required": need, "years_required": need / periods_per_year,
            "power_observed": power_at(diff, se, alpha)}
