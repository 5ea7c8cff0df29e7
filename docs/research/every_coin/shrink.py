r"""Heads that know how much to trust a short history: log-HAR refit toward a pretrained prior.

The log-HAR head of horizon h forecasts :math:`\log\hat\sigma^2 = c + b^\top x` with
:math:`x = (\log RV_d, \log RV_w, \log RV_m)`. Write its intercept level-free,

.. math:: c = a + (1 - S)\,m, \qquad S = b_d + b_w + b_m,

where ``m`` is the coin's own level (the mean log monthly RV over the history seen so far): ``a``
and ``b`` describe the dynamics, ``m`` where the forecast reverts to. A pretrained head
``(c0, b0)`` fitted on rows of level ``m0`` gives the level-free prior ``a0 = c0 - (1 - S0) m0``;
moved to the new coin it is ``c_prior(m) = a0 + (1 - S0) m``.

At each refit (every 30 days on the expanding window of bars seen, as the log-HAR baseline) the
coin's own OLS ``(c_own, b_own)`` (the log-HAR baseline's fit, variance term included) is
combined with the prior:

* ``form="blend"`` (the g-prior posterior mean): ``theta = w theta_own + (1 - w) theta_prior(m)``
  with ``w = n / (n + k_h)``, ``n`` the days of own rows whose target is known at the refit
  (``w = 0`` below ``min_own_days``). It is the posterior mean under Zellner's g-prior centred on
  the prior, whose precision is ``k_h`` days of the coin's own design.
* ``form="bayes"``: the Gaussian posterior mean with the prior's own precision, the information per
  row of the pretraining fit (its design ``Z0'Z0 / (N0 s0^2)`` in level-free form) times ``k_h``
  days of rows: shrinks each direction of the coefficients by how well the own data pins it down.

``k_h = 0`` is the plain log-HAR refit (the coin's own OLS), ``k_h = inf`` the prior moved to the
coin's level. Both forms converge to the refit as ``n`` grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_strategies.forecasters.refit import refit_points

BARS_PER_DAY = 24


@dataclass
class HeadPrior:
    """A pretrained log-HAR head in level-free form, per horizon: ``a`` (H,), ``b`` (H, 3).

    ``info_row`` (H, 4, 4) is the pretraining fit's information per row in the level-free
    parameters (for ``form="bayes"``); ``s2`` (H,) its residual variance.
    """

    a: np.ndarray
    b: np.ndarray
    info_row: np.ndarray | None = None
    s2: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_head(cls, coef: np.ndarray, intercept: np.ndarray, m0: float, **kw) -> HeadPrior:
        """From a head ``(c0, b0)`` trained on rows whose mean log monthly RV is ``m0``."""
        coef, intercept = np.asarray(coef, float), np.asarray(intercept, float)
        return cls(a=intercept - (1.0 - coef.sum(axis=1)) * m0, b=coef, **kw)

    def intercept_at(self, m: float) -> np.ndarray:
        return self.a + (1.0 - self.b.sum(axis=1)) * m

    def to_dict(self) -> dict:
        return {"a": self.a.tolist(), "b": self.b.tolist(),
                "info_row": None if self.info_row is None else self.info_row.tolist(),
                "s2": None if self.s2 is None else self.s2.tolist(), "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> HeadPrior:
        return cls(np.array(d["a"]), np.array(d["b"]),
                   None if d.get("info_row") is None else np.array(d["info_row"]),
                   None if d.get("s2") is None else np.array(d["s2"]), d.get("meta", {}))


def _design(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(X)), X])


def pretraining_information(panels, rows_of, prior: HeadPrior) -> HeadPrior:
    """Add the information per row of the pretraining rows (level-free design, each coin around its
    own mean level) and the prior's residual variance there, for ``form="bayes"``."""
    H = prior.b.shape[0]
    info, s2 = np.zeros((H, 4, 4)), np.zeros(H)
    for j in range(H):
        zz, n, ssr = np.zeros((4, 4)), 0, 0.0
        for panel in panels:
            rows = rows_of(panel)
            x, y = panel.X[rows], np.log(panel.Y[rows, j])
            ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
            x, y = x[ok], y[ok]
            m = x[:, 2].mean()
            z = _design(x - m)
            zz += z.T @ z
            resid = y - prior.intercept_at(m)[j] - x @ prior.b[j]
            ssr += float(((resid - resid.mean()) ** 2).sum())
            n += len(y)
        s2[j] = ssr / n
        info[j] = zz / (n * s2[j])
    return HeadPrior(prior.a, prior.b, info, s2, prior.meta)


class _Sums:
    """Cumulative sums of the log-HAR normal equations along the rows, one set per horizon."""

    def __init__(self, X: np.ndarray, Y: np.ndarray):
        n, H = Y.shape
        Z = _design(np.nan_to_num(X))
        finite_x = np.isfinite(X).all(axis=1)
        self.zz, self.zy, self.yy, self.cnt = [], [], [], []
        for j in range(H):
            ok = finite_x & np.isfinite(Y[:, j]) & (Y[:, j] > 0)
            y = np.where(ok, np.log(np.where(ok, Y[:, j], 1.0)), 0.0)
            zo = Z * ok[:, None]
            self.zz.append(np.cumsum(zo[:, :, None] * Z[:, None, :], axis=0))
            self.zy.append(np.cumsum(zo * y[:, None], axis=0))
            self.yy.append(np.cumsum(y * y))
            self.cnt.append(np.cumsum(ok))
        xm = np.where(finite_x, X[:, 2], 0.0)
        self.xm, self.xcnt = np.cumsum(xm), np.cumsum(finite_x)

    def upto(self, j: int, r: int):
        """Sums over rows ``0 .. r - 1`` for horizon ``j``."""
        if r <= 0:
            return np.zeros((4, 4)), np.zeros(4), 0.0, 0
        return self.zz[j][r - 1], self.zy[j][r - 1], float(self.yy[j][r - 1]), int(self.cnt[j][r - 1])

    def level(self, k: int) -> float:
        """Mean log monthly RV over the rows with features up to bar ``k`` (inclusive)."""
        c = int(self.xcnt[k])
        return float(self.xm[k] / c) if c else np.nan


def shrink_params(sums: _Sums, E: np.ndarray, k_bar: int, prior: HeadPrior | None, k_days, form: str = "blend",
                  min_own_days: float = 7.0, bars_per_day: int = BARS_PER_DAY) -> dict | None:
    """The head's coefficients at refit bar ``k_bar``: ``{"c": (H,), "b": (H, 3), "w": (H,), "n_days": (H,),
    "m": level}``; None when there is neither an own fit nor a prior (or no feature row yet)."""
    H = E.shape[1]
    m = sums.level(k_bar)
    if not np.isfinite(m):
        return None
    k_days = np.broadcast_to(np.asarray(k_days, float), (H,))
    c, b, w_out, n_out = np.zeros(H), np.zeros((H, 3)), np.zeros(H), np.zeros(H)
    for j in range(H):
        r = int(np.searchsorted(E[:, j], k_bar, side="right"))     # rows whose target is known at k_bar
        zz, zy, yy, cnt = sums.upto(j, r)
        n_days = cnt / bars_per_day
        n_out[j] = n_days
        own = None
        if cnt >= max(30, min_own_days * bars_per_day) and np.linalg.matrix_rank(zz) == 4:
            beta = np.linalg.solve(zz, zy)
            ssr = max(yy - 2 * beta @ zy + beta @ zz @ beta, 0.0)
            own = (beta, ssr / cnt)
        if prior is None:
            if own is None:
                return None
            c[j], b[j], w_out[j] = own[0][0] + 0.5 * own[1], own[0][1:], 1.0
            continue
        c_prior, b_prior = prior.intercept_at(m)[j], prior.b[j]
        kd = k_days[j]
        if own is None or np.isinf(kd):
            c[j], b[j], w_out[j] = c_prior, b_prior, 0.0
            continue
        beta, s2 = own
        c_own, b_own = beta[0] + 0.5 * s2, beta[1:]
        if form == "blend":
            w = n_days / (n_days + kd)
            c[j], b[j], w_out[j] = w * c_own + (1 - w) * c_prior, w * b_own + (1 - w) * b_prior, w
        elif form == "bayes":
            # level-free parameters theta = (a, b) around the coin's level m; y - m = a + b (x - m)
            A = np.eye(4)
            A[0, 1:] = -m                                   # z_dev = A' z  <=>  [1, x - m]
            zz_dev = A.T @ zz @ A
            zy_dev = A.T @ (zy - m * zz[:, 0])
            s2_prior = prior.s2[j]
            theta0 = np.r_[prior.a[j] - 0.5 * s2_prior, b_prior]          # unadjusted level-free prior
            p0 = kd * bars_per_day * prior.info_row[j]
            post = np.linalg.solve(zz_dev / s2 + p0, zy_dev / s2 + p0 @ theta0)
            w = n_days / (n_days + kd)                                     # only for the variance term
            s2_mix = w * s2 + (1 - w) * s2_prior
            a_post, b_post = post[0], post[1:]
            c[j] = a_post + (1 - b_post.sum()) * m + 0.5 * s2_mix
            b[j], w_out[j] = b_post, w
        else:
            raise ValueError(form)
    return {"c": c, "b": b, "w": w_out, "n_days": n_out, "m": m}


def panel_sums(panel) -> _Sums:
    """The cumulative sums of a panel, computed once and cached on it."""
    if getattr(panel, "_sums", None) is None:
        panel._sums = _Sums(panel.X, panel.Y)
    return panel._sums


def shrink_head(panel, prior: HeadPrior | None, k_days, form: str = "blend", min_train_days: float = 31,
                every_days: float = 30, min_own_days: float = 7.0, first: int = 0,
                log: list | None = None, sums: _Sums | None = None) -> np.ndarray:
    """Head-only variance forecasts ``(n, H)`` on the panel's bars: refits at
    ``refit_points(ts, min_train_days, every_days)``, each forecasting until the next.

    ``prior=None`` with ``min_train_days=180`` is exactly the log-HAR baseline (tested in
    ``check_shrink.py``). ``log`` collects ``(bar, params)`` per refit.
    """
    sums = sums or panel_sums(panel)
    ts = panel.ts
    points = refit_points(ts, pd.Timedelta(days=min_train_days), pd.Timedelta(days=every_days))
    out = np.full(panel.Y.shape, np.nan)
    for i, k in enumerate(points):
        stop = points[i + 1] if i + 1 < len(points) else len(ts)
        if stop <= first:
            continue
        p = shrink_params(sums, panel.E, k, prior, k_days, form, min_own_days)
        if p is None:
            continue
        if log is not None:
            log.append((k, p))
        out[k:stop] = np.exp(p["c"][None, :] + panel.X[k:stop] @ p["b"].T)
    return out


def ols_prior(panels: list, ends: list[int], bars_per_day: int = BARS_PER_DAY) -> HeadPrior:
    """The pretraining log-HAR in level-free form: one OLS of ``y - m_i`` on ``[1, x - m_i]`` over every
    coin's rows whose target is known by its pretraining end (bar ``ends[i]``), each coin around its
    own mean level ``m_i`` (coin fixed effects). ``a`` includes the variance term ``s^2 / 2``;
    ``info_row`` and ``s2`` are set for the Bayesian form."""
    H = panels[0].Y.shape[1]
    a, b, info, s2 = np.zeros(H), np.zeros((H, 3)), np.zeros((H, 4, 4)), np.zeros(H)
    for j in range(H):
        zs, ys = [], []
        for panel, end in zip(panels, ends, strict=True):
            ok = (np.isfinite(panel.X).all(axis=1) & np.isfinite(panel.Y[:, j]) & (panel.Y[:, j] > 0)
                  & (panel.E[:, j] <= end))
            x, y = panel.X[ok], np.log(panel.Y[ok, j])
            m = x[:, 2].mean()
            zs.append(_design(x - m))
            ys.append(y - m)
        z, y = np.concatenate(zs), np.concatenate(ys)
        beta, *_ = np.linalg.lstsq(z, y, rcond=None)
        resid = y - z @ beta
        s2[j] = resid.var()
        a[j], b[j] = beta[0] + 0.5 * s2[j], beta[1:]
        info[j] = z.T @ z / (len(y) * s2[j])
    return HeadPrior(a, b, info, s2, {"rows": int(len(y))})
