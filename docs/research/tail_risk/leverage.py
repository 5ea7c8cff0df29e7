"""Leverage under liquidation risk: a perpetual-style position on hourly bars, sized by a forecast.

Prototype for issue #30 (numpy / pandas).

The position (isolated margin, linear USDT-margined perpetual)
---------------------------------------------------------------
At each origin (a UTC day's last bar; its close ``P0``) the account of equity ``W`` posts a margin
``M = margin_fraction * W`` and holds a notional ``N = L * M`` (``L`` the day's leverage, initial
margin rate ``1/L``) until the next origin.  Liquidation happens when the equity of the position,
``M + side * N (P/P0 - 1)``, reaches the maintenance margin ``mmr * N * P/P0``; for a long
``P_liq = P0 (1 - 1/L) / (1 - mmr)``, for a short ``P_liq = P0 (1 + 1/L) / (1 + mmr)``.  It is
triggered when the adverse extreme of any hourly bar of the holding period (the low for a long, the
high for a short) reaches ``P_liq`` (the venue's mark price is not in the data: the traded low/high
stands for it, which is conservative: a wick on the last-traded price liquidates here).  On
liquidation the position is closed at ``P_liq`` and what is left of the maintenance margin after the
liquidation fee, ``max(0, (mmr - liq_fee) N P_liq / P0)``, is returned (with the defaults, nothing:
the posted margin is lost, and nothing more: the venue's insurance fund takes any gap beyond it).

Costs: a taker fee on every change of notional (the daily rebalance to the new ``N``, measured
against the previous position marked at the new close), and funding on the notional at each funding
time (00:00, 08:00, 16:00 UTC: three per full day; a long pays ``funding_rate``, a short receives it;
a liquidated day pays none, its margin being gone).  Re-entry: after a liquidation the account stays
flat for ``cooldown_days`` origins, then re-enters at the rule's leverage with its remaining equity.

Venue-like defaults (Binance USDⓈ-M BTCUSDT perpetual, tier 1, documented assumptions)
--------------------------------------------------------------------------------------
* ``mmr = 0.004`` — maintenance margin rate of tier 1 (notional <= 50,000 USDT), Binance's
  BTCUSDT margin tiers (announcement of 2021-03-18; ETHUSDT tier 1 is 0.5%, used for ETH/SOL by
  ``venue_defaults``).
* ``liq_fee = 0.005`` — the liquidation (insurance-clearance) fee: Binance's insurance-fund rules
  state fees of up to 0.5% in liquidations; with ``liq_fee >= mmr`` nothing of the margin survives.
* ``taker_fee = 0.0005`` — 0.05% taker fee (regular user, no BNB discount).
* ``funding_rate = 0.0001`` per 8 h — the baseline interest-rate component when the premium is zero
  (0.03% a day, about 11% a year on the notional), paid by longs.
* ``max_leverage = 50`` (within tier 1's 125x; a cap, not a choice); ``min_leverage = 1``.
* ``margin_fraction = 0.10`` — the account posts a tenth of its equity as margin each day (a
  liquidation costs 10% of the account; with the whole account posted, one liquidation is ruin).

The leverage rule
-----------------
Liquidation in a day ⇔ the adverse log extreme ``x = -log(low/P0)`` (long) exceeds the liquidation
distance ``V = -log(P_liq/P0)``.  The rule sets ``V_t = c * q_t`` where ``q_t`` is a risk scale known
at the origin (e.g. the forecast's 1-day sigma, or its FHS 99% VaR) and ``c`` is the **budget
constant**: on a calibration period, the ``1 - budget/365`` quantile of ``u_t = x_t / q_t`` (so the
calibration period has ``budget`` liquidations a year).  Then ``L_t = 1 / (1 - (1 - mmr) exp(-V_t))``
(long) or ``1 / ((1 + mmr) exp(V_t) - 1)`` (short), clipped to ``[min_leverage, max_leverage]``.
A fixed leverage is the special case ``q_t = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

__all__ = ["Venue", "venue_defaults", "liquidation_distance", "leverage_for_distance", "daily_extremes",
           "calibrate_constant", "rule_leverage", "simulate", "frontier", "max_leverage_with"]

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Venue:
    """Margin, fee and funding parameters (see the module docstring for the sources)."""

    mmr: float = 0.004
    liq_fee: float = 0.005
    taker_fee: float = 0.0005
    funding_rate: float = 0.0001          # per funding interval
    funding_hours: tuple[int, ...] = (0, 8, 16)
    max_leverage: float = 50.0
    min_leverage: float = 1.0
    margin_fraction: float = 0.10
    cooldown_days: int = 0


def venue_defaults(asset: str) -> Venue:
    """Binance-like tier-1 parameters: BTC mmr 0.4%, ETH and SOL 0.5% (documented assumptions)."""
    return Venue() if asset.lower().startswith("btc") else replace(Venue(), mmr=0.005)


def liquidation_distance(leverage, mmr: float, side: str = "long") -> np.ndarray:
    """Log distance ``V`` from the entry price to the liquidation price (positive)."""
    L = np.asarray(leverage, dtype="float64")
    if side == "long":
        return -np.log((1.0 - 1.0 / L) / (1.0 - mmr))
    return np.log((1.0 + 1.0 / L) / (1.0 + mmr))


def leverage_for_distance(distance, venue: Venue, side: str = "long") -> np.ndarray:
    """The leverage whose liquidation price lies ``distance`` (log) from entry, clipped to the venue's range."""
    V = np.asarray(distance, dtype="float64")
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if side == "long":
            L = 1.0 / (1.0 - (1.0 - venue.mmr) * np.exp(-V))
        else:
            L = 1.0 / ((1.0 + venue.mmr) * np.exp(V) - 1.0)
    L = np.where(np.isfinite(L) & (L > 0), L, venue.max_leverage)
    return np.clip(L, venue.min_leverage, venue.max_leverage)


def daily_extremes(bars: pd.DataFrame, origins: np.ndarray) -> pd.DataFrame:
    """Per origin (positions into ``bars``): the holding period's close return and adverse extremes.

    The holding period of origin ``i`` is bars ``origins[i] + 1 .. origins[i + 1]`` (to the next
    origin's close).  ``x_long = -log(min low / P0)``, ``x_short = log(max high / P0)`` (>= 0 normally;
    a gap can make them negative), ``ret = log(P1 / P0)``, ``fundings`` the number of funding times
    (00/08/16 UTC bar opens) inside the period.  The last origin has no period (NaN).
    """
    close, low, high = (bars[c].to_numpy(dtype="float64") for c in ("close", "low", "high"))
    hours = bars.index.hour.to_numpy()
    is_funding = np.isin(hours, (0, 8, 16)).astype(np.int64)
    n = len(origins)
    # running extremes via reduceat over [o_i + 1, o_{i+1} + 1)
    # reduceat over consecutive starts covers [starts[i], starts[i+1]) = [o_i + 1, o_{i+1} + 1)
    starts = origins + 1
    if starts[-1] >= len(low):
        starts = starts[:-1]
    mins = np.minimum.reduceat(low, starts)[: n - 1] if n > 1 else np.array([])
    maxs = np.maximum.reduceat(high, starts)[: n - 1] if n > 1 else np.array([])
    cf = np.concatenate([[0], np.cumsum(is_funding)])
    fund = cf[origins[1:] + 1] - cf[origins[:-1] + 1]
    p0 = close[origins]
    out = pd.DataFrame(index=bars.index[origins])
    out["p0"] = p0
    out["ret"] = np.append(np.log(close[origins[1:]] / p0[:-1]), np.nan)
    out["x_long"] = np.append(-np.log(mins / p0[:-1]), np.nan)
    out["x_short"] = np.append(np.log(maxs / p0[:-1]), np.nan)
    out["fundings"] = np.append(fund, 0).astype(float)
    out["days"] = np.append(np.diff(bars.index.as_unit("ns").asi8[origins]) / 86_400e9, np.nan)
    return out


def calibrate_constant(x: np.ndarray, q: np.ndarray, budget_per_year: float = 1.0) -> float:
    """The budget constant ``c``: the ``1 - budget/365`` empirical quantile (numpy's "higher"
    method, the conservative side) of ``u = x / q`` over the calibration days."""
    u = np.asarray(x, dtype="float64") / np.asarray(q, dtype="float64")
    u = u[np.isfinite(u)]
    return float(np.quantile(u, 1.0 - budget_per_year / DAYS_PER_YEAR, method="higher"))


def rule_leverage(q: np.ndarray, c: float, venue: Venue, side: str = "long") -> np.ndarray:
    """Leverage ``L_t`` from the risk scale ``q_t`` and the constant ``c`` (NaN q -> NaN: flat)."""
    q = np.asarray(q, dtype="float64")
    L = leverage_for_distance(c * q, venue, side)
    return np.where(np.isfinite(q), L, np.nan)


def simulate(ext: pd.DataFrame, leverage: np.ndarray, venue: Venue, side: str = "long") -> pd.DataFrame:
    """Run the position over the origins of ``ext`` (from :func:`daily_extremes`) with ``leverage``
    per origin (NaN or 0: flat).  Returns one row per origin: leverage held, liquidated, margin
    return, account return (on the previous equity), equity (starting at 1), costs."""
    s = 1.0 if side == "long" else -1.0
    x = ext["x_long" if side == "long" else "x_short"].to_numpy()
    ret = ext["ret"].to_numpy()
    fund = ext["fundings"].to_numpy()
    n = len(ext)
    L_in = np.nan_to_num(np.asarray(leverage, dtype="float64"), nan=0.0)
    L_in = np.where(np.isfinite(x), L_in, 0.0)
    held = np.zeros(n)
    liq = np.zeros(n, dtype=bool)
    acct = np.zeros(n)
    fees = np.zeros(n)
    W, prev_N, cool = 1.0, 0.0, 0
    eq = np.empty(n)
    for i in range(n):
        L = L_in[i] if cool == 0 else 0.0
        cool = max(cool - 1, 0)
        M = venue.margin_fraction * W
        N = L * M
        fee = venue.taker_fee * abs(N - prev_N)           # rebalance against yesterday's marked position
        pnl = -fee
        if N > 0:
            V = liquidation_distance(L, venue.mmr, side)
            if x[i] >= V:                                # the bar's adverse extreme reached P_liq
                liq[i] = True
                p_liq = np.exp(-s * V)
                left = max(0.0, (venue.mmr - venue.liq_fee) * N * p_liq)
                pnl += left - M
                prev_N = 0.0
                cool = venue.cooldown_days
            else:
                move = np.expm1(ret[i])
                pnl += s * N * move - s * N * venue.funding_rate * fund[i]
                prev_N = N * (1.0 + move)                  # the position marked at the next close
        else:
            prev_N = 0.0
        held[i] = L
        fees[i] = fee
        acct[i] = pnl / W
        W = max(W + pnl, 0.0)
        eq[i] = W
        if W <= 0:
            eq[i:] = 0.0
            acct[i + 1:] = 0.0
            break
    return pd.DataFrame({"leverage": held, "liquidated": liq, "account_ret": acct, "equity": eq, "fee": fees},
                        index=ext.index)


def summary(sim: pd.DataFrame, budget_per_year: float = 1.0) -> dict:
    """Liquidations a year (and against the budget), mean leverage (days in the market), CAGR,
    Sharpe (daily account returns, 365-day annualisation), worst day."""
    days = len(sim)
    years = days / DAYS_PER_YEAR
    r = sim["account_ret"].to_numpy()
    eq_end = sim["equity"].iloc[-1]
    in_mkt = sim["leverage"] > 0
    return {"days": days, "liquidations": int(sim["liquidated"].sum()),
            "liq_per_year": sim["liquidated"].sum() / years,
            "liq_vs_budget": sim["liquidated"].sum() / years / budget_per_year,
            "mean_leverage": float(sim.loc[in_mkt, "leverage"].mean()),
            "cagr": eq_end ** (1 / years) - 1 if eq_end > 0 else -1.0,
            "sharpe": float(r.mean() / r.std(ddof=1) * np.sqrt(DAYS_PER_YEAR)) if r.std() > 0 else np.nan,
            "worst_day": float(r.min())}


def liquidations_for(x: np.ndarray, q: np.ndarray, c: float, venue: Venue, side: str = "long") -> tuple[int, float]:
    """Liquidation count and mean leverage of the rule ``V = c q`` without running the account
    (liquidation <=> x >= V(L), L clipped), for frontiers."""
    L = rule_leverage(q, c, venue, side)
    ok = np.isfinite(L) & np.isfinite(x)
    V = liquidation_distance(L[ok], venue.mmr, side)
    return int(np.sum(x[ok] >= V)), float(L[ok].mean())


def max_leverage_with(x: np.ndarray, q: np.ndarray, k: int, venue: Venue, side: str = "long") -> tuple[float, float]:
    """The constant c with the most mean leverage whose rule has at most ``k`` liquidations on these
    days (the equal-liquidation point of a frontier): returns ``(c, mean leverage)``.

    Liquidation count is non-increasing in ``c``; the admissible c is just above the (k+1)-th largest
    ``u = x / q``.  (Clipping at the leverage bounds only removes liquidations, so a smaller c could
    occasionally also qualify; the unclipped answer is kept: it is the natural frontier point.)"""
    q = np.asarray(q, dtype="float64")
    x = np.asarray(x, dtype="float64")
    ok = np.isfinite(q) & np.isfinite(x)
    u = np.sort(x[ok] / q[ok])[::-1]
    c = u[k] * (1 + 1e-9) if k < len(u) else 0.0
    n, m = liquidations_for(x[ok], q[ok], c, venue, side)
    while n > k:    # clipping only removes liquidations, so this never runs; kept as a guard
        c *= 1.0005
        n, m = liquidations_for(x[ok], q[ok], c, venue, side)
    return c, m


def frontier(x: np.ndarray, q: np.ndarray, venue: Venue, ks=range(0, 11), side: str = "long") -> pd.DataFrame:
    """Mean leverage at each liquidation count ``k`` (the most leverage with at most k)."""
    rows = [{"k": k, **dict(zip(("c", "mean_leverage"), max_leverage_with(x, q, k, venue, side)))} for k in ks]
    return pd.DataFrame(rows).set_index("k")
