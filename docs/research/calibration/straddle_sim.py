"""Prototype: delta-hedged 30-day ATM straddles on hourly bars, with a band policy (``bands.BandPolicy``).

Conventions (the research prototype's ``varswap.straddle_trades``, moved to hourly bars):
* A straddle opened on day ``d`` is struck at the close of day ``d``'s last bar (``S0``), sold at Black-Scholes
  with ``DVOL_d - 1.25`` vol points (bought at ``+ 1.25``), Deribit fee per leg ``min(0.03% S0, 12.5% leg)``;
  it expires 720 hours later and pays ``|S_T - S0|`` less the delivery fee ``min(0.015% S_T, 12.5% intrinsic)``.
* Hourly grid: bars are put on a complete hourly grid (the 59 missing hours carry the last close, so the
  next bar carries the gap's return); implied vol at each bar is DVOL known at its close (ffilled, <= 3 days).
* Hedge (per straddle, one unit of underlying): the target is the straddle's Black-Scholes delta at the hedge
  volatility (implied, or a forecast) and the remaining life; the policy decides, at each check (each day's
  close, or every bar), whether and how far to trade. Trades cost ``cost`` (0.1% commission + 0.05% slippage)
  of the traded value, filled at the bar's close (0.3.0 fills at the next open; the library port nets the
  straddles' changes into one order). The hedge is unwound at expiry (cost included).
* Everything is a fraction of ``S0`` per straddle. ``daily`` is the P&L of each straddle per day of its life
  (day 0 = the entry: the spread and fees against the mid), marked at implied vol (mid) at each day's close;
  its rows sum to ``net``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from bands import BandPolicy

TENOR_H = 720
YEAR_H = 24 * 365.0
SPREAD = 1.25
FEE_RATE, FEE_CAP, DELIVERY_RATE = 0.0003, 0.125, 0.00015
COST = 0.0015


def hourly_grid(c: dict, extra: dict | None = None) -> pd.DataFrame:
    """Complete hourly grid: close (ffilled over gaps), iv (ffilled up to 3 days), extra columns (ffilled)."""
    idx = pd.DatetimeIndex(c["ts"], tz="UTC")
    full = pd.date_range(idx[0], idx[-1], freq="1h")
    g = pd.DataFrame({"close": c["close"], "iv": c["iv"], **(extra or {})}, index=idx).reindex(full)
    g["close"] = g["close"].ffill()
    g["iv"] = g["iv"].ffill(limit=72)
    for k in (extra or {}):
        g[k] = g[k].ffill(limit=72)
    return g


def _straddle_price(S, K, tau, vol):
    sig = vol * np.sqrt(tau)
    d1 = (np.log(S / K) + 0.5 * sig**2) / sig
    d2 = d1 - sig
    call = S * ndtr(d1) - K * ndtr(d2)
    put = call - S + K
    return call, put


def _straddle_greeks(S, K, tau, vol):
    sig = vol * np.sqrt(tau)
    d1 = (np.log(S / K) + 0.5 * sig**2) / sig
    delta = 2.0 * ndtr(d1) - 1.0
    gamma = 2.0 * np.exp(-0.5 * d1**2) / np.sqrt(2 * np.pi) / (S * sig)
    return delta, gamma


def simulate(grid: pd.DataFrame, origin_days: pd.DatetimeIndex, policy: BandPolicy, hedge_vol: str = "iv",
             cost: float = COST, spread: float = SPREAD) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Short straddles opened at the close of each day in ``origin_days``, hedged by ``policy``.

    ``hedge_vol``: the grid column whose volatility (a fraction, annualised) sets the delta and gamma
    (``"iv"`` for implied; e.g. ``"fvol"`` for a forecast). Returns the per-straddle frame (fractions of S0:
    premium, premium_ask (a long's price), option_fees, option_fees_long, payoff, hedge_gain, hedge_cost,
    delivery_fee, net (short), net_long, hedge_trades) and the ``(n, 31)`` daily P&L of the short and of the
    long (each row sums to ``net`` / ``net_long``).
    The long straddle's trades mirror the short's (the band is symmetric), so its hedge gain is minus the
    short's and its hedge cost the same.
    """
    close = grid["close"].to_numpy()
    iv = grid["iv"].to_numpy()
    hv = grid[hedge_vol].to_numpy()
    pos0 = grid.index.get_indexer(origin_days.tz_localize("UTC") + pd.Timedelta(hours=23))
    if (pos0 < 0).any():
        raise ValueError("origin without a 23:00 bar on the grid")
    if pos0.max() + TENOR_H >= len(grid):
        raise ValueError("a straddle expires after the grid")
    N = len(pos0)
    S0 = close[pos0]
    iv0 = iv[pos0]
    tau0 = TENOR_H / YEAR_H
    c_bid, p_bid = _straddle_price(S0, S0, tau0, (iv0 * 100 - spread) / 100)
    c_ask, p_ask = _straddle_price(S0, S0, tau0, (iv0 * 100 + spread) / 100)
    c_mid, p_mid = _straddle_price(S0, S0, tau0, iv0)
    fee_s = np.minimum(FEE_RATE * S0, FEE_CAP * c_bid) + np.minimum(FEE_RATE * S0, FEE_CAP * p_bid)
    fee_l = np.minimum(FEE_RATE * S0, FEE_CAP * c_ask) + np.minimum(FEE_RATE * S0, FEE_CAP * p_ask)
    h = np.zeros(N)
    gain = np.zeros(N)
    tcost = np.zeros(N)
    trades = np.zeros(N)
    mtm = np.zeros((N, TENOR_H // 24 + 1))      # the short's marks without costs (option at mid + hedge gains)
    costs = np.zeros((N, TENOR_H // 24 + 1))    # hedge costs, unwind and delivery fee (paid by either side)
    v_prev = c_mid + p_mid
    day_gain = np.zeros(N)
    day_cost = np.zeros(N)
    for k in range(TENOR_H):
        i = pos0 + k
        S = close[i]
        if policy.due(k % 24 == 0):
            tau = (TENOR_H - k) / YEAR_H
            vol = hv[i]
            ok = np.isfinite(vol) & (vol > 0)
            delta, gamma = _straddle_greeks(S, S0, tau, np.where(ok, vol, 1.0))
            new = policy.step(h, delta, 1.0, S, gamma)
            new = np.where(ok, new, h)
            traded = np.abs(new - h)
            c_ = traded * S * cost
            tcost += c_
            day_cost += c_
            trades += traded > 1e-12
            h = new
        g = h * (close[i + 1] - S)
        gain += g
        day_gain += g
        if (k + 1) % 24 == 0:           # a day's close: mark at implied (mid)
            m = (k + 1) // 24
            j = pos0 + k + 1
            if m < TENOR_H // 24:
                tau = (TENOR_H - k - 1) / YEAR_H
                vol_m = iv[j]
                cm, pm = _straddle_price(close[j], S0, tau, np.where(np.isfinite(vol_m), vol_m, iv0))
                v = cm + pm
            else:
                v = np.abs(close[j] - S0)
            mtm[:, m] = -(v - v_prev) + day_gain
            costs[:, m] = day_cost
            v_prev = v
            day_gain[:] = 0.0
            day_cost[:] = 0.0
    ST = close[pos0 + TENOR_H]
    unwind = np.abs(h) * ST * cost
    tcost += unwind
    intrinsic = np.abs(ST - S0)
    delivery = np.minimum(DELIVERY_RATE * ST, FEE_CAP * intrinsic)
    costs[:, -1] += unwind + delivery
    entry_short = (c_bid + p_bid) - (c_mid + p_mid) - fee_s
    entry_long = (c_mid + p_mid) - (c_ask + p_ask) - fee_l
    out = pd.DataFrame({"S0": S0, "iv0": iv0, "premium": (c_bid + p_bid) / S0, "premium_ask": (c_ask + p_ask) / S0,
                        "option_fees": fee_s / S0, "option_fees_long": fee_l / S0, "payoff": intrinsic / S0,
                        "hedge_gain": gain / S0, "hedge_cost": tcost / S0, "delivery_fee": delivery / S0,
                        "hedge_trades": trades}, index=origin_days)
    out["net"] = out["premium"] - out["option_fees"] - out["payoff"] + out["hedge_gain"] - out["hedge_cost"] \
        - out["delivery_fee"]
    out["net_long"] = -out["premium_ask"] - out["option_fees_long"] + out["payoff"] - out["hedge_gain"] \
        - out["hedge_cost"] - out["delivery_fee"]
    daily = (mtm - costs) / S0[:, None]
    daily[:, 0] += entry_short / S0
    daily_long = (-mtm - costs) / S0[:, None]
    daily_long[:, 0] += entry_long / S0
    assert np.allclose(daily.sum(axis=1), out["net"].to_numpy(), atol=1e-10)
    assert np.allclose(daily_long.sum(axis=1), out["net_long"].to_numpy(), atol=1e-10)
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
