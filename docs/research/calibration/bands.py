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
choice of ``vol``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import norm

__all__ = ["bs_gamma", "bs_delta", "straddle_delta", "straddle_gamma", "ww_half_width", "ww_relative_half_width",
           "rehedge", "BandPolicy"]


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
