"""A replicated variance swap against implied volatility (e.g. Deribit DVOL), cash-settled beside the broker."""

from __future__ import annotations

import math
from typing import Annotated

from lstm_strategies.core.declarations import Metric, Positive, Range
from lstm_strategies.trading.variance import annual_points, delivery_fee, strip_fee

from .variance_base import _VarianceStrategy, shared_metrics


class VarianceSwapStrategy(_VarianceStrategy):
    r"""Sell (or buy) ``maturity_days`` variance swaps struck at implied variance, once a day or once a roll.

    A swap opened at the bar that closes day ``d`` is struck at the implied volatility known at that
    close, less the replication spread for a short (``K = (IV_d - spread)^2``, more for a long), and
    pays :math:`K - RV` variance points per unit of notional (short), where ``RV`` is
    :math:`365/T \cdot 10^4 \sum r^2` over the hourly log returns of the bars traded during days
    ``d+1 .. d+T``. At each day's close ``t = d + k`` it is marked at

    .. math:: V_k = n\,[K - (RV_{d+1..t} + IV_t^2 (T - k)/T)] - |n|\,\text{fee}

    (the realized part from bars already traded, the remaining life at today's implied variance,
    the strip's option fees paid at entry); the change of ``V`` is settled in cash through the
    broker each day, and at ``k = T`` the swap settles at its payoff less the strip's delivery fee.

    Sizing: one unit of variance notional is worth ``cash * vega_budget / (2 * reference_vol)`` of cash
    per variance point, so that a fresh full-notional swap's vega (``2 IV`` variance points per
    volatility point) costs ``vega_budget`` of the capital per volatility point at ``reference_vol``
    (the selection period's median implied volatility; default: the first decision's).
    The capital is then ``2 * reference_vol / vega_budget`` variance points.
    """

    name = "variance_swap"
    #: the book's ES collateral (collateral = "es") is defined for swaps (trading/variance_margin.py)
    es_collateral_supported = True
    metrics = (*shared_metrics("cap"),
               *(Metric(f"decision.points.{key}", f"{label} (var pts)", "count", "higher",
                        headline=key == "pnl_per_year", column=f"{key}_points")
                 for key, label in (("pnl_per_year", "P&L/yr"), ("pnl_per_trade", "P&L/trade"),
                                    ("worst_30d", "Worst 30d"), ("worst_trade", "Worst trade"),
                                    ("cvar_95_mtm", "CVaR95 MTM"))))

    class Params(_VarianceStrategy.Params):
        vega_budget: Annotated[float, Range(1e-6, 1)] = 0.005   # below 1e-6 the P&L rounds to 0
        reference_vol: Positive | None = None

    params = Params.bt_params()

    def __init__(self):
        super().__init__()
        self.annual = annual_points(self.tenor, self.calendar.days_per_year)
        self._cum_r2 = 0.0

    def next(self):
        self.ledger.new_bar()
        if len(self.data) > 1:
            r = math.log(self.data.close[0] / self.data.close[-1])
            self._cum_r2 += r * r
        day = self.day_ending()
        if day is not None and self.es_collateral is not None:  # every day: the scenarios need the history
            self.es_collateral.add_day(day, self._cum_r2, self.implied_now() * 100.0)
        if day is not None and self.trading():
            self.on_day(day)
        self.record(value=self.equity(), implied_vol=self.implied_now(), notional=self.ledger.gross())

    def on_day(self, day: int) -> None:
        iv = self.implied_now() * 100.0
        if math.isnan(iv):
            self.days_without_implied += 1
        elif math.isnan(self.capital):
            reference = self.p.reference_vol or iv
            self.capital = 2.0 * reference / self.p.vega_budget
            self.ledger.cash_per_unit = self.broker.getvalue() / self.capital
        spot = self.data.close[0]
        for pos in list(self.ledger.live):
            self.mark(pos, day, iv, spot)
        held = self.ledger.take_pnl()
        if not math.isnan(iv):
            w = self.decide(day, iv, self.annual)
            if w:
                self.open(day, w, iv, spot)
        if not math.isnan(self.capital):
            self.close_day(day, held, self.ledger.take_pnl(), self.capital * self.ledger.cash_per_unit)

    def _shock(self, n: float) -> float:
        return self.p.shock_up**2 - 1.0 if n > 0 else 1.0 - self.p.shock_down**2

    def open(self, day: int, w: float, iv: float, spot: float) -> None:
        n = w / self.tenor if self.p.mode == "ladder" else w
        strike = (iv - math.copysign(self.p.spread_points, w)) ** 2
        fee = abs(n) * strip_fee(iv, self.tenor, self.p.option_fee, self.p.fee_cap)
        self.ledger.open(len(self.trades) - 1, day, n, n * (strike - iv * iv), fee=fee,
                         margin=abs(n) * self._shock(n) * iv * iv, strike=strike, spot=spot, r2=self._cum_r2, w=w)
        self.trades[-1].update(strike=strike, entry_fee=fee / abs(n))

    def mark(self, pos, day: int, iv: float, spot: float) -> None:
        n, info = pos.quantity, pos.info
        k = day - pos.opened
        realized = self.annual * (self._cum_r2 - info["r2"])
        if k >= self.tenor:
            exit_fee = delivery_fee(spot / info["spot"], self.tenor, self.p.delivery_fee)
            self.ledger.settle(pos, n * (info["strike"] - realized), day, fee=abs(n) * exit_fee)
            w = info["w"]
            self.trades[pos.key].update(realized=realized, exit_fee=exit_fee,
                                        payoff=w * (info["strike"] - realized) - abs(w) * (pos.fees / abs(n)))
        elif not math.isnan(iv):
            left = (self.tenor - k) / self.tenor
            value = n * (info["strike"] - (realized + iv * iv * left))
            self.ledger.mark(pos, value, margin=abs(n) * self._shock(n) * iv * iv * left)

    @classmethod
    def capital_units(cls, result) -> float:
        return float(result.extras.get("capital") or math.nan)

    @classmethod
    def decision_metrics(cls, result) -> dict:
        out = super().decision_metrics(result)
        points = cls.scaled_metrics(result, 1.0)
        out["points"] = points
        out["capital_points"] = result.extras.get("capital")
        return out
