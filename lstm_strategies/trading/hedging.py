r"""Delta-hedging bands: the fixed band of 0.3.0 and the Whalley-Wilmott no-transaction band.

**Whalley-Wilmott.** Hedging an option position with proportional transaction costs, an investor with
exponential utility (absolute risk aversion :math:`\gamma`) keeps the hedge inside a band around the
Black-Scholes delta and, when the hedge leaves the band, trades it back to the band's nearer edge. To leading
order in the cost (Whalley & Wilmott 1997, eq. 4.9; also Wilmott, *Paul Wilmott on Quantitative Finance*,
2nd ed., ch. 48) the band's half-width, in units of the underlying, is

.. math:: H = \left(\frac{3}{2}\, \frac{e^{-r(T-t)}\, \lambda\, S\, \Gamma^2}{\gamma}\right)^{1/3},

with :math:`\lambda` the proportional cost of trading one unit (a fraction of its value, one way), :math:`S`
the spot, :math:`\Gamma` the position's gamma (units of underlying per unit of price) and :math:`r` the rate.

**Scale-free risk aversion.** The project sizes positions in units of the underlying. With an absolute
risk aversion proportional to the inverse of the position's notional, :math:`\gamma = \gamma_r / (n S)`
(``n`` units of an option whose gamma per unit is :math:`\Gamma_1`, so :math:`\Gamma = n \Gamma_1`), the
half-width is proportional to the position:

.. math:: \frac{H}{n} = \left(\frac{3}{2}\, \frac{e^{-r(T-t)}\, \lambda\, (S \Gamma_1)^2}{\gamma_r}\right)^{1/3},

a fraction of the position's units, like 0.3.0's fixed ``band``. :math:`S\Gamma_1` is dimensionless
(about 4.6 for a 30-day at-the-money straddle at 60% volatility), so one :math:`\gamma_r` serves every
asset and price level. The band widens with cost (:math:`\lambda^{1/3}`) and gamma (:math:`\Gamma^{2/3}`) and
narrows with risk aversion (:math:`\gamma_r^{-1/3}`).

**Policies** (:class:`BandPolicy`): ``fixed`` (0.3.0: trade when the gap exceeds ``band`` of the units, all the
way to the target) and ``ww`` (the Whalley-Wilmott half-width, trade to the nearer edge), checked at each
day's close or at every bar; the delta and gamma at implied volatility or at a forecast (the caller's
choice of ``vol``). The straddle strategy's ``hedge_band``, ``band``, ``risk_aversion``, ``band_cost``,
``hedge_check``, ``hedge_vol`` and ``hedge_to`` build one; :class:`StraddleHedges` applies it to a book of
straddles, vectorised over them (the research that chose issue #29's frozen policy, WW at a forecast's
volatility with ``gamma_r = 34`` checked every bar: ``docs/research/calibration/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import norm

__all__ = ["bs_gamma", "bs_delta", "straddle_delta", "straddle_gamma", "ww_half_width", "ww_relative_half_width",
           "rehedge", "BandPolicy", "StraddleHedges"]


# ----------------------------------------------------------------------------------------------
# Black-Scholes greeks (no dividends; rate r)
# ----------------------------------------------------------------------------------------------
def _d1(spot, strike, years, vol, rate=0.0):
    spot, strike, years, vol = (np.asarray(v, dtype="float64") for v in (spot, strike, years, vol))
    sig = vol * np.sqrt(years)
    return (np.log(spot / strike) + (rate + 0.5 * vol**2) * years) / sig


def bs_delta(kind: Literal["call", "put"], spot, strike, years, vol, rate: float = 0.0):
    """Black-Scholes delta of one call or put (units of underlying per option)."""
    d1 = _d1(spot, strike, years, vol, rate)
    return norm.cdf(d1) if kind == "call" else norm.cdf(d1) - 1.0


def bs_gamma(spot, strike, years, vol, rate: float = 0.0):
    """Black-Scholes gamma of one call or put: ``phi(d1) / (S sigma sqrt(T))``."""
    d1 = _d1(spot, strike, years, vol, rate)
    return norm.pdf(d1) / (np.asarray(spot, dtype="float64") * np.asarray(vol) * np.sqrt(years))


def straddle_delta(spot, strike, years, vol, rate: float = 0.0):
    """Delta of one long straddle (call + put)."""
    return bs_delta("call", spot, strike, years, vol, rate) + bs_delta("put", spot, strike, years, vol, rate)


def straddle_gamma(spot, strike, years, vol, rate: float = 0.0):
    """Gamma of one long straddle (twice an option's)."""
    return 2.0 * bs_gamma(spot, strike, years, vol, rate)


# ----------------------------------------------------------------------------------------------
# Whalley-Wilmott half-width
# ----------------------------------------------------------------------------------------------
def ww_half_width(gamma, spot, cost: float, risk_aversion: float, years_left=0.0, rate: float = 0.0):
    r"""Whalley-Wilmott no-transaction half-width in **units of the underlying**.

    ``H = (3/2 * exp(-r (T - t)) * cost * S * Gamma^2 / risk_aversion)^(1/3)``.

    Parameters
    ----------
    gamma : float or array
        The position's gamma (units of underlying per unit of price; the sign does not matter).
    spot : float or array
        Price of the underlying.
    cost : float
        Proportional cost of trading, one way, as a fraction of the traded value (0.0015 = 0.1% commission
        plus 0.05% slippage).
    risk_aversion : float
        Absolute risk aversion ``gamma`` of the exponential utility (per unit of money), > 0.
    years_left, rate : float
        Remaining life and interest rate (discounting of the cost; 1 at ``rate = 0``).
    """
    if risk_aversion <= 0:
        raise ValueError("risk_aversion must be positive")
    if cost < 0:
        raise ValueError("cost must be non-negative")
    g = np.abs(np.asarray(gamma, dtype="float64"))
    disc = np.exp(-rate * np.asarray(years_left, dtype="float64"))
    return np.cbrt(1.5 * disc * cost * np.asarray(spot, dtype="float64") * g**2 / risk_aversion)


def ww_relative_half_width(gamma_per_unit, spot, cost: float, risk_aversion_rel: float, years_left=0.0,
                           rate: float = 0.0):
    r"""Whalley-Wilmott half-width as a **fraction of the position's units**, with relative risk aversion.

    ``h = (3/2 * exp(-r (T - t)) * cost * (S Gamma_1)^2 / risk_aversion_rel)^(1/3)``, which is
    :func:`ww_half_width` for ``n`` units with absolute risk aversion ``risk_aversion_rel / (n S)``, divided by
    ``n``. ``gamma_per_unit`` is the gamma of one unit of the option position (e.g. :func:`straddle_gamma`).
    """
    if risk_aversion_rel <= 0:
        raise ValueError("risk_aversion_rel must be positive")
    sg = np.abs(np.asarray(spot, dtype="float64") * np.asarray(gamma_per_unit, dtype="float64"))
    disc = np.exp(-rate * np.asarray(years_left, dtype="float64"))
    return np.cbrt(1.5 * disc * cost * sg**2 / risk_aversion_rel)


# ----------------------------------------------------------------------------------------------
# the hedging decision
# ----------------------------------------------------------------------------------------------
def rehedge(hedge, target, half_width, to: Literal["edge", "target"] = "edge"):
    """New hedge given the current ``hedge``, the delta ``target`` and the band's ``half_width`` (same units).

    Inside the band (``|target - hedge| <= half_width``) nothing trades. Outside, the hedge moves to the
    band's nearer edge (``to="edge"``, Whalley-Wilmott's optimum) or all the way to the target
    (``to="target"``, 0.3.0's fixed band with ``adjust = 1``). Works on scalars and arrays.
    """
    hedge, target, hw = (np.asarray(v, dtype="float64") for v in (hedge, target, half_width))
    gap = target - hedge
    outside = np.abs(gap) > hw
    if to == "edge":
        moved = target - np.sign(gap) * hw
    elif to == "target":
        moved = target
    else:
        raise ValueError("to must be 'edge' or 'target'")
    out = np.where(outside, moved, hedge)
    return out if out.ndim else float(out)


@dataclass(frozen=True)
class BandPolicy:
    """A hedging band policy (what the strategies' ``hedge_band`` parameter describes).

    Attributes
    ----------
    kind : {"fixed", "ww"}
        ``fixed``: half-width ``band`` of the units (0.3.0); ``ww``: :func:`ww_relative_half_width`.
    band : float
        Fixed half-width as a fraction of the position's units (``kind="fixed"``).
    risk_aversion : float
        Relative risk aversion ``gamma_r`` (``kind="ww"``).
    cost : float
        One-way proportional cost used in the band (commission + slippage).
    check : {"daily", "bar"}
        Check the band at each day's close only, or at every bar.
    vol : {"implied", "forecast"}
        The volatility of the delta and gamma (the caller supplies it).
    to : {"edge", "target"}
        Where a trade takes the hedge (default: the edge for ``ww``, the target for ``fixed``).
    """

    kind: Literal["fixed", "ww"] = "fixed"
    band: float = 0.05
    risk_aversion: float = 1.0
    cost: float = 0.0015
    check: Literal["daily", "bar"] = "daily"
    vol: Literal["implied", "forecast"] = "implied"
    to: Literal["edge", "target"] | None = None

    def __post_init__(self):
        if self.kind not in ("fixed", "ww") or self.check not in ("daily", "bar") or \
                self.vol not in ("implied", "forecast") or self.to not in (None, "edge", "target"):
            raise ValueError(f"invalid BandPolicy {self}")
        if self.band < 0 or self.risk_aversion <= 0 or self.cost < 0:
            raise ValueError("band and cost must be >= 0 and risk_aversion > 0")

    @property
    def moves_to(self) -> str:
        return self.to or ("edge" if self.kind == "ww" else "target")

    def due(self, closes_day: bool) -> bool:
        """Whether the band is checked at this bar."""
        return self.check == "bar" or closes_day

    def half_width(self, units, spot, gamma_per_unit):
        """Half-width in units of the underlying for a position of ``units`` (absolute) option units."""
        units = np.abs(np.asarray(units, dtype="float64"))
        if self.kind == "fixed":
            return self.band * units
        return units * ww_relative_half_width(gamma_per_unit, spot, self.cost, self.risk_aversion)

    def step(self, hedge, target, units, spot, gamma_per_unit):
        """The new hedge (units of underlying) for current ``hedge`` and delta ``target``."""
        return rehedge(hedge, target, self.half_width(units, spot, gamma_per_unit), self.moves_to)

    def describe(self) -> str:
        """A short label (trades.csv's ``hedge_policy``)."""
        width = f"fixed {self.band:g}" if self.kind == "fixed" else f"WW gamma_r {self.risk_aversion:g}"
        when = "every bar" if self.check == "bar" else "daily"
        return f"{width}, {when}, at {self.vol}, to {self.moves_to}"


YEAR_NS = 365 * 86_400 * 1_000_000_000


class StraddleHedges:
    """The hedges of a book of straddles as arrays, one row per straddle: what a strategy decides at each check
    and how a fill is attributed back to the straddles (vectorised over the live straddles: a check costs a few
    numpy calls, not a Python loop, so a book can be checked every bar).

    A row holds the straddle's strike, expiry (UTC nanoseconds), signed option quantity (``qty``: minus the units
    for a short; 0 once expired), units, hedge in the underlying, accumulated hedge gain and cost, the price the
    gain was last measured from (``ref``), its rehedges and the change ordered and not yet filled.

    Parameters
    ----------
    policy : BandPolicy
        The band (fixed or Whalley-Wilmott) and where a trade takes the hedge.
    adjust : float
        Fixed band: the share of the gap a trade closes (0.3.0's partial adjustment).
    """

    FIELDS = ("key", "strike", "expiry", "qty", "units", "hedge", "gain", "cost", "ref", "trades", "pending")

    def __init__(self, policy: BandPolicy, adjust: float = 1.0):
        self.policy, self.adjust = policy, float(adjust)
        self.rows = {name: np.empty(0) for name in self.FIELDS}

    def __len__(self) -> int:
        return len(self.rows["key"])

    def add(self, key: int, strike: float, expiry_ns: int, qty: float, units: float, ref: float) -> None:
        """A new straddle (no hedge yet)."""
        new = dict(key=key, strike=strike, expiry=float(expiry_ns), qty=qty, units=units, hedge=0.0, gain=0.0,
                   cost=0.0, ref=ref, trades=0.0, pending=0.0)
        self.rows = {k: np.append(v, new[k]) for k, v in self.rows.items()}

    def expire(self, key: int) -> None:
        """The straddle expired: its hedge is unwound at the next check."""
        self.rows["qty"][self.rows["key"] == key] = 0.0

    def mark(self, spot: float) -> None:
        """Every hedge's gain up to ``spot`` (the day's close)."""
        r = self.rows
        r["gain"] += r["hedge"] * (spot - r["ref"])
        r["ref"][:] = spot

    def decide(self, spot: float, vol: float, now_ns: int) -> float:
        """Each straddle's hedge change at this check (delta and gamma at ``vol``, the life left at ``now_ns``);
        returns their sum (one netted order). Live straddles are skipped without a valid ``vol``; expired ones
        unwind in full."""
        from lstm_strategies.trading import pricing

        r = self.rows
        if not len(self):
            return 0.0
        live = r["qty"] != 0.0
        gap = -r["hedge"]                          # expired: back to no hedge
        step = np.where(np.abs(gap) > 1e-12, gap, 0.0)
        if live.any() and vol == vol and vol > 0:
            strike, qty, units = r["strike"][live], r["qty"][live], r["units"][live]
            years = np.maximum(r["expiry"][live] - now_ns, 0.0) / YEAR_NS
            delta = pricing.delta("call", spot, strike, years, vol) + pricing.delta("put", spot, strike, years, vol)
            gap_live = -qty * delta - r["hedge"][live]
            if self.policy.kind == "fixed":
                trade = (np.abs(gap_live) > 1e-12) & (np.abs(gap_live) > self.policy.band * units)
                moved = self.adjust * gap_live if self.policy.moves_to == "target" else \
                    gap_live - np.sign(gap_live) * self.policy.band * units
            else:
                gamma = 2.0 * pricing.gamma(spot, strike, years, vol)
                width = units * ww_relative_half_width(gamma, spot, self.policy.cost, self.policy.risk_aversion)
                trade = (np.abs(gap_live) > 1e-12) & (np.abs(gap_live) > width)
                moved = gap_live if self.policy.moves_to == "target" else gap_live - np.sign(gap_live) * width
            step[live] = np.where(trade & (np.abs(moved) > 1e-12), moved, 0.0)   # no trade of rounding noise
        elif live.any():
            step[live] = 0.0
        r["pending"] += step
        r["trades"] += step != 0.0
        return float(step.sum())

    @property
    def has_pending(self) -> bool:
        return bool(len(self) and np.any(self.rows["pending"] != 0.0))

    def fill(self, price: float, cost: float) -> None:
        """The netted order filled at ``price`` with ``cost`` (commission and slippage), shared by the straddles
        in proportion to the size each ordered."""
        r = self.rows
        on = r["pending"] != 0.0
        total = np.abs(r["pending"]).sum()
        r["gain"][on] += r["hedge"][on] * (price - r["ref"][on])
        r["hedge"][on] += r["pending"][on]
        r["ref"][on] = price
        if total:
            r["cost"][on] += cost * np.abs(r["pending"][on]) / total
        r["pending"][:] = 0.0

    def finished(self) -> list[dict]:
        """Expired straddles whose hedge is unwound: removed, returned as ``{key, gain, cost, trades}``."""
        r = self.rows
        done = (r["qty"] == 0.0) & (np.abs(r["hedge"]) < 1e-12) & (r["pending"] == 0.0)
        out = [{"key": int(k), "gain": float(g), "cost": float(c), "trades": int(t)}
               for k, g, c, t in zip(r["key"][done], r["gain"][done], r["cost"][done], r["trades"][done], strict=True)]
        if out:
            self.rows = {k: v[~done] for k, v in r.items()}
        return out
