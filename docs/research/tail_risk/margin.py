"""Collateral for a ladder of variance swaps from the forecast's ES, beside the fixed implied shock.

Prototype for issue #30 (numpy / pandas).  Conventions of ``docs/research/variance/varswap.py`` and
``lstm_strategies.ledger``: one row per UTC day ``t``; a swap opened on day ``d`` with signed notional
``n`` (> 0 short variance) is marked ``V_k = n [K - R_k - IV_{d+k}^2 (30 - k) / 30]`` on day ``d + k``
(variance points; ``R_k`` the realised part, ``rvd`` per day).  After day t's marks the live swaps
have ``k = t - d`` in 0..29.

The held book's next-day loss is linear in two risk factors, the day's realised variance and the
implied variance's change:

    loss_{t+1} = A_t rvd_{t+1} + B_t IV_{t+1}^2 - C_t IV_t^2,
    A_t = sum n,   B_t = sum n (29 - k) / 30,   C_t = sum n (30 - k) / 30.

Over h days (the margin period of risk) the same with ``A^h = sum n min(h, 30 - k) / h`` times the
h-day realised variance (a swap settling inside the window is exposed to its remaining days only, the
h-day RV spread evenly), ``B^h = sum n max(30 - k - h, 0) / 30``.

**ES collateral (filtered historical simulation, joint scenarios).**  Scenario ``j`` (a past origin
whose h-day outcome was complete at t's close, the last ``window`` of them) pairs the forecaster's
realised-to-forecast ratio ``rho_j = RV_j^h / F_j^h`` with the implied move ``dlog IV_j^h`` of the
same days, keeping their dependence:

    rvd*_j = ANN * F_t^h * rho_j,   IV*_j^2 = IV_t^2 exp(2 dlog IV_j^h),

and the collateral is the ES at ``level`` of ``loss_j = A^h rvd*_j + B^h IV*_j^2 - C IV_t^2`` (floored
at 0).  The fixed implied shock of 0.3.0 is ``sum |n| (shock^2 - 1) IV_t^2 (30 - k) / 30`` (shorts,
shock 1.5; longs ``1 - 0.7^2``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TENOR = 30
ANN = 365.0 / TENOR * 1e4


def ladder_exposures(w: np.ndarray, horizon: int = 1, tenor: int = TENOR) -> pd.DataFrame:
    """A, B, C (and the |n|-weighted C for the shock margin) per day of a ladder opening ``w_d / tenor``
    each day (``w`` per day, NaN = 0; the frame has the same length: day t's exposures after its marks)."""
    n = np.nan_to_num(np.asarray(w, dtype="float64")) / tenor
    T = len(n)
    A = np.zeros(T); B = np.zeros(T); C = np.zeros(T); Cabs_short = np.zeros(T); Cabs_long = np.zeros(T)
    for k in range(tenor):                # swap opened at d = t - k
        nk = np.concatenate([np.zeros(k), n[: T - k]])
        A += nk * min(horizon, tenor - k) / horizon
        B += nk * max(tenor - k - horizon, 0) / tenor
        C += nk * (tenor - k) / tenor
        Cabs_short += np.where(nk > 0, nk, 0) * (tenor - k) / tenor
        Cabs_long += np.where(nk < 0, -nk, 0) * (tenor - k) / tenor
    return pd.DataFrame({"A": A, "B": B, "C": C, "C_short": Cabs_short, "C_long": Cabs_long})


def held_loss(expo1: pd.DataFrame, rvd: np.ndarray, iv2: np.ndarray) -> np.ndarray:
    """Realised loss on day t+1 of the book held at t's close (index t+1 of the result; NaN at 0)."""
    A, B, C = (expo1[c].to_numpy() for c in "ABC")
    loss = np.full(len(A), np.nan)
    loss[1:] = A[:-1] * rvd[1:] + B[:-1] * iv2[1:] - C[:-1] * iv2[:-1]
    return loss


def shock_margin(expo1: pd.DataFrame, iv2: np.ndarray, up: float = 1.5, down: float = 0.7) -> np.ndarray:
    """0.3.0's collateral: the loss of an implied jump to ``up`` x (shorts) or fall to ``down`` x (longs)."""
    return (expo1["C_short"].to_numpy() * (up**2 - 1) + expo1["C_long"].to_numpy() * (1 - down**2)) * iv2


def es_margin(expo_h: pd.DataFrame, iv2: np.ndarray, f_h: np.ndarray, rho_h: np.ndarray, dlogiv_h: np.ndarray,
              horizon: int, level: float = 0.975, window: int = 500, min_scenarios: int = 100) -> np.ndarray:
    """ES collateral per day (see module doc).  ``f_h`` the h-day variance forecast (fraction) made at
    each day's close, ``rho_h`` / ``dlogiv_h`` the realised ratio and implied log move of the h days
    after each day (known h days later).  NaN before ``min_scenarios`` scenarios exist."""
    A, B, C = (expo_h[c].to_numpy() for c in "ABC")
    T = len(A)
    ok = np.isfinite(rho_h) & np.isfinite(dlogiv_h)
    out = np.full(T, np.nan)
    for t in range(T):
        hi = t - horizon + 1                 # scenarios j <= t - h are complete at t's close
        if hi <= 0 or not np.isfinite(f_h[t]) or not np.isfinite(iv2[t]):
            continue
        j = np.flatnonzero(ok[:hi])[-window:]
        if j.size < min_scenarios:
            continue
        if A[t] == 0 and B[t] == 0 and C[t] == 0:
            out[t] = 0.0
            continue
        loss = A[t] * ANN * f_h[t] * rho_h[j] + B[t] * iv2[t] * np.exp(2 * dlogiv_h[j]) - C[t] * iv2[t]
        q = np.quantile(loss, level)
        out[t] = max(loss[loss >= q].mean(), 0.0)
    return out


def exceedances(loss: np.ndarray, margin_held: np.ndarray) -> dict:
    """Days the day's loss exceeded the collateral held at the previous close, and the worst ratio."""
    m_prev = np.concatenate([[np.nan], margin_held[:-1]])
    ok = np.isfinite(loss) & np.isfinite(m_prev) & (m_prev > 0)
    ratio = loss[ok] / m_prev[ok]
    return {"days": int(ok.sum()), "exceed_days": int(np.sum(ratio > 1)),
            "worst_ratio": float(ratio.max()) if ratio.size else np.nan,
            "mean_margin": float(np.nanmean(margin_held[np.isfinite(margin_held)]))}
