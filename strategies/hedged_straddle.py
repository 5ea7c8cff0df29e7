"""A delta-hedged at-the-money straddle priced at implied volatility: the option beside the broker, the hedge
through Backtrader orders."""

from __future__ import annotations

import math
from typing import Annotated

from lstm_strategies.core.declarations import Metric, NonNegative, OneOf, Positive, Range
from lstm_strategies.trading import pricing
from lstm_strategies.trading.feed import bt_num_to_ns
from lstm_strategies.trading.hedging import BandPolicy, StraddleHedges
from lstm_strategies.trading.straddle_margin import StraddleCollateral

from .variance_base import DAY_NS, _VarianceStrategy, shared_metrics

YEAR = 365.0
PARTS = ("premium", "option_fees", "expiry_value", "delivery_fee", "hedge_gain", "hedge_cost", "net")


class HedgedStraddleStrategy(_VarianceStrategy):
    """Sell (or buy) ``maturity_days`` at-the-money straddles at implied volatility and delta-hedge them.

    At the bar that closes day ``d`` a straddle struck at the spot is sold at Black-Scholes with
    volatility ``IV_d - spread_points`` (bought at ``IV_d + spread_points``), paying the venue's fee
    per leg, ``min(option_fee * S, fee_cap * leg price)``. It is marked at implied volatility (mid) at
    each day's close, the change settled in cash through the broker, and at expiry it pays
    ``|S_T - K|`` less the delivery fee ``min(delivery_fee * S_T, fee_cap * |S_T - K|)``.

    **Hedging** goes through orders in the underlying, so its P&L carries the broker's commission
    and slippage. Each straddle keeps its own hedge; its target is minus its delta at the hedge
    volatility over its remaining life, and a **band policy** decides when and how far it trades:

    * ``hedge_band = "fixed"`` (0.3.0, the default): trade when the target is more than ``band`` (a
      fraction of the straddle's units) away from what it holds, ``adjust`` of the way to the target;
    * ``hedge_band = "ww"``: the Whalley-Wilmott no-transaction band, half-width
      ``units * (1.5 band_cost (S Gamma_1)^2 / risk_aversion)^(1/3)`` (``Gamma_1`` the straddle's gamma per
      unit; :mod:`lstm_strategies.trading.hedging`), a trade taking the hedge to the band's nearer edge;
    * ``hedge_to`` overrides where a trade goes (``"target"`` or ``"edge"``);
    * ``hedge_check``: at each day's close (``"daily"``, 0.3.0: remaining life in whole days) or at every bar
      (``"bar"``: the fractional life left at the bar's close);
    * ``hedge_vol``: delta and gamma at implied volatility (``"implied"``) or at the strategy's forecaster's
      annualised volatility over ``maturity_days`` at that bar (``"forecast"``), the same for every remaining
      life (issue #29's frozen hedge: WW at the calibrated log-HAR's 30-day forecast, ``risk_aversion`` 34,
      every bar, chosen on 2021-2022).

    At expiry a straddle's hedge is unwound. Every check's changes are netted into one order (filled at the
    next bar's open), whose gains and costs are attributed back to the straddles (vectorised over the live
    straddles: :class:`~lstm_strategies.trading.hedging.StraddleHedges`); so each straddle's P&L splits exactly
    into premium, option fees, value at expiry, delivery fee, hedge gains and hedge costs (``trades.csv``, with
    the policy in ``hedge_policy``; ``decision.straddle.net_sd_per_trade`` is their dispersion).

    ``notional`` sizes the book: a full-notional straddle (``w = 1``) covers ``notional`` of the
    capital in underlying (a ladder opens 1/``maturity_days`` of that each day).
    """

    name = "hedged_straddle"
    es_collateral_supported = True
    es_collateral_class = StraddleCollateral
    metrics = (*shared_metrics("cap"),
               Metric("decision.straddle.net_per_trade", "Net/straddle (% S0)", "percent", "higher", digits=2),
               Metric("decision.straddle.hedge_gain_per_trade", "Hedge gain/straddle (% S0)", "percent", None,
                      digits=2),
               Metric("decision.straddle.hedge_cost_per_trade", "Hedge cost/straddle (% S0)", "percent", "lower",
                      digits=2),
               Metric("decision.straddle.net_sd_per_trade", "Net sd/straddle (% S0)", "percent", "lower",
                      digits=2))

    class Params(_VarianceStrategy.Params):
        notional: Annotated[float, Range(0, 10, low_open=True)] = 1.0
        band: NonNegative = 0.05
        adjust: Annotated[float, Range(0, 1, low_open=True)] = 1.0
        hedge_band: Annotated[str, OneOf("fixed", "ww")] = "fixed"
        risk_aversion: Positive = 34.0
        band_cost: Annotated[float, Range(0, 0.05)] = 0.0015
        hedge_check: Annotated[str, OneOf("daily", "bar")] = "daily"
        hedge_vol: Annotated[str, OneOf("implied", "forecast")] = "implied"
        hedge_to: Annotated[str | None, OneOf(None, "edge", "target")] = None

    params = Params.bt_params()

    @classmethod
    def leverage_needed(cls, params) -> float:
        return 1.0 + float(params.notional) * float(params.max_multiple)

    def __init__(self):
        super().__init__()
        self.policy = BandPolicy(self.p.hedge_band, band=self.p.band, risk_aversion=self.p.risk_aversion,
                                 cost=self.p.band_cost, check=self.p.hedge_check, vol=self.p.hedge_vol,
                                 to=self.p.hedge_to)
        self.hedges = StraddleHedges(self.policy, self.p.adjust)
        self._equity_prev = math.nan
        self._cum_r2 = 0.0

    # -- the day -----------------------------------------------------------------------------------
    def next(self):
        self.ledger.new_bar()
        day = self.day_ending()
        if self.es_collateral is not None:
            if len(self.data) > 1:
                r = math.log(self.data.close[0] / self.data.close[-1])
                self._cum_r2 += r * r
            if day is not None:   # every day: the scenarios need the history before the start
                self.es_collateral.add_day(day, self._cum_r2, self.implied_now() * 100.0,
                                           math.log(self.data.close[0]))
        if day is not None and self.trading():
            self.on_day(day)
        elif self.policy.check == "bar" and self.trading() and len(self.hedges):
            self.hedge(self.implied_now(), self.data.close[0])
        self.record(value=self.equity(), implied_vol=self.implied_now(), notional=self.ledger.gross())

    def on_day(self, day: int) -> None:
        iv = self.implied_now()
        spot = self.data.close[0]
        if math.isnan(iv):
            self.days_without_implied += 1
        if math.isnan(self.capital):
            self.capital = self.broker.getvalue()
            self._equity_prev = self.capital
        self.hedges.mark(spot)
        for pos in list(self.ledger.live):
            self.mark(pos, day, iv, spot)
        self.ledger.take_pnl()
        if not math.isnan(iv):
            w = self.decide(day, iv * 100.0, YEAR / self.tenor * 1e4)
            if w:
                self.open(day, w, iv, spot)
        entry = self.ledger.take_pnl() * self.ledger.cash_per_unit
        self.hedge(iv, spot)
        equity = self.equity()
        self.close_day(day, equity - self._equity_prev - entry, entry, self.capital)
        self._equity_prev = equity

    def _price(self, spot, strike, years, vol) -> tuple[float, float]:
        call = float(pricing.price("call", spot, strike, years, vol))
        put = float(pricing.price("put", spot, strike, years, vol))
        return call, put

    def _margin(self, qty, spot, strike, years, iv) -> float:
        shocked = iv * (self.p.shock_up if qty < 0 else self.p.shock_down)
        now = sum(self._price(spot, strike, years, iv))
        return abs(qty) * abs(sum(self._price(spot, strike, years, shocked)) - now)

    def open(self, day: int, w: float, iv: float, spot: float) -> None:
        row = self.trades[-1]
        units = abs(w) / (self.tenor if self.p.mode == "ladder" else 1.0) * self.p.notional * self.capital / spot
        qty = -units if w > 0 else units            # a short straddle is minus options
        years = self.tenor / YEAR
        traded = self._price(spot, spot, years, max(iv - math.copysign(self.p.spread_points, w) / 100.0, 1e-4))
        fee = units * sum(min(self.p.option_fee * spot, self.p.fee_cap * leg) for leg in traded)
        mid = sum(self._price(spot, spot, years, iv))
        self.ledger.open(len(self.trades) - 1, day, qty, qty * mid, cost=qty * sum(traded), fee=fee,
                         margin=self._margin(qty, spot, spot, years, iv))
        row.update(spot=spot, strike=spot, units=units, premium=sum(traded) / spot, option_fees=fee / (units * spot),
                   hedge_trades=0, hedge_policy=self.policy.describe())
        self.hedges.add(len(self.trades) - 1, spot, (day + 1 + self.tenor) * DAY_NS, qty, units, spot)

    def mark(self, pos, day: int, iv: float, spot: float) -> None:
        k = day - pos.opened
        row = self.trades[pos.key]
        if k >= self.tenor:
            intrinsic = abs(spot - row["strike"])
            fee = abs(pos.quantity) * min(self.p.delivery_fee * spot, self.p.fee_cap * intrinsic)
            self.ledger.settle(pos, pos.quantity * intrinsic, day, fee=fee)
            row.update(expiry_value=intrinsic / row["strike"], delivery_fee=fee / (row["units"] * row["strike"]))
            self.hedges.expire(pos.key)
        elif not math.isnan(iv):
            years = (self.tenor - k) / YEAR
            value = pos.quantity * sum(self._price(spot, row["strike"], years, iv))
            self.ledger.mark(pos, value, margin=self._margin(pos.quantity, spot, row["strike"], years, iv))

    # -- hedging -----------------------------------------------------------------------------------
    def hedge_vol(self, iv: float) -> float:
        """The volatility of the hedge's delta and gamma at this bar: implied, or the forecaster's over the
        straddle's life (annualised)."""
        if self.policy.vol == "implied":
            return iv
        var = self.forecast_variance()
        days = self.calendar.trading_days(self.tenor)
        return math.sqrt(var * self.calendar.days_per_year / days) if var >= 0 else math.nan

    def hedge(self, iv: float, spot: float) -> None:
        """Every straddle's hedge on its band (vectorised); the changes netted into one order."""
        close_ns = bt_num_to_ns(self.data.datetime[0]) + self._bar_ns
        change = self.hedges.decide(spot, self.hedge_vol(iv), close_ns)
        if self.hedges.has_pending:
            self.order_target_size(target=self.position.size + change)
        self._finish()

    def notify_order(self, order):
        super().notify_order(order)
        if order.status != order.Completed or not self.hedges.has_pending:
            return
        open_ = self.data.open[0]
        self.hedges.fill(open_, order.executed.comm + abs(order.executed.size) * abs(order.executed.price - open_))
        self._finish()

    def _finish(self) -> None:
        """Expired straddles whose hedge is unwound: their P&L parts, per unit of underlying at the strike."""
        for done in self.hedges.finished():
            row = self.trades[done["key"]]
            base = row["units"] * row["strike"]
            side = 1.0 if row["w"] > 0 else -1.0
            row.update(hedge_gain=done["gain"] / base, hedge_cost=done["cost"] / base, hedge_trades=done["trades"])
            row["net"] = (side * (row["premium"] - row["expiry_value"]) - row["option_fees"] - row["delivery_fee"]
                          + row["hedge_gain"] - row["hedge_cost"])
            row["payoff"] = row["net"] * abs(row["w"]) * self.p.notional * self.capital   # a full-notional straddle

    # -- reports -----------------------------------------------------------------------------------
    def extras(self) -> dict:
        out = super().extras()
        trades = out["trades"]
        if len(trades):
            out["trades"] = trades.drop(columns=[c for c in trades.columns if c.startswith("_")])
        return out

    @classmethod
    def decision_metrics(cls, result) -> dict:
        out = super().decision_metrics(result)
        trades = result.extras.get("trades")
        if trades is not None and "net" in trades:
            done = trades[trades["net"].notna()]
            out["straddle"] = {f"{part}_per_trade": float(done[part].mean()) for part in PARTS if len(done)}
            out["straddle"].update(straddles=int(len(done)),
                                   hedge_trades_per_straddle=float(done["hedge_trades"].mean()) if len(done) else None,
                                   net_sd_per_trade=float(done["net"].std(ddof=1)) if len(done) > 1 else None)
        return out
