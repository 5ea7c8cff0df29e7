"""A delta-hedged at-the-money straddle priced at implied volatility: the option beside the broker, the hedge
through Backtrader orders."""

from __future__ import annotations

import math
from typing import Annotated

from lstm_strategies.core.declarations import Metric, NonNegative, Range
from lstm_strategies.trading import pricing

from .variance_base import _VarianceStrategy, shared_metrics

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
    and slippage. Each straddle keeps its own hedge on the cost-aware schedule of the synthetic put:
    at each day's close its target is minus its delta at implied volatility; it trades only when
    the target is more than ``band`` (a fraction of the straddle's units) away from what it holds,
    and then ``adjust`` of the way; at expiry its hedge is unwound. The day's changes of every
    straddle are netted into one order (filled at the next bar's open), whose gains and costs are
    attributed back to the straddles; so each straddle's P&L splits exactly into premium, option
    fees, value at expiry, delivery fee, hedge gains and hedge costs (``trades.csv``).

    ``notional`` sizes the book: a full-notional straddle (``w = 1``) covers ``notional`` of the
    capital in underlying (a ladder opens 1/``maturity_days`` of that each day).
    """

    name = "hedged_straddle"
    metrics = (*shared_metrics("cap"),
               Metric("decision.straddle.net_per_trade", "Net/straddle (% S0)", "percent", "higher", digits=2),
               Metric("decision.straddle.hedge_gain_per_trade", "Hedge gain/straddle (% S0)", "percent", None,
                      digits=2),
               Metric("decision.straddle.hedge_cost_per_trade", "Hedge cost/straddle (% S0)", "percent", "lower",
                      digits=2))

    class Params(_VarianceStrategy.Params):
        notional: Annotated[float, Range(0, 10, low_open=True)] = 1.0
        band: NonNegative = 0.05
        adjust: Annotated[float, Range(0, 1, low_open=True)] = 1.0

    params = Params.bt_params()

    @classmethod
    def leverage_needed(cls, params) -> float:
        return 1.0 + float(params.notional) * float(params.max_multiple)

    def __init__(self):
        super().__init__()
        self._unfilled: dict = {}        # trade index -> hedge change ordered, not filled yet
        self._hedging: list[int] = []    # trades whose hedge is live (open straddles, expired ones unwinding)
        self._equity_prev = math.nan

    # -- the day -----------------------------------------------------------------------------------
    def next(self):
        self.ledger.new_bar()
        day = self.day_ending()
        if day is not None and self.trading():
            self.on_day(day)
        self.record(value=self.equity(), implied_vol=self.implied_now(), notional=self.ledger.gross())

    def on_day(self, day: int) -> None:
        iv = self.implied_now()
        spot = self.data.close[0]
        if math.isnan(iv):
            self.days_without_implied += 1
        if math.isnan(self.capital):
            self.capital = self.broker.getvalue()
            self._equity_prev = self.capital
        for row in self._hedged():
            row["_gain"] += row["_hedge"] * (spot - row["_ref"])
            row["_ref"] = spot
        for pos in list(self.ledger.live):
            self.mark(pos, day, iv, spot)
        self.ledger.take_pnl()
        if not math.isnan(iv):
            w = self.decide(day, iv * 100.0, YEAR / self.tenor * 1e4)
            if w:
                self.open(day, w, iv, spot)
        entry = self.ledger.take_pnl() * self.ledger.cash_per_unit
        self.hedge(day, iv, spot)
        equity = self.equity()
        self.close_day(day, equity - self._equity_prev - entry, entry, self.capital)
        self._equity_prev = equity

    def _hedged(self) -> list[dict]:
        return [self.trades[i] for i in self._hedging]

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
                   hedge_trades=0, _hedge=0.0, _gain=0.0, _cost=0.0, _ref=spot, _qty=qty, _target=0.0)
        self._hedging.append(len(self.trades) - 1)

    def mark(self, pos, day: int, iv: float, spot: float) -> None:
        k = day - pos.opened
        row = self.trades[pos.key]
        if k >= self.tenor:
            intrinsic = abs(spot - row["strike"])
            fee = abs(pos.quantity) * min(self.p.delivery_fee * spot, self.p.fee_cap * intrinsic)
            self.ledger.settle(pos, pos.quantity * intrinsic, day, fee=fee)
            row.update(expiry_value=intrinsic / row["strike"], delivery_fee=fee / (row["units"] * row["strike"]),
                       _qty=0.0)
        elif not math.isnan(iv):
            years = (self.tenor - k) / YEAR
            value = pos.quantity * sum(self._price(spot, row["strike"], years, iv))
            self.ledger.mark(pos, value, margin=self._margin(pos.quantity, spot, row["strike"], years, iv))

    # -- hedging -----------------------------------------------------------------------------------
    def hedge(self, day: int, iv: float, spot: float) -> None:
        """Each straddle's hedge on its band and partial adjustment; the changes netted into one order."""
        change = 0.0
        for i in list(self._hedging):
            row = self.trades[i]
            if row["_qty"] == 0.0:                   # expired: unwind
                target = 0.0
            elif math.isnan(iv):
                continue
            else:
                years = max(self.tenor - (day - self._opened(row)), 0) / YEAR
                delta = float(pricing.delta("call", spot, row["strike"], years, iv)
                              + pricing.delta("put", spot, row["strike"], years, iv))
                target = -row["_qty"] * delta
            gap = target - row["_hedge"]
            if abs(gap) <= 1e-12 or (row["_qty"] != 0.0 and abs(gap) <= self.p.band * row["units"]):
                if row["_qty"] == 0.0:
                    self._finish(i)
                continue
            step = gap if row["_qty"] == 0.0 else self.p.adjust * gap
            self._unfilled[i] = self._unfilled.get(i, 0.0) + step
            row["hedge_trades"] += 1
            change += step
        if self._unfilled:
            self.order_target_size(target=self.position.size + change)

    @staticmethod
    def _opened(row) -> int:
        return int(row["day"].value // 86_400_000_000_000)

    def notify_order(self, order):
        super().notify_order(order)
        if order.status != order.Completed or not self._unfilled:
            return
        open_ = self.data.open[0]
        cost = order.executed.comm + abs(order.executed.size) * abs(order.executed.price - open_)
        total = sum(abs(v) for v in self._unfilled.values())
        for i, step in self._unfilled.items():
            row = self.trades[i]
            row["_gain"] += row["_hedge"] * (open_ - row["_ref"])
            row["_hedge"] += step
            row["_ref"] = open_
            row["_cost"] += cost * abs(step) / total if total else 0.0
        self._unfilled = {}
        for i in [i for i in self._hedging if self.trades[i]["_qty"] == 0.0 and abs(self.trades[i]["_hedge"]) < 1e-12]:
            self._finish(i)

    def _finish(self, i: int) -> None:
        """An expired straddle whose hedge is unwound: its P&L parts, per unit of underlying at the strike."""
        row = self.trades[i]
        base = row["units"] * row["strike"]
        side = 1.0 if row["w"] > 0 else -1.0
        row.update(hedge_gain=row["_gain"] / base, hedge_cost=row["_cost"] / base)
        row["net"] = (side * (row["premium"] - row["expiry_value"]) - row["option_fees"] - row["delivery_fee"]
                      + row["hedge_gain"] - row["hedge_cost"])
        row["payoff"] = row["net"] * abs(row["w"]) * self.p.notional * self.capital   # a full-notional straddle, cash
        self._hedging.remove(i)

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
                                   hedge_trades_per_straddle=float(done["hedge_trades"].mean()) if len(done) else None)
        return out
