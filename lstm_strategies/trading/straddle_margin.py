"""Collateral for a book of delta-hedged straddles from the forecast's expected shortfall (issue #30).

The variance swaps' ES collateral (:mod:`lstm_strategies.trading.variance_margin`) uses that a swap book is linear
in two risk factors; a straddle book is not, so each scenario is priced in full. Scenario ``j`` is a past day whose
``h``-day outcome was complete at the day's close (the last ``es_window`` of them, at least ``es_min_scenarios``):
its log return over the ``h`` days divided by the collateral forecaster's ``h``-day standard deviation made that day,
``z_j``, and DVOL's log move over the same days, ``dlog IV_j`` (the swaps' pool, with the signed return kept). At
day ``t``'s close, with spot ``S``, implied ``IV`` and the forecaster's ``h``-day variance ``F``:

    S*_j = S exp(z_j sqrt(F)),   IV*_j = IV exp(dlog IV_j),
    loss_j = - sum_i q_i [V(S*_j, K_i, tau_i - h, IV*_j) - V(S, K_i, tau_i, IV)] - H (S*_j - S),

``V`` the Black-Scholes straddle (call + put, at implied, as the book is marked; a straddle expiring inside the
window at its intrinsic value), ``q_i`` its signed quantity, ``tau_i`` its life left, ``H`` the hedge held (and
ordered) in the underlying. The collateral is the ES at ``es_level`` of ``loss_j``, floored at 0. The settings are
the swaps' frozen ones (7 days, 97.5%, 500 scenarios, at least 100), chosen on 2021-07 .. 2022-12; nothing was
chosen for the straddles.
"""

from __future__ import annotations

import math

import numpy as np

from lstm_strategies.trading import pricing
from lstm_strategies.trading.variance_margin import BookCollateral

__all__ = ["StraddleCollateral", "straddle_scenario_es"]

YEAR = 365.0


def _straddle(spot, strike, years, vol) -> np.ndarray:
    return pricing.price("call", spot, strike, years, vol) + pricing.price("put", spot, strike, years, vol)


def straddle_scenario_es(spot: float, iv: float, forecast_h: float, strikes: np.ndarray, qty: np.ndarray,
                         years_left: np.ndarray, hedge: float, horizon_days: float, z: np.ndarray,
                         dlogiv: np.ndarray, level: float) -> float:
    """The ES at ``level`` of a straddle book's ``horizon_days`` loss over the joint scenarios ``(z, dlogiv)``
    (see the module doc; money, floored at 0). ``iv`` and ``forecast_h`` are fractions (0.5, a variance)."""
    strikes, qty, years_left = (np.asarray(a, dtype="float64") for a in (strikes, qty, years_left))
    if not len(qty) and hedge == 0:
        return 0.0
    s_star = spot * np.exp(np.asarray(z) * math.sqrt(forecast_h))                     # (J,)
    iv_star = iv * np.exp(np.asarray(dlogiv))
    now = _straddle(spot, strikes, years_left, iv)                                     # (N,)
    later = _straddle(s_star[None, :], strikes[:, None], np.maximum(years_left - horizon_days / YEAR, 0.0)[:, None],
                      iv_star[None, :])                                                 # (N, J)
    loss = -(qty[:, None] * (later - now[:, None])).sum(axis=0) - hedge * (s_star - spot)
    q = np.quantile(loss, level)
    return max(float(loss[loss >= q].mean()), 0.0)


class StraddleCollateral(BookCollateral):
    """A ``hedged_straddle`` strategy's ES collateral day by day (``collateral = "es"``): the pool and forecast of
    :class:`~lstm_strategies.trading.variance_margin.BookCollateral`, the book priced in full per scenario."""

    def book_es(self, day: int) -> float:
        """The live straddles' and the hedge's ES after today's marks, entries and hedge decisions (money; NaN
        while too few scenarios)."""
        s = self.strategy
        _, forecast, iv_points = self._today
        es = math.nan
        if len(self.pool.z) >= self.pool.min_scenarios and math.isfinite(forecast) and math.isfinite(iv_points):
            live = [(s.trades[pos.key]["strike"], pos.quantity, (s.tenor - (day - pos.opened)) / YEAR)
                    for pos in s.ledger.live]
            strikes, qty, years = (np.array([row[i] for row in live], dtype="float64") for i in range(3))
            rows = s.hedges.rows
            hedge = float(rows["hedge"].sum() + rows["pending"].sum()) if len(s.hedges) else 0.0
            es = straddle_scenario_es(s.data.close[0], iv_points / 100.0, forecast, strikes, qty, years, hedge,
                                      self.horizon, np.array(self.pool.z), np.array(self.pool.dlogiv), self.level)
        return es
