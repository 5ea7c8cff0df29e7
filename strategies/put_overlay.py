"""The put overlay: hold the asset, buy cash-settled puts priced at implied volatility when the forecast
says protection is cheap."""

from __future__ import annotations

import math
from typing import Annotated

import pandas as pd
from pydantic import model_validator

from lstm_strategies.core.declarations import Metric, NonNegative, OneOf, Positive, Range, UnitInterval
from lstm_strategies.trading import pricing
from lstm_strategies.trading.feed import feed_timeframe

from .option_hedge import YEAR_DAYS, _OptionStrategy


class PutOverlayStrategy(_OptionStrategy):
    """Hold the asset and buy cash-settled puts when the forecast says protection is cheap.

    The put is priced by Black-Scholes at **implied volatility**: the ``implied_vol`` series (the
    shipped ``btc_dvol_daily``, a CSV path or a pandas Series), each bar using the last value known at
    its close. Where no series value is recent enough, no put is bought and the bar is counted,
    unless ``fallback = "proxy"``: then trailing realized volatility over ``rv_days`` times ``vrp``
    prices it, and the roll is labelled so. Without a series, ``pricing = "proxy"`` must be asked
    for explicitly. A ``spread`` is paid on top of the fair premium.

    The forecast decides only *when* to hedge: with ``hedge_when = "forecast_above_implied"`` a
    put is bought when the forecast volatility over the option's life exceeds implied volatility
    by more than ``margin`` (vol points, 0 by default); each decision is recorded with both
    volatilities. The option is marked to model each bar and its value changes are settled
    through the broker's cash; at expiry it pays ``max(K - S, 0)`` per unit.
    """

    name = "put_overlay"
    metrics = (Metric("decision.premium_paid_over_cash", "Premiums/cash", "percent", None),
               Metric("decision.payoff_over_cash", "Payoffs/cash", "percent", "higher"),
               Metric("decision.net_option_pnl_over_cash", "Net option P&L/cash", "percent", "higher", rank=True),
               Metric("decision.share_decisions_hedged", "Share hedged", "percent", None))

    class Params(_OptionStrategy.Params):
        asset_weight: Annotated[float, Range(0, 10)] = 0.95
        moneyness: Positive = 0.9
        vrp: Positive = 1.15
        spread: NonNegative = 0.05
        rv_days: Positive = 30
        hedge_when: Annotated[str, OneOf("forecast_above_implied", "always")] = "forecast_above_implied"
        margin: float = 0.0
        hedge_fraction: UnitInterval = 1.0
        pricing: Annotated[str, OneOf("implied", "proxy")] = "implied"
        fallback: Annotated[str | None, OneOf(None, "proxy")] = None
        band: NonNegative = 0.05

        @model_validator(mode="after")
        def _priced(self):
            if self.pricing == "implied" and self.implied_vol is None:
                raise ValueError("the put overlay prices options at implied volatility: set implied_vol (e.g. "
                                 "\"btc_dvol_daily\", a CSV path or a Series), or ask for pricing = \"proxy\" "
                                 "(realized vol x vrp)")
            return self

    params = Params.bt_params()

    def __init__(self):
        super().__init__()
        ppy = self.calendar.periods_per_year(feed_timeframe(self.data))
        self._ppy = ppy
        self._rv_bars = max(int(round(self.p.rv_days * ppy / self.calendar.days_per_year)), 2)
        self._returns: list[float] = []
        self._sum = self._sum2 = 0.0
        self._put: dict | None = None
        self._next_decision: float | None = None
        self.hedges: list[dict] = []
        self.decisions: list[dict] = []
        self.uncovered_bars = 0

    @classmethod
    def leverage_needed(cls, params) -> float:
        return max(1.0, float(params.asset_weight))

    def _observe_return(self) -> None:
        if len(self.data) < 2:
            return
        r = math.log(self.data.close[0] / self.data.close[-1])
        self._returns.append(r)
        self._sum += r
        self._sum2 += r * r
        if len(self._returns) > self._rv_bars:
            old = self._returns[-self._rv_bars - 1]
            self._sum -= old
            self._sum2 -= old * old
            if len(self._returns) > 4 * self._rv_bars:
                del self._returns[: -self._rv_bars - 1]

    def proxy_vol(self) -> float:
        """Trailing realized volatility over ``rv_days`` times ``vrp`` (running sums, O(1))."""
        n = self._rv_bars
        if len(self._returns) < n:
            return math.nan
        var = max((self._sum2 - self._sum * self._sum / n) / (n - 1), 0.0)
        return math.sqrt(var * self._ppy) * self.p.vrp

    def price_vol(self) -> tuple[float, str]:
        """The volatility a put is priced at now, and its source label."""
        if self.p.pricing == "proxy":
            return self.proxy_vol(), "proxy"
        iv = self.implied_now()
        if not math.isnan(iv):
            return iv, "implied"
        if self.p.fallback == "proxy":
            return self.proxy_vol(), "proxy (no implied value)"
        return math.nan, "none"

    def _mark(self, spot: float, iv: float) -> float:
        put = self._put
        years = max((put["expiry"] - self.data.datetime[0]) / YEAR_DAYS, 0.0)
        iv = put["iv"] if math.isnan(iv) else iv
        return put["units"] * float(pricing.price("put", spot, put["strike"], years, iv, self.p.rate))

    def next(self):
        self._observe_return()
        spot = self.data.close[0]
        iv, source = self.price_vol()
        if self._put is not None:  # variation margin: settle the change in model value
            expired = self.data.datetime[0] >= self._put["expiry"] - 1e-9
            value = self._put["units"] * max(self._put["strike"] - spot, 0.0) if expired else self._mark(spot, iv)
            self.broker.add_cash(value - self._put["value"])
            self._put["value"] = value
            if expired:
                self.hedges[-1].update(payoff=value, settled=str(self.now()))
                self._put = None
        life_vol = self.life_vol(self.p.maturity_days)
        if self.trading() and not math.isnan(life_vol):
            self.target_weight = self.p.asset_weight
            if self.rebalance_due():
                self.trade_to(self.target_weight)
            now = self.data.datetime[0]
            # decide only once the asset is held (the first order fills a bar later): a put covers units held
            decide = (self._put is None and self.position.size > 0
                      and (self._next_decision is None or now >= self._next_decision - 1e-9))
            if decide:
                self._next_decision = now + 1.0
                if math.isnan(iv):
                    self.uncovered_bars += 1
                else:
                    buy = self.p.hedge_when == "always" or life_vol > iv + self.p.margin
                    self.decisions.append({"datetime": self.now(), "forecast_vol": life_vol, "implied_vol": iv,
                                           "pricing": source, "bought": bool(buy)})
                    if buy:
                        self._buy_put(spot, iv, life_vol, source)
        self.hedge_ratio = self.p.hedge_fraction if self._put is not None else 0.0
        self.record(implied_vol=iv, hedged=float(self._put is not None))

    def _buy_put(self, spot: float, iv: float, vol: float, source: str) -> None:
        units = self.p.hedge_fraction * max(self.position.size, 0.0)
        if units <= 0:
            return
        strike = self.p.moneyness * spot
        years = self.p.maturity_days / YEAR_DAYS
        fair = units * float(pricing.price("put", spot, strike, years, iv, self.p.rate))
        paid = fair * (1.0 + self.p.spread)
        # pay the premium; the option is then marked from zero, so the next bar books its value
        self.broker.add_cash(-paid)
        self._put = {"strike": strike, "units": units, "iv": iv, "value": 0.0,
                     "expiry": self.data.datetime[0] + self.p.maturity_days}
        self.hedges.append({"datetime": self.now(), "spot": spot, "strike": strike, "units": units,
                            "implied_vol": iv, "forecast_vol": vol, "pricing": source, "premium": paid,
                            "payoff": 0.0})

    def extras(self) -> dict:
        return {"hedges": pd.DataFrame(self.hedges), "decisions": pd.DataFrame(self.decisions),
                "uncovered_bars": self.uncovered_bars,
                "implied_source": None if self._implied is None else self._implied.source}

    @classmethod
    def report_figures(cls, result, folder) -> list[tuple[str, object]]:
        """Premiums paid and payoffs received over the run, cumulative, as shares of the starting cash."""
        from lstm_strategies.core.plotting import new_figure, percent_axis, save_figure

        hedges = result.extras.get("hedges")
        if hedges is None or not len(hedges):
            return []
        cash = result.config.backtest.cash
        when = pd.DatetimeIndex(hedges["datetime"])
        fig, ax = new_figure(10, 3.6)
        ax.step(when, hedges["premium"].cumsum() / cash, where="post", label="premiums paid (cumulative)")
        ax.step(when, hedges["payoff"].cumsum() / cash, where="post", label="payoffs received (cumulative)")
        percent_axis(ax)
        title = f"{result.config.name}: premiums paid and payoffs received (share of starting cash)"
        return [("premiums and payoffs", save_figure(fig, folder / "premiums_payoffs.png", title,
                                                     "share of starting cash"))]

    @classmethod
    def describe(cls, result) -> str:
        source = result.extras.get("implied_source")
        return f", options priced at implied vol ({source})" if source else ""

    @classmethod
    def run_warnings(cls, result) -> list[str]:
        """Decision days the overlay skipped because no implied value was known (it buys no put on them)."""
        missing = int(result.extras.get("uncovered_bars", 0))
        decisions = result.extras.get("decisions")
        total = len(decisions) + missing if decisions is not None else 0
        if not missing:
            return []
        share = f" ({missing / total:.0%} of them)" if total else ""
        return [f"no implied volatility from {result.extras.get('implied_source')} was known on {missing} decision "
                f"day(s){share}: no put was bought or priced on them; check that the series covers the run"]

    @classmethod
    def decision_metrics(cls, result) -> dict:
        hedges, cash = result.extras.get("hedges"), result.config.backtest.cash
        out = {"pricing": result.params.pricing,
               "implied_source": result.extras.get("implied_source"),
               "decision_days_without_implied": int(result.extras.get("uncovered_bars", 0))}
        decisions = result.extras.get("decisions")
        if decisions is not None and len(decisions):
            out["decisions"] = int(len(decisions))
            out["share_decisions_hedged"] = float(decisions["bought"].mean())
        if hedges is not None and len(hedges):
            out.update({"puts_bought": int(len(hedges)),
                        "premium_paid_over_cash": float(hedges["premium"].sum() / cash),
                        "payoff_over_cash": float(hedges["payoff"].sum() / cash),
                        "net_option_pnl_over_cash": float((hedges["payoff"].sum() - hedges["premium"].sum()) / cash),
                        "puts_by_pricing": hedges["pricing"].value_counts().to_dict()})
        return out
