r"""Heads that know how much to trust a short history: log-HAR refit toward a prior stored with the model.

The log-HAR head of horizon ``h`` forecasts :math:`\log\hat\sigma^2 = c + b^\top x` with
:math:`x = (\log RV_d, \log RV_w, \log RV_m)`. Its intercept is written level-free,
:math:`c = a + (1 - S)\,m` with :math:`S = b_d + b_w + b_m` and ``m`` the coin's own level (the mean
log monthly RV of every bar with features so far): ``(a, b)`` are the dynamics, ``m`` where the
forecast reverts to. A prior ``(a0, b0)`` learned on other coins is moved to any coin's level.

At each refit (the first 31 days after the first bar, then every 30 days, as log-HAR's schedule) the
coin's own log-HAR OLS ``(c_own, b_own)`` on the rows whose target is known is blended with the prior:
``theta = w theta_own + (1 - w) theta_prior(m)``, ``w = n / (n + k_h)``, ``n`` the days of own rows
(``w = 0`` below ``min_own_days`` or with a rank-deficient design). ``k_h = 0`` is the plain log-HAR
refit; a large ``k_h`` keeps the prior's dynamics at the coin's level. Design and constants:
``docs/research/every_coin/REPORT.md`` section 4.1 (chosen on BTC/ETH up to 2021-12-31).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_strategies.forecasters.har import LogHARForecaster

#: the design's k (days of own rows at which own fit and prior weigh the same), by horizon in days
DESIGN_K_DAYS = {1: 1000.0, 7: 240.0, 30: 480.0}
#: the shrinkage head's schedule: first refit 31 days after the first bar (the first day a feature
#: row exists), then every 30 days; the own fit enters from 7 days of rows
MIN_TRAIN_DAYS, REFIT_EVERY_DAYS, MIN_OWN_DAYS = 31, 30, 7.0


@dataclass
class HeadPrior:
    """The prior of the shrinkage head, per horizon: level-free intercepts ``a`` (H,), slopes ``b`` (H, 3)
    and the blend constants ``k_days`` (H,); stored in a model card's ``head_prior``."""

    a: np.ndarray
    b: np.ndarray
    k_days: np.ndarray
    min_train_days: int = MIN_TRAIN_DAYS
    refit_every_days: int = REFIT_EVERY_DAYS
    min_own_days: float = MIN_OWN_DAYS
    coins: list[str] = field(default_factory=list)
    rows: int = 0

    def intercept_at(self, level: float) -> np.ndarray:
        """The prior's intercepts moved to a coin whose level (mean log monthly RV) is ``level``."""
        return self.a + (1.0 - self.b.sum(axis=1)) * level

    def to_card(self) -> dict:
        """The card's ``head_prior`` block (JSON types)."""
        return {"a": [float(v) for v in self.a], "b": [[float(v) for v in row] for row in self.b],
                "k_days": [float(v) for v in self.k_days], "min_train_days": int(self.min_train_days),
                "refit_every_days": int(self.refit_every_days), "min_own_days": float(self.min_own_days),
                "coins": list(self.coins), "rows": int(self.rows)}

    @classmethod
    def from_card(cls, block: dict) -> HeadPrior:
        """From a validated card's ``head_prior`` block."""
        return cls(np.asarray(block["a"], dtype=float), np.asarray(block["b"], dtype=float),
                   np.asarray(block["k_days"], dtype=float), block["min_train_days"], block["refit_every_days"],
                   block["min_own_days"], list(block["coins"]), block["rows"])


def design_k_days(horizons) -> np.ndarray:
    """The design's k per horizon (1, 7 and 30 days); other horizons need their own (a ConfigError)."""
    from lstm_strategies.core.errors import ConfigError

    missing = [h for h in horizons if h not in DESIGN_K_DAYS]
    if missing:
        raise ConfigError(f"the shrinkage head's k was chosen for horizons {sorted(DESIGN_K_DAYS)} days only, not "
                          f"{missing}; give k per horizon (train --shrink-k K1,K2,...)")
    return np.array([DESIGN_K_DAYS[h] for h in horizons])


def level_free_prior(frames: dict[str, pd.DataFrame], horizons, k_days, calendar: str = "crypto") -> HeadPrior:
    """The pretraining log-HAR in level-free form: one OLS of ``y - m_i`` on ``[1, x - m_i]`` over every row
    of each frame whose target is known by the frame's last bar, each coin around its own mean level
    ``m_i`` (its mean log monthly RV over those rows); ``a`` includes the variance term ``s^2 / 2``.

    Parameters
    ----------
    frames : dict of str to DataFrame
        The pretraining coins' bars, each already cut at the training end (name -> frame).
    horizons : list of int
    k_days : sequence of float
        The blend constant of each horizon (see :func:`design_k_days`).
    calendar : str
    """
    from lstm_strategies.features.realized import feature_matrix, forward_variance_matrix
    from lstm_strategies.forecasters.har import HAR_COLUMNS

    prepared = []
    for df in frames.values():
        X = feature_matrix(df, calendar)[:, HAR_COLUMNS]
        prepared.append((X, forward_variance_matrix(df, horizons, calendar)))
    a, b = np.zeros(len(horizons)), np.zeros((len(horizons), 3))
    rows = 0
    for j in range(len(horizons)):
        zs, ys = [], []
        for X, Y in prepared:
            ok = np.isfinite(X).all(axis=1) & np.isfinite(Y[:, j]) & (Y[:, j] > 0)
            x, y = X[ok], np.log(Y[ok, j])
            level = x[:, 2].mean()
            zs.append(np.column_stack([np.ones(len(x)), x - level]))
            ys.append(y - level)
        z, y = np.concatenate(zs), np.concatenate(ys)
        beta, *_ = np.linalg.lstsq(z, y, rcond=None)
        a[j], b[j] = beta[0] + 0.5 * (y - z @ beta).var(), beta[1:]
        rows = max(rows, len(y))
    return HeadPrior(a, b, np.asarray(k_days, dtype=float), coins=list(frames), rows=rows)


class ShrinkageHead(LogHARForecaster):
    """log-HAR refit on the bars seen, blended with a prior by how many days of own rows there are.

    Not registered (no ``name`` of its own): it is the ``head="shrink"`` of
    :class:`~lstm_strategies.forecasters.lstm.LSTMForecaster`, built from a model card's prior, and
    used alone in the benchmarks. Batched and streaming paths share log-HAR's schedule and fit rule.

    Parameters
    ----------
    prior : HeadPrior
        The level-free prior, its ``k_days`` and its schedule (first refit, refit spacing, own minimum).
    """

    def __init__(self, prior: HeadPrior, *, calendar: str = "crypto", horizons=None, timeframe: str | None = None):
        self.prior = prior
        super().__init__(prior.min_train_days, prior.refit_every_days, calendar=calendar, horizons=horizons,
                         timeframe=timeframe)

    @classmethod
    def param_names(cls) -> list[str]:
        return ["prior"]

    def _ols(self, X: np.ndarray, Y: np.ndarray, known: np.ndarray, finite_x: np.ndarray, min_rows: int = 30,
             weights: np.ndarray | None = None):
        """Per horizon, the blend of the own OLS (rows with finite regressors and a known positive target)
        and the prior at the level of every row with features so far, as log-HAR's parameters
        ``(beta, 0, floor)`` (the own fit's variance term is in the blended intercept). Its window is always
        expanding (``weights`` is None)."""
        if not finite_x.any():
            return None
        level = float(X[finite_x, 2].mean())
        prior = self.prior
        c_prior = prior.intercept_at(level)
        min_own = max(min_rows, prior.min_own_days * self.bars_in_day)
        params = []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            ok = finite_x & known[:, j] & np.isfinite(y) & (y > 0)
            count = int(ok.sum())
            c, b = c_prior[j], prior.b[j]
            if count >= min_own:
                design = np.column_stack([np.ones(count), X[ok]])
                if np.linalg.matrix_rank(design.T @ design) == design.shape[1]:
                    target = np.log(y[ok])
                    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
                    c_own = beta[0] + 0.5 * float((target - design @ beta).var())
                    w = (count / self.bars_in_day) / (count / self.bars_in_day + prior.k_days[j])
                    c, b = w * c_own + (1.0 - w) * c, w * beta[1:] + (1.0 - w) * b
            params.append((np.r_[c, b], 0.0, 0.0))
        return params
