"""Delta-hedged 30-day ATM straddles on an hourly grid, vectorised over the origins: the reference arithmetic of
the hedging band policies (issue #29's research simulator, ``docs/research/calibration/straddle_sim.py``).

``benchmarks/hedge_frontier.py`` runs it over grids of band policies (the cost-dispersion frontier). It is not the
strategy: :class:`~lstm_strategies.strategies.HedgedStraddleStrategy` hedges through Backtrader orders, netting the
straddles' changes into one order filled at the next bar's open with slippage; here each straddle trades on its own
at the bar's close at ``cost`` (0.1% commission + 0.05% slippage), which overstates an hourly policy's cost.

Conventions:

* A straddle opened on day ``d`` is struck at the close of day ``d``'s last bar (``S0``), sold at Black-Scholes with
  ``DVOL_d - 1.25`` vol points (bought at ``+ 1.25``), Deribit fee per leg ``min(0.03% S0, 12.5% leg)``; it expires
  720 hours later and pays ``|S_T - S0|`` less the delivery fee ``min(0.015% S_T, 12.5% intrinsic)``.
* The grid is complete (missing hours carry the last close); implied vol at each bar is DVOL known at its close
  (carried up to 3 days).
* The hedge's target is the straddle's delta at the hedge volatility (implied or a forecast column) and the life
  left; the :class:`~lstm_strategies.trading.hedging.BandPolicy` decides at each check whether and how far to trade.
  The hedge is unwound at expiry (cost included).
* Everything is a fraction of ``S0`` per straddle; ``daily`` is each straddle's P&L per day of its life, marked at
  implied vol (mid) at each day's close (its rows sum to ``net``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from lstm_strategies.trading.hedging import BandPolicy

TENOR_H = 720
YEAR_H = 24 * 365.0
SPREAD = 1.25
FEE_RATE, FEE_CAP, DELIVERY_RATE = 0.0003, 0.125, 0.00015
COST = 0.0015

__all__ = ["book_daily", "hourly_grid", "simulate"]


def hourly_grid(df: pd.DataFrame, iv: np.ndarray, extra: dict | None = None) -> pd.DataFrame:
    """Complete hourly grid of ``df``'s bars: ``close`` (carried over gaps), ``iv`` (implied vol known at each bar's
    close, a fraction, carried up to 3 days) and ``extra`` columns (arrays per bar, carried up to 3 days)."""
    idx = df.index
    full = pd.date_range(idx[0], idx[-1], freq="1h")
    g = pd.DataFrame({"close": df["close"].to_numpy(), "iv": iv, **(extra or {})}, index=idx).reindex(full)
    g["close"] = g["close"].ffill()
    for k in ["iv", *(extra or {})]:
        g[k] = g[k].ffill(limit=72)
    return g


def _straddle_price(S, K, tau, vol):
    sig = vol * np.sqrt(tau)
    d1 = (np.log(S / K) + 0.5 * sig**2) / sig
    d2 = d1 - sig
    call = S * ndtr(d1) - K * ndtr(d2)
    return call, call - S + K


def _straddle_greeks(S, K, tau, vol):
    sig = vol * np.sqrt(tau)
    d1 = (np.log(S / K) + 0.5 * sig**2) / sig
    return 2.0 * ndtr(d1) - 1.0, 2.0 * np.exp(-0.5 * d1**2) / np.sqrt(2 * np.pi) / (S * sig)


def simulate(grid: pd.DataFrame, origin_days: pd.DatetimeIndex, policy: BandPolicy, hedge_vol: str = "iv",
             cost: float = COST, spread: float = SPREAD) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Short straddles opened at the close of each day in ``origin_days`` (UTC dates), hedged by ``policy``.

    ``hedge_vol``: the grid column whose volatility sets the delta and gamma. Returns the per-straddle frame
    (fractions of S0: premium, premium_ask, option_fees, option_fees_long, payoff, hedge_gain, hedge_cost,
    delivery_fee, hedge_trades, net (short), net_long) and the ``(n, 31)`` daily P&L of the shorts and of the longs
    (a long's trades mirror the short's: the band is symmetric).
    """
    close, iv, hv = grid["close"].to_numpy(), grid["iv"].to_numpy(), grid[hedge_vol].to_numpy()
    pos0 = grid.index.get_indexer(origin_days.tz_localize("UTC") + pd.Timedelta(hours=23))
    if (pos0 < 0).any() or pos0.max() + TENOR_H >= len(grid):
        raise ValueError("every origin needs its 23:00 bar and 720 hours after it on the grid")
    n, days = len(pos0), TENOR_H // 24 + 1
    S0, iv0, tau0 = close[pos0], iv[pos0], TENOR_H / YEAR_H
    c_bid, p_bid = _straddle_price(S0, S0, tau0, (iv0 * 100 - spread) / 100)
    c_ask, p_ask = _straddle_price(S0, S0, tau0, (iv0 * 100 + spread) / 100)
    c_mid, p_mid = _straddle_price(S0, S0, tau0, iv0)
    fee_s = np.minimum(FEE_RATE * S0, FEE_CAP * c_bid) + np.minimum(FEE_RATE * S0, FEE_CAP * p_bid)
    fee_l = np.minimum(FEE_RATE * S0, FEE_CAP * c_ask) + np.minimum(FEE_RATE * S0, FEE_CAP * p_ask)
    h, gain, tcost, trades = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    mtm, costs = np.zeros((n, days)), np.zeros((n, days))   # the short's marks (mid + hedge gains); every cost
    v_prev, day_gain, day_cost = c_mid + p_mid, np.zeros(n), np.zeros(n)
    for k in range(TENOR_H):
        i = pos0 + k
        S = close[i]
        if policy.due(k % 24 == 0):
            vol = hv[i]
            ok = np.isfinite(vol) & (vol > 0)
            delta, gamma = _straddle_greeks(S, S0, (TENOR_H - k) / YEAR_H, np.where(ok, vol, 1.0))
            new = np.where(ok, policy.step(h, delta, 1.0, S, gamma), h)
            c_ = np.abs(new - h) * S * cost
            tcost += c_
            day_cost += c_
            trades += np.abs(new - h) > 1e-12
            h = new
        g = h * (close[i + 1] - S)
        gain += g
        day_gain += g
        if (k + 1) % 24 == 0:           # a day's close: mark at implied (mid)
            m, j = (k + 1) // 24, pos0 + k + 1
            if m < TENOR_H // 24:
                cm, pm = _straddle_price(close[j], S0, (TENOR_H - k - 1) / YEAR_H,
                                         np.where(np.isfinite(iv[j]), iv[j], iv0))
                v = cm + pm
            else:
                v = np.abs(close[j] - S0)
            mtm[:, m], costs[:, m] = -(v - v_prev) + day_gain, day_cost
            v_prev, day_gain, day_cost = v, np.zeros(n), np.zeros(n)
    ST = close[pos0 + TENOR_H]
    unwind = np.abs(h) * ST * cost
    tcost += unwind
    intrinsic = np.abs(ST - S0)
    delivery = np.minimum(DELIVERY_RATE * ST, FEE_CAP * intrinsic)
    costs[:, -1] += unwind + delivery
    out = pd.DataFrame({"S0": S0, "iv0": iv0, "premium": (c_bid + p_bid) / S0, "premium_ask": (c_ask + p_ask) / S0,
                        "option_fees": fee_s / S0, "option_fees_long": fee_l / S0, "payoff": intrinsic / S0,
                        "hedge_gain": gain / S0, "hedge_cost": tcost / S0, "delivery_fee": delivery / S0,
                        "hedge_trades": trades}, index=origin_days)
    out["net"] = out["premium"] - out["option_fees"] - out["payoff"] + out["hedge_gain"] - out["hedge_cost"] \
        - out["delivery_fee"]
    out["net_long"] = -out["premium_ask"] - out["option_fees_long"] + out["payoff"] - out["hedge_gain"] \
        - out["hedge_cost"] - out["delivery_fee"]
    daily = (mtm - costs) / S0[:, None]
    daily[:, 0] += ((c_bid + p_bid) - (c_mid + p_mid) - fee_s) / S0
    daily_long = (-mtm - costs) / S0[:, None]
    daily_long[:, 0] += ((c_mid + p_mid) - (c_ask + p_ask) - fee_l) / S0
    return out, daily, daily_long


def book_daily(daily: np.ndarray, daily_long: np.ndarray, w: np.ndarray, origin_days: pd.DatetimeIndex) -> pd.Series:
    """Daily P&L of a ladder (each origin ``|w|/30`` of a unit, short when ``w > 0``, long when ``w < 0``), indexed
    by calendar day from the first origin to the last expiry (fractions of each straddle's S0)."""
    n_days = len(origin_days) + daily.shape[1] - 1
    pnl = np.zeros(n_days)
    rows = np.where((w > 0)[:, None], daily, daily_long) * (np.abs(w) / 30.0)[:, None]
    for m in range(daily.shape[1]):
        pnl[m: m + len(origin_days)] += rows[:, m]
    return pd.Series(pnl, index=pd.date_range(origin_days[0], periods=n_days, freq="D"))
