"""Option-style hedging driven by the volatility forecast over the option's remaining life.

Option prices are **Black-Scholes**. The synthetic put and the collar need no option market (they
are replicated by trading the asset at the forecast's delta); with an implied-volatility series
(e.g. the shipped Deribit DVOL, ``implied_vol = "btc_dvol_daily"``) each roll also reports what the
same option cost at the market's implied volatility. The put overlay (:mod:`.put_overlay`) buys a
put priced at implied volatility.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import AfterValidator, model_validator

from lstm_strategies.core.declarations import Metric, NonNegative, OneOf, Positive, Range
from lstm_strategies.market.implied import ImpliedVolLookup, load_implied_vol
from lstm_strategies.trading import pricing
from lstm_strategies.trading.feed import bt_num_to_ns, feed_timeframe

from .base import ForecastStrategy

YEAR_DAYS = 365.0


def implied_lookup(spec) -> ImpliedVolLookup | None:
    """An :class:`ImpliedVolLookup` from a Series, a shipped name (``btc_dvol_daily``) or a CSV path."""
    if spec is None:
        return None
    return ImpliedVolLookup(load_implied_vol(spec))


def _series_spec(value):
    """An implied-vol series: a shipped name or CSV path (text), a pandas Series, or None."""
    if value is not None and not isinstance(value, (str, pd.Series)):
        raise ValueError("must be a shipped series name (btc_dvol_daily), a CSV path or a pandas Series")
    return value


#: the oldest implied value a position may be marked at (a month-old DVOL is not the market's price today)
MAX_IMPLIED_AGE = pd.Timedelta("31D")


def _age(value: str) -> str:
    try:
        ok = pd.Timedelta(0) < pd.Timedelta(value) <= MAX_IMPLIED_AGE
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError("must be a positive duration of at most '31D' (an older implied vol is not today's "
                         "market), such as '3D'")
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

    **Band policy** (issue #29): ``hedge_band = "fixed"`` (0.3.0, the default) trades when the target
    weight is more than ``band`` away from the current one, relative to it (``ForecastStrategy.trade_to``);
    ``hedge_band = "ww"`` keeps the units held inside the Whalley-Wilmott band around ``n * delta``, of
    half-width ``n * (1.5 band_cost (S Gamma_1)^2 / risk_aversion)^(1/3)`` (``Gamma_1`` the package's gamma
    per unit at the forecast volatility; :mod:`lstm_strategies.trading.hedging`), a trade taking it to the
    band's nearer edge, checked on ``rebalance``'s schedule. No WW setting was chosen for the put (the
    research ran none): ``band = 0.2`` stays its default.
    """

    metrics = (Metric("decision.hedge_error_std", "Hedge err sd", "percent", "lower", headline=True, rank=True,
                      digits=2),
               Metric("decision.hedge_error_mean", "Hedge err mean", "percent", "higher", digits=2),
               Metric("decision.hedge_error_worst", "Hedge err worst", "percent", "higher", digits=2),
               Metric("decision.share_rolls_2pts_below_floor", "Rolls 2 pts below floor", "percent", "lower"),
               Metric("decision.option_cost_per_roll_mean", "Option cost per roll", "percent", None, digits=2),
               Metric("decision.option_cost_implied_per_roll_mean", "Option cost at implied vol per roll", "percent",
                      None, digits=2, column="option_cost_implied_per_roll"))

    class Params(_OptionStrategy.Params):
        # band 0.2: the lowest mean RMS hedging error on 2021 (benchmarks/choose_decision_defaults.py)
        band: NonNegative = 0.2
        max_weight: Annotated[float, Range(0, 10, low_open=True)] = 1.0
        hedge_band: Annotated[str, OneOf("fixed", "ww")] = "fixed"
        risk_aversion: Positive = 34.0
        band_cost: Annotated[float, Range(0, 0.05)] = 0.0015

    params = Params.bt_params()

    def __init__(self):
        super().__init__()
        self._expiry: float | None = None  # Backtrader date number
        self._units = 0.0
        self.floor = math.nan
        self.rolls: list[dict] = []

    @classmethod
    def leverage_needed(cls, params) -> float:
        return max(1.0, float(params.max_weight))

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
                        if self.p.hedge_band == "ww":
                            self._ww_trade(spot, days_left / YEAR_DAYS, vol)
                        else:
                            self.trade_to(self.target_weight)
        self.record(floor=self.floor)

    def package_gamma(self, spot: float, years: float, vol: float) -> float:
        """Gamma of one unit of the package (its options'; the asset has none)."""
        raise NotImplementedError

    def _ww_trade(self, spot: float, years: float, vol: float) -> None:
        """Move the units held to the Whalley-Wilmott band's nearer edge around the target, if outside it."""
        from lstm_strategies.trading.hedging import ww_relative_half_width

        weight = min(self.target_weight, 1.0 - self.p.cash_buffer) if self.target_weight <= 1.0 else self.target_weight
        target = weight * self.broker.getvalue() / spot
        width = self._units * float(ww_relative_half_width(self.package_gamma(spot, years, vol), spot,
                                                           self.p.band_cost, self.p.risk_aversion))
        gap = target - self.position.size
        if abs(gap) > max(width, 1e-12):
            self.order_target_size(target=target - math.copysign(width, gap))

    def stop(self):
        self._close_roll(complete=False)

    def extras(self) -> dict:
        return {"rolls": pd.DataFrame(self.rolls)}

    @classmethod
    def report_figures(cls, result, folder) -> list[tuple[str, object]]:
        """The hedging error of each completed roll: value at expiry against the ideal protected payoff."""
        from lstm_strategies.core.plotting import new_figure, percent_axis, save_figure

        rolls = result.extras.get("rolls")
        if rolls is None or not len(rolls) or "hedge_error" not in rolls:
            return []
        done = rolls[rolls["complete"].astype(bool)]
        if not len(done):
            return []
        fig, ax = new_figure(10, 3.6)
        err = done["hedge_error"].to_numpy()
        ax.bar(pd.DatetimeIndex(done["datetime"]), err, width=20, color=np.where(err < 0, "tab:red", "tab:blue"),
               label="hedging error per roll (share of the value at the roll)")
        ax.axhline(0, color="black", lw=0.6)
        percent_axis(ax, decimals=1)
        title = f"{result.config.name}: hedging error per roll (value at expiry minus the ideal protected payoff)"
        return [("hedging error per roll", save_figure(fig, folder / "hedging_error.png", title,
                                                       "share of the value at the roll"))]

    @classmethod
    def decision_metrics(cls, result) -> dict:
        rolls = result.extras.get("rolls")
        out: dict = {}
        if rolls is None or not len(rolls):
            return cls.undefined_decisions(out)
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
        return cls.undefined_decisions(out)


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

    def package_gamma(self, spot, years, vol):
        return float(pricing.gamma(spot, self._strikes["put"], years, vol, self.p.rate))


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

    def package_gamma(self, spot, years, vol):
        r = self.p.rate
        return float(pricing.gamma(spot, self._strikes["put"], years, vol, r)
                     - pricing.gamma(spot, self._strikes["call"], years, vol, r))
