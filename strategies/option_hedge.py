"""Option-style hedging driven by the volatility forecast over the option's remaining life.

Option prices are **Black-Scholes**. The synthetic put and the collar need no option market (they
are replicated by trading the asset at the forecast's delta); with an implied-volatility series
(e.g. the shipped Deribit DVOL, ``implied_vol = "btc_dvol_1d"``) each roll also reports what the
same option cost at the market's implied volatility. The put overlay buys a put priced at
implied volatility (the series, or a realized-vol proxy only when asked for).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import AfterValidator, model_validator

from lstm_strategies import pricing
from lstm_strategies.btfeed import bt_num_to_ns, feed_timeframe
from lstm_strategies.declarations import Metric, NonNegative, OneOf, Positive, Range, UnitInterval
from lstm_strategies.implied import ImpliedVolLookup, load_implied_vol

from .base import ForecastStrategy

YEAR_DAYS = 365.0


def implied_lookup(spec) -> ImpliedVolLookup | None:
    """An :class:`ImpliedVolLookup` from a Series, a shipped name (``btc_dvol_1d``) or a CSV path."""
    if spec is None:
        return None
    return ImpliedVolLookup(load_implied_vol(spec))


def _series_spec(value):
    """An implied-vol series: a shipped name or CSV path (text), a pandas Series, or None."""
    if value is not None and not isinstance(value, (str, pd.Series)):
        raise ValueError("must be a shipped series name (btc_dvol_1d), a CSV path or a pandas Series")
    return value


def _age(value: str) -> str:
    try:
        ok = pd.Timedelta(value) > pd.Timedelta(0)
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError("must be a positive duration such as '3D'")
    return value


class _OptionStrategy(ForecastStrategy):
    """What the option strategies share: the option's life in days and the implied-vol series."""

    class Params(ForecastStrategy.Params):
        maturity_days: Annotated[float, Range(0, 3650, low_open=True)] = 30
        rate: Annotated[float, Range(-0.5, 1, low_open=True, high_open=True)] = 0.0   # a year, continuous
        implied_vol: Annotated[Any, AfterValidator(_series_spec)] = None
        implied_max_age: Annotated[str, AfterValidator(_age)] = "3D"
        extrapolate: bool = False

    params = Params.bt_params()

    def __init__(self):
        super().__init__()
        self._implied = None
        if self.p.implied_vol is not None:
            self._implied = ImpliedVolLookup(load_implied_vol(self.p.implied_vol), self.p.implied_max_age)
        self._bar_ns = pd.Timedelta(feed_timeframe(self.data)).value

    #: the ``vol`` line (records, plots) shows the forecast horizon nearest the option's life
    snap_horizon = True
    horizon_param = "maturity_days"
    can_extrapolate = True

    def horizon_days(self) -> float:
        return float(self.p.maturity_days)

    def implied_now(self) -> float:
        """Implied vol known at this bar's close (NaN without a series or outside it)."""
        if self._implied is None:
            return math.nan
        return self._implied.at(bt_num_to_ns(self.data.datetime[0]) + self._bar_ns)

    def life_vol(self, calendar_days: float) -> float:
        """Forecast volatility over the next ``calendar_days`` (the option's remaining life)."""
        return self.forecast.vol_at(self.calendar.trading_days(max(calendar_days, 1e-6)))


class _ReplicatedOptionStrategy(_OptionStrategy):
    """Hold the asset plus a replicated option package, rolled every ``maturity_days``.

    At each roll the strategy fixes the strikes from the spot, the number of protected units
    ``n = value / package_price`` and the expiry. Between rolls it holds ``n * delta`` units of the
    asset (the rest in cash), where ``delta`` is the package's Black-Scholes delta at the forecast
    volatility over the option's *remaining life*.

    Each completed roll records its **hedging error**: the value at expiry minus the ideal
    protected payoff (what the option position would have been worth), as a fraction of the value
    at the roll.
    """

    metrics = (Metric("decision.hedge_error_std", "Hedge err sd", "percent", "lower", headline=True, rank=True,
                      digits=2),
               Metric("decision.hedge_error_mean", "Hedge err mean", "percent", "higher", digits=2),
               Metric("decision.hedge_error_worst", "Hedge err worst", "percent", "higher", digits=2),
               Metric("decision.share_rolls_2pts_below_floor", "Rolls 2 pts below floor", "percent", "lower"),
               Metric("decision.option_cost_per_roll_mean", "Option cost per roll", "percent", None, digits=2))

    class Params(_OptionStrategy.Params):
        # band 0.2: the lowest mean RMS hedging error on 2021 (benchmarks/choose_decision_defaults.py)
        band: NonNegative = 0.2
        max_weight: Annotated[float, Range(0, 10, low_open=True)] = 1.0

    params = Params.bt_params()

    def __init__(self):
        super().__init__()
        self._expiry: float | None = None  # Backtrader date number
        self._units = 0.0
        self.floor = math.nan
        self.rolls: list[dict] = []

    @classmethod
    def leverage_needed(cls, params: dict) -> float:
        return max(1.0, float(params.get("max_weight", 1.0)))

    def strikes(self, spot: float) -> dict:
        raise NotImplementedError

    def package(self, spot: float, years: float, vol: float) -> tuple[float, float]:
        """Price and delta of one unit of (asset + options) at the current strikes."""
        raise NotImplementedError

    def payoff(self, spot: float) -> float:
        """Value at expiry of one unit of the package."""
        raise NotImplementedError

    def _close_roll(self, complete: bool = True) -> None:
        if not self.rolls or "value_end" in self.rolls[-1]:
            return
        roll = self.rolls[-1]
        spot = self.data.close[0]
        value = self.broker.getvalue()
        ideal = roll["units"] * self.payoff(spot)
        roll.update(value_end=value, spot_end=spot, ideal_end=ideal, complete=complete,
                    hedge_error=(value - ideal) / roll["value_start"],
                    value_over_floor=value / roll["floor"] - 1.0)

    def _roll(self, spot: float, vol: float) -> None:
        self._close_roll()
        self._strikes = self.strikes(spot)
        years = self.p.maturity_days / YEAR_DAYS
        value, _ = self.package(spot, years, vol)
        start_value = self.broker.getvalue()
        self._units = start_value / value
        self._expiry = self.data.datetime[0] + self.p.maturity_days  # date numbers are days
        self.floor = self._units * self._strikes["put"]
        iv = self.implied_now()
        market = self.package(spot, years, iv)[0] if not math.isnan(iv) else math.nan
        self.rolls.append({"datetime": self.now(), "spot": spot, "forecast_vol": vol, "implied_vol": iv,
                           **self._strikes, "units": self._units, "floor": self.floor,
                           "value_start": start_value, "option_cost": (value - spot) / spot,
                           "option_cost_implied": (market - spot) / spot if not math.isnan(market) else math.nan})

    def next(self):
        if self.trading():
            spot = self.data.close[0]
            due = self._expiry is None or self.data.datetime[0] >= self._expiry - 1e-9
            if due:
                vol = self.life_vol(self.p.maturity_days)
                if not math.isnan(vol) and vol > 0:
                    self._roll(spot, vol)
            if self._expiry is not None:
                days_left = max(self._expiry - self.data.datetime[0], 0.0)
                vol = self.life_vol(days_left) if days_left > 0 else self.forecast.vol[0]
                if not math.isnan(vol) and vol > 0:
                    _, delta = self.package(spot, days_left / YEAR_DAYS, vol)
                    self.hedge_ratio = float(delta)
                    self.target_weight = float(np.clip(self._units * delta * spot / self.broker.getvalue(),
                                                       0.0, self.p.max_weight))
                    if self.rebalance_due():
                        self.trade_to(self.target_weight)
        self.record(floor=self.floor)

    def stop(self):
        self._close_roll(complete=False)

    def extras(self) -> dict:
        return {"rolls": pd.DataFrame(self.rolls)}

    @classmethod
    def decision_metrics(cls, result) -> dict:
        rolls = result.extras.get("rolls")
        out: dict = {}
        if rolls is None or not len(rolls):
            return out
        done = rolls[rolls["complete"].astype(bool)] if "complete" in rolls else rolls.iloc[0:0]
        out["rolls"] = int(len(rolls))
        out["option_cost_per_roll_mean"] = float(rolls["option_cost"].mean())
        if rolls["option_cost_implied"].notna().any():
            out["option_cost_implied_per_roll_mean"] = float(rolls["option_cost_implied"].mean())
            out["rolls_priced_at_implied"] = int(rolls["option_cost_implied"].notna().sum())
        if len(done):
            err = done["hedge_error"]
            out.update({"completed_rolls": int(len(done)), "hedge_error_mean": float(err.mean()),
                        "hedge_error_std": float(err.std(ddof=1)) if len(err) > 1 else math.nan,
                        "hedge_error_worst": float(err.min()),
                        "share_rolls_2pts_below_floor": float((done["value_over_floor"] < -0.02).mean())})
        return out


class SyntheticPutStrategy(_ReplicatedOptionStrategy):
    """Portfolio insurance: replicate asset + protective put by delta hedging.

    Holds ``N(d1)`` of the protected notional in the asset (the delta of asset + put), the rest in
    cash, with strike ``moneyness * spot`` fixed at each roll. The put's premium is never paid in
    cash: it shows up as the upside given up (the hedge cost), and the floor ``units * strike``
    holds up to gap risk and volatility misestimation, which is where the forecast matters.
    """

    name = "synthetic_put"

    class Params(_ReplicatedOptionStrategy.Params):
        moneyness: Positive = 0.9

    params = Params.bt_params()

    def strikes(self, spot: float) -> dict:
        return {"put": self.p.moneyness * spot}

    def package(self, spot, years, vol):
        k = self._strikes["put"]
        value = spot + pricing.price("put", spot, k, years, vol, self.p.rate)
        # asset + put has the delta of a call with the same strike (put-call parity)
        return float(value), float(pricing.delta("call", spot, k, years, vol, self.p.rate))

    def payoff(self, spot: float) -> float:
        return spot + max(self._strikes["put"] - spot, 0.0)


class CollarStrategy(_ReplicatedOptionStrategy):
    """Asset + protective put financed by a short call, replicated by delta hedging.

    Delta ``N(d1(K_put)) - N(d1(K_call))``: the floor at ``put_moneyness * spot`` is paid for by
    giving up gains above ``call_moneyness * spot``.
    """

    name = "collar"

    class Params(_ReplicatedOptionStrategy.Params):
        put_moneyness: Positive = 0.9
        call_moneyness: Positive = 1.1

        @model_validator(mode="after")
        def _ordered(self):
            if self.put_moneyness >= self.call_moneyness:
                raise ValueError(f"put_moneyness {self.put_moneyness} must be below call_moneyness "
                                 f"{self.call_moneyness}")
            return self

    params = Params.bt_params()

    def strikes(self, spot: float) -> dict:
        return {"put": self.p.put_moneyness * spot, "call": self.p.call_moneyness * spot}

    def package(self, spot, years, vol):
        kp, kc = self._strikes["put"], self._strikes["call"]
        r = self.p.rate
        value = (spot + pricing.price("put", spot, kp, years, vol, r)
                 - pricing.price("call", spot, kc, years, vol, r))
        # asset + put(K_put) - call(K_call) = call(K_put) - call(K_call) in delta terms
        delta = pricing.delta("call", spot, kp, years, vol, r) - pricing.delta("call", spot, kc, years, vol, r)
        return float(value), float(max(delta, 0.0))

    def payoff(self, spot: float) -> float:
        return spot + max(self._strikes["put"] - spot, 0.0) - max(spot - self._strikes["call"], 0.0)


class PutOverlayStrategy(_OptionStrategy):
    """Hold the asset and buy cash-settled puts when the forecast says protection is cheap.

    The put is priced by Black-Scholes at **implied volatility**: the ``implied_vol`` series (the
    shipped ``btc_dvol_1d``, a CSV path or a pandas Series), each bar using the last value known at
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
                                 "\"btc_dvol_1d\", a CSV path or a Series), or ask for pricing = \"proxy\" "
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
    def leverage_needed(cls, params: dict) -> float:
        return max(1.0, float(params.get("asset_weight", 0.95)))

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
    def decision_metrics(cls, result) -> dict:
        hedges, cash = result.extras.get("hedges"), result.config.backtest.cash
        out = {"pricing": result.config.strategy.params.get("pricing", cls.Params.defaults()["pricing"]),
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
