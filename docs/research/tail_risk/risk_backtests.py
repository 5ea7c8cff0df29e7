"""Backtests of VaR and ES forecasts (prototype for issue #30; numpy / pandas / scipy, statsmodels for DM).

Sign conventions follow :mod:`risk`: ``var`` and ``es`` are positive losses in log-return units;
a long position's loss is ``-r``, a short's ``r``.  ``p = 1 - level`` is the tail probability.

Tests
-----
* :func:`kupiec_pof` — unconditional coverage (Kupiec 1995), LR ~ chi2(1).
* :func:`christoffersen` — independence (first-order Markov) and conditional coverage
  (Christoffersen 1998), LR_ind ~ chi2(1), LR_cc = LR_uc + LR_ind ~ chi2(2).
* :func:`basel_zone` / :func:`traffic_light` — Basel traffic-light zones per calendar year.  The
  Basel table (BCBS 1996) is the binomial one for 250 observations at 99%: green while the
  cumulative probability of at most the observed breaches is below 95% (0-4), yellow below 99.99%
  (5-9), red beyond (10+).  Crypto trades 365 days a year, so each year is zoned with the *same
  cumulative-probability cut-offs* applied to a Binomial(n_year, p) with the year's own number of
  observations (a full 365-day year at 99%: green 0-6, yellow 7-12, red 13+; a partial year gets its
  own cut-offs).  This keeps the Basel test size (5% yellow, 0.01% red under a correct model) instead
  of rescaling the 250-day thresholds.
* :func:`es_ratio` — realised loss / ES on the days the loss exceeded the VaR at the ES's level
  (mean of ``L_t / ES_t``; 1 for a correct ES, Acerbi–Szekely's ``1 - Z1``).
* :func:`acerbi_szekely_z2` — Acerbi & Szekely (2014) Z2 with a p-value simulated under the model's
  own predictive distributions (see :func:`risk.null_sampler`).
* :func:`mcneil_frey` — McNeil & Frey (2000) exceedance-residual test, one-sided (ES too small),
  bootstrap p-value (Efron & Tibshirani's centred bootstrap).
* :func:`fz0_loss` — the FZ0 loss of Patton, Ziegel & Chen (2019), the zero-degree-homogeneous member
  of the Fissler & Ziegel (2016) class, jointly consistent for (VaR, ES).
* :func:`dm_test` — Diebold–Mariano on two loss series: statsmodels' test (Newey–West HAC with
  ``max(h - 1, ceil(T^(1/3)))`` lags, Harvey–Leybourne–Newbold correction, Student-t p-value), the
  same as the library's ``evaluation.diebold_mariano``.
* Overlap-robust coverage for h > 1: :func:`hac_coverage_test` (t-test of the mean breach indicator
  with a Hansen–Hodrick long-run variance over h - 1 lags, Newey–West if that is not positive) and
  :func:`nonoverlapping_kupiec` (Kupiec on each of the h non-overlapping subsamples, Bonferroni).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["breaches", "kupiec_pof", "christoffersen", "basel_zone", "basel_cutoffs", "traffic_light",
           "es_ratio", "acerbi_szekely_z2", "mcneil_frey", "fz0_loss", "dm_test", "hac_coverage_test",
           "nonoverlapping_kupiec", "coverage_summary"]


def _loss(returns, side: str) -> np.ndarray:
    r = np.asarray(returns, dtype="float64")
    if side not in ("long", "short"):
        raise ValueError(f"side must be 'long' or 'short', not {side!r}")
    return -r if side == "long" else r


def breaches(returns, var, side: str = "long") -> np.ndarray:
    """Boolean breach indicator: the position's loss exceeded the VaR (NaN inputs: False; filter first)."""
    with np.errstate(invalid="ignore"):
        return _loss(returns, side) > np.asarray(var, dtype="float64")


def _xlogy(x, y):
    return 0.0 if x == 0 else x * np.log(y)


def kupiec_pof(n_breaches: int, n: int, p: float) -> dict:
    """Kupiec's proportion-of-failures LR test of ``P(breach) = p``.

    ``LR = -2 [ (n-x) log(1-p) + x log p - (n-x) log(1-x/n) - x log(x/n) ]`` ~ chi2(1).
    """
    x, n = int(n_breaches), int(n)
    if n <= 0:
        return {"lr": np.nan, "pvalue": np.nan, "rate": np.nan, "n": n, "breaches": x}
    phat = x / n
    ll0 = _xlogy(n - x, 1 - p) + _xlogy(x, p)
    ll1 = _xlogy(n - x, 1 - phat) + _xlogy(x, phat)
    lr = max(-2.0 * (ll0 - ll1), 0.0)
    return {"lr": lr, "pvalue": float(stats.chi2.sf(lr, 1)), "rate": phat, "n": n, "breaches": x}


def christoffersen(hits, p: float) -> dict:
    """Christoffersen's independence (Markov) and conditional-coverage LR tests."""
    h = np.asarray(hits, dtype=bool)
    a, b = h[:-1], h[1:]
    n00 = int(np.sum(~a & ~b)); n01 = int(np.sum(~a & b))
    n10 = int(np.sum(a & ~b)); n11 = int(np.sum(a & b))
    pi01 = n01 / max(n00 + n01, 1)
    pi11 = n11 / max(n10 + n11, 1)
    pi = (n01 + n11) / max(n00 + n01 + n10 + n11, 1)
    ll_ind = (_xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11))
    ll_0 = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    lr_ind = max(-2.0 * (ll_0 - ll_ind), 0.0)
    uc = kupiec_pof(int(h.sum()), len(h), p)
    lr_cc = uc["lr"] + lr_ind
    return {"lr_ind": lr_ind, "pvalue_ind": float(stats.chi2.sf(lr_ind, 1)),
            "lr_cc": lr_cc, "pvalue_cc": float(stats.chi2.sf(lr_cc, 2)),
            "n11": n11, "pi01": pi01, "pi11": pi11}


def basel_cutoffs(n: int, p: float = 0.01, yellow: float = 0.95, red: float = 0.9999) -> tuple[int, int]:
    """First breach count of the yellow and of the red zone for ``n`` observations (see module doc)."""
    k = np.arange(n + 1)
    cdf = stats.binom.cdf(k, n, p)
    y = int(k[np.argmax(cdf >= yellow)])
    r = int(k[np.argmax(cdf >= red)]) if (cdf >= red).any() else n + 1
    return y, r


def basel_zone(n_breaches: int, n: int, p: float = 0.01) -> str:
    """"green", "yellow" or "red" for ``n_breaches`` in ``n`` observations (Basel cut-offs by binomial
    cumulative probability: 95% and 99.99%)."""
    y, r = basel_cutoffs(n, p)
    return "green" if n_breaches < y else ("yellow" if n_breaches < r else "red")


def traffic_light(hits: pd.Series, p: float = 0.01, min_obs: int = 60) -> pd.DataFrame:
    """Per calendar year: observations, breaches, expected, the year's cut-offs and its zone.

    Years with fewer than ``min_obs`` observations are listed but not zoned (zone "n/a")."""
    rows = []
    for year, h in hits.groupby(hits.index.year):
        n, x = int(h.size), int(h.sum())
        y, r = basel_cutoffs(n, p)
        rows.append({"year": year, "n": n, "breaches": x, "expected": n * p, "yellow_from": y, "red_from": r,
                     "zone": basel_zone(x, n, p) if n >= min_obs else "n/a"})
    return pd.DataFrame(rows).set_index("year")


def es_ratio(returns, var_at_es_level, es, side: str = "long") -> dict:
    """Mean of realised loss / ES over the days the loss exceeded the VaR at the ES's level.

    1 for a correct ES (it is ``1 - Z1`` of Acerbi & Szekely 2014); > 1: the ES was too small.
    Also the ratio of sums (loss-weighted) and the number of days."""
    L = _loss(returns, side)
    v, e = np.asarray(var_at_es_level, dtype="float64"), np.asarray(es, dtype="float64")
    hit = L > v
    if not hit.any():
        return {"ratio": np.nan, "ratio_of_sums": np.nan, "days": 0}
    return {"ratio": float(np.mean(L[hit] / e[hit])), "ratio_of_sums": float(L[hit].sum() / e[hit].sum()),
            "days": int(hit.sum())}


def _z2(L: np.ndarray, v: np.ndarray, e: np.ndarray, alpha: float) -> np.ndarray:
    """Z2 along the last axis: ``1 - sum(L I / ES) / (T alpha)`` (AS 2014, losses positive)."""
    T = L.shape[-1]
    return 1.0 - np.sum(np.where(L > v, L / e, 0.0), axis=-1) / (T * alpha)


def acerbi_szekely_z2(returns, var_at_es_level, es, sigma, es_level: float = 0.975, side: str = "long",
                      sampler: Callable[[int], np.ndarray] | None = None, sims: int = 2000) -> dict:
    """Acerbi–Szekely Z2 (E[Z2] = 0 under a correct model, negative when risk is underestimated).

    With ``sampler`` (``draw(n) -> (n, T)`` standardised returns from each day's predictive law,
    :func:`risk.null_sampler`), the one-sided p-value ``P(Z2* <= Z2)`` is simulated; the risk
    forecasts are fixed (the sampler draws the returns only).  Without it, the AS (2014) indicative
    5% critical value -0.70 is the only reference (``reject_5pct``)."""
    alpha = 1.0 - es_level
    L = _loss(returns, side)
    v, e, s = (np.asarray(a, dtype="float64") for a in (var_at_es_level, es, sigma))
    z2 = float(_z2(L, v, e, alpha))
    out = {"z2": z2, "reject_5pct_indicative": z2 < -0.70, "pvalue": np.nan}
    if sampler is not None:
        zs = sampler(sims)
        Ls = (-zs if side == "long" else zs) * s[None, :]
        z2s = _z2(Ls, v[None, :], e[None, :], alpha)
        out["pvalue"] = float((np.sum(z2s <= z2) + 1) / (sims + 1))
    return out


def mcneil_frey(returns, var_at_es_level, es, sigma, side: str = "long", reps: int = 5000,
                seed: int = 0) -> dict:
    """McNeil–Frey exceedance residuals ``(L - ES) / sigma`` on the days ``L > VaR``: their mean is 0
    for a correct ES.  One-sided test (H1: mean > 0, the ES too small), centred-bootstrap p-value."""
    L = _loss(returns, side)
    v, e, s = (np.asarray(a, dtype="float64") for a in (var_at_es_level, es, sigma))
    hit = L > v
    r = (L[hit] - e[hit]) / s[hit]
    if r.size < 2:
        return {"mean": float(r.mean()) if r.size else np.nan, "pvalue": np.nan, "n": int(r.size)}
    t_obs = r.mean() / (r.std(ddof=1) / np.sqrt(r.size))
    rng = np.random.default_rng(seed)
    c = r - r.mean()
    draws = c[rng.integers(0, r.size, size=(reps, r.size))]
    t_b = draws.mean(1) / (draws.std(1, ddof=1) / np.sqrt(r.size) + 1e-300)
    return {"mean": float(r.mean()), "t": float(t_obs), "pvalue": float((np.sum(t_b >= t_obs) + 1) / (reps + 1)),
            "n": int(r.size)}


def fz0_loss(returns, var, es, level: float = 0.975, side: str = "long") -> np.ndarray:
    """FZ0 loss (Patton, Ziegel & Chen 2019, eq. 6) of a (VaR, ES) pair at ``level`` for one tail.

    In their notation (returns ``Y``, lower-tail VaR ``v < 0`` and ES ``e <= v < 0``, ``a = 1 - level``):
    ``L = -1/(a e) 1{Y <= v} (v - Y) + v/e + log(-e) - 1``.  Here ``Y = r`` (long) or ``-r`` (short),
    ``v = -VaR``, ``e = -ES``.  Lower is better; differences are scale-free (multiplying Y, v, e by c
    adds log c to every loss)."""
    a = 1.0 - level
    y = -_loss(returns, side)
    v = -np.asarray(var, dtype="float64")
    e = -np.asarray(es, dtype="float64")
    if np.any(e >= 0):
        raise ValueError("FZ0 needs a positive ES (a loss)")
    return -1.0 / (a * e) * (y <= v) * (v - y) + v / e + np.log(-e) - 1.0


def dm_test(loss_a, loss_b, horizon: int = 1, lags: int | None = None) -> dict:
    """Diebold–Mariano on two loss series (``stat < 0``: ``a`` has the lower loss); statsmodels'
    HLN-corrected test, the library's convention (Newey–West lags ``max(h-1, ceil(T^(1/3)))``)."""
    from statsmodels.tsa.stattools import diebold_mariano_test

    a, b = np.asarray(loss_a, dtype="float64"), np.asarray(loss_b, dtype="float64")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if np.array_equal(a, b):
        return {"stat": np.nan, "pvalue": np.nan, "mean_diff": 0.0, "lags": 0, "n": int(a.size)}
    res = diebold_mariano_test(np.zeros_like(a), a, b, criterion=lambda y, f: f, harvey_adj=True,
                               horizon=int(horizon), lags=lags)
    return {"stat": float(res.statistic), "pvalue": float(res.pvalue), "mean_diff": float(np.mean(a - b)),
            "lags": int(res.lags), "n": int(a.size)}


def hac_coverage_test(hits, p: float, horizon: int) -> dict:
    """Coverage test robust to the overlap of h-day windows: ``t = (mean(I) - p) / sqrt(LRV / T)``,
    LRV the Hansen–Hodrick (uniform kernel, h - 1 lags) long-run variance of ``I - p`` (the MA(h-1)
    dependence overlap creates under the null), Newey–West with h - 1 lags if HH is not positive;
    two-sided normal p-value."""
    I = np.asarray(hits, dtype="float64")
    T = I.size
    u = I - p          # centred at the null (the breach indicator has variance p(1-p) under H0)
    gam = [np.dot(u[: T - j], u[j:]) / T for j in range(horizon)]
    lrv = gam[0] + 2 * sum(gam[1:])
    kernel = "hansen-hodrick"
    if lrv <= 0:
        lrv = gam[0] + 2 * sum((1 - j / horizon) * g for j, g in enumerate(gam) if j)
        kernel = "newey-west"
    t = (I.mean() - p) / np.sqrt(lrv / T)
    return {"rate": float(I.mean()), "t": float(t), "pvalue": float(2 * stats.norm.sf(abs(t))), "kernel": kernel,
            "n": T}


def nonoverlapping_kupiec(hits, p: float, horizon: int) -> dict:
    """Kupiec's test on each of the ``h`` non-overlapping subsamples (offsets 0 .. h-1, every h-th
    origin); Bonferroni p-value ``min(1, h * min p)`` and the subsamples' breach rates."""
    I = np.asarray(hits, dtype=bool)
    res = [kupiec_pof(int(I[k::horizon].sum()), I[k::horizon].size, p) for k in range(horizon)]
    ps = np.array([r["pvalue"] for r in res])
    return {"pvalue_bonferroni": float(min(1.0, horizon * np.nanmin(ps))), "pvalue_median": float(np.nanmedian(ps)),
            "rates": [r["rate"] for r in res]}


def coverage_summary(returns: pd.Series, var: pd.Series, level: float, side: str = "long",
                     horizon: int = 1) -> dict:
    """Breach rate, Kupiec, Christoffersen and Basel zones (h = 1), or the overlap-robust tests (h > 1)."""
    ok = returns.notna() & var.notna()
    r, v = returns[ok], var[ok]
    p = 1.0 - level
    hits = pd.Series(breaches(r, v, side), index=r.index)
    uc = kupiec_pof(int(hits.sum()), hits.size, p)
    out = {"n": uc["n"], "breaches": uc["breaches"], "rate": uc["rate"], "kupiec_p": uc["pvalue"]}
    if horizon == 1:
        ch = christoffersen(hits.to_numpy(), p)
        tl = traffic_light(hits, p)
        zones = tl["zone"].value_counts()
        out.update({"ind_p": ch["pvalue_ind"], "cc_p": ch["pvalue_cc"], "red_years": int(zones.get("red", 0)),
                    "yellow_years": int(zones.get("yellow", 0)),
                    "zones": " ".join(f"{y}:{z[0].upper()}{n}" for y, (z, n) in
                                      zip(tl.index, zip(tl["zone"], tl["breaches"])))})
    else:
        hac = hac_coverage_test(hits.to_numpy(), p, horizon)
        no = nonoverlapping_kupiec(hits.to_numpy(), p, horizon)
        out.update({"hac_p": hac["pvalue"], "nonoverlap_bonf_p": no["pvalue_bonferroni"],
                    "nonoverlap_median_p": no["pvalue_median"]})
    return out
