"""Option-style hedging driven by the volatility forecast.

Option prices here are **modelled with Black-Scholes, not market quotes**. The synthetic put and
the collar need no option market at all (they are replicated by trading the asset); the put
overlay buys a modelled put priced at an implied-volatility proxy.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pandas as pd

from lstm_strategies import pricing
from lstm_strategies.features import periods_per_year
from strategies.base import ForecastStrategy

YEAR_DAYS = 365.0


class _ReplicatedOptionStrategy(ForecastStrategy):
    """Hold the asset plus a replicated option package, rolled every ``maturity_days``.

    At each roll the strategy fixes the strikes from the spot, the number of protected units
    ``n = value / package_price`` and the expiry. Between rolls it holds ``n * delta`` units of the
    asset (the rest in cash), where ``delta`` is the package's Black-Scholes delta at the
    forecast volatility.
    """

    params = (("maturity_days", 30), ("rate", 0.0), ("band", 0.02), ("max_weight", 1.0))

    def __init__(self):
        super().__init__()
        self._expiry: float | None = None  # Backtrader date number
        self._units = 0.0
        self.floor = math.nan
        self.rolls: list[dict] = []

    def strikes(self, spot: float) -> dict:
        raise NotImplementedError

    def package(self, spot: float, years: float, vol: float) -> tuple[float, float]:
        """Price and delta of one unit of (asset + options) at the current strikes."""
        raise NotImplementedError

    def _roll(self, spot: float, vol: float) -> None:
        self._strikes = self.strikes(spot)
        years = self.p.maturity_days / YEAR_DAYS
        value, _ = self.package(spot, years, vol)
        self._units = self.broker.getvalue() / value
        self._expiry = self.data.datetime[0] + self.p.maturity_days  # date numbers are days
        self.floor = self._units * self._strikes["put"]
        self.rolls.append({"datetime": self.now(), "spot": spot, "vol": vol, **self._strikes,
                           "units": self._units, "floor": self.floor,
                           "option_cost": (value - spot) / spot})

    def next(self):
        vol = self.forecast.vol[0]
        if self.trading() and not math.isnan(vol) and vol > 0:
            spot = self.data.close[0]
            if self._expiry is None or self.data.datetime[0] >= self._expiry - 1e-9:
                self._roll(spot, vol)
            years = max((self._expiry - self.data.datetime[0]) / YEAR_DAYS, 0.0)
            _, delta = self.package(spot, years, vol)
            self.hedge_ratio = float(delta)
            self.target_weight = float(np.clip(self._units * delta * spot / self.broker.getvalue(),
                                               0.0, self.p.max_weight))
            if self.rebalance_due():
                self.trade_to(self.target_weight)
        self.record(floor=self.floor)


class SyntheticPutStrategy(_ReplicatedOptionStrategy):
    """Portfolio insurance: replicate asset + protective put by delta hedging.

    Holds ``N(d1)`` of the protected notional in the asset (the delta of asset + put), the rest in
    cash, with strike ``moneyness * spot`` fixed at each roll. The put's premium is never paid in
    cash: it shows up as the upside given up (the hedge cost), and the floor ``units * strike``
    holds up to gap risk and volatility misestimation, which is where the forecast matters.
    """

    params = (("moneyness", 0.9),)

    def strikes(self, spot: float) -> dict:
        return {"put": self.p.moneyness * spot}

    def package(self, spot, years, vol):
        k = self._strikes["put"]
        value = spot + pricing.price("put", spot, k, years, vol, self.p.rate)
        # asset + put has the delta of a call with the same strike (put-call parity)
        return float(value), float(pricing.delta("call", spot, k, years, vol, self.p.rate))


class CollarStrategy(_ReplicatedOptionStrategy):
    """Asset + protective put financed by a short call, replicated by delta hedging.

    Delta ``N(d1(K_put)) - N(d1(K_call))``: the floor at ``put_moneyness * spot`` is paid for by
    giving up gains above ``call_moneyness * spot``.
    """

    params = (("put_moneyness", 0.9), ("call_moneyness", 1.1))

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


def load_implied_vol(path: str) -> pd.Series:
    """An implied-volatility index from a CSV (date/time column, then a value column).

    Values above 3 are read as percent (a DVOL export says 55.2 for 55.2%). The series is indexed in
    UTC and looked up *as of* each bar, so a value is used only from its own timestamp on.
    """
    from lstm_strategies.errors import DataError

    try:
        raw = pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the implied-vol CSV ({exc})") from None
    if raw.shape[1] < 2:
        raise DataError(f"{path}: an implied-vol CSV needs a date column and a value column")
    index = pd.to_datetime(raw.iloc[:, 0], utc=True, errors="coerce", format="mixed")
    values = pd.to_numeric(raw.iloc[:, 1], errors="coerce")
    bad = np.flatnonzero(index.isna().to_numpy() | values.isna().to_numpy() | (values <= 0).to_numpy())
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{path}: line {i + 2}: {raw.iloc[i, 0]!r}, {raw.iloc[i, 1]!r} is not a date and a "
                        "positive volatility")
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(index)).sort_index()
    return series / 100.0 if series.median() > 3 else series


class PutOverlayStrategy(ForecastStrategy):
    """Hold the asset and buy cash-settled puts when the forecast says protection is cheap.

    The put is priced by Black-Scholes at an implied-volatility proxy: trailing realized
    volatility over ``rv_days`` times ``vrp`` (the variance risk premium multiplier), plus a
    ``spread`` on the premium; or at a user-supplied ``implied_vol`` (a pandas Series, or the path
    of a CSV such as an exported DVOL index, see :func:`load_implied_vol`), looked up as of each
    bar. Pricing with our own forecast would be circular: the
    forecast only decides *when* to hedge (``hedge_when="forecast_above_implied"``: buy when the
    forecast exceeds the implied proxy) and the proxy sets the price.

    The option is marked to model each bar and its value changes are settled through the
    broker's cash (``add_cash``), so the equity curve includes it; at expiry it pays
    ``max(K - S, 0)`` per unit.
    """

    params = (("asset_weight", 0.95), ("moneyness", 0.9), ("maturity_days", 30), ("vrp", 1.15),
              ("spread", 0.05), ("rv_days", 30), ("hedge_when", "forecast_above_implied"),
              ("hedge_fraction", 1.0), ("implied_vol", None), ("rate", 0.0), ("band", 0.05))

    def __init__(self):
        super().__init__()
        from lstm_strategies.btfeed import feed_timeframe

        self._ppy = periods_per_year(feed_timeframe(self.data))
        bars = int(round(self.p.rv_days * self._ppy / YEAR_DAYS))
        self._returns: deque[float] = deque(maxlen=max(bars, 2))
        if isinstance(self.p.implied_vol, str):
            self.p.implied_vol = load_implied_vol(self.p.implied_vol)
        self._put: dict | None = None
        self._next_decision: float | None = None
        self.hedges: list[dict] = []

    def implied(self) -> float:
        """Implied-vol proxy (or the user's series) as of this bar."""
        if self.p.implied_vol is not None:
            return float(self.p.implied_vol.asof(self.now()))  # user series: one lookup per bar
        if len(self._returns) < self._returns.maxlen:
            return math.nan
        return float(np.std(self._returns, ddof=1) * math.sqrt(self._ppy) * self.p.vrp)

    def _mark(self, spot: float) -> float:
        put = self._put
        years = max((put["expiry"] - self.data.datetime[0]) / YEAR_DAYS, 0.0)
        iv = self.implied()
        iv = put["iv"] if math.isnan(iv) else iv
        return put["units"] * float(pricing.price("put", spot, put["strike"], years, iv, self.p.rate))

    def next(self):
        if len(self.data) > 1:
            self._returns.append(math.log(self.data.close[0] / self.data.close[-1]))
        spot = self.data.close[0]
        vol, iv = self.forecast.vol[0], self.implied()
        if self._put is not None:  # variation margin: settle the change in model value
            expired = self.data.datetime[0] >= self._put["expiry"] - 1e-9
            value = self._put["units"] * max(self._put["strike"] - spot, 0.0) if expired else self._mark(spot)
            self.broker.add_cash(value - self._put["value"])
            self._put["value"] = value
            if expired:
                self.hedges[-1].update(payoff=value, settled=str(self.now()))
                self._put = None
        if self.trading() and not math.isnan(vol):
            self.target_weight = self.p.asset_weight
            if self.rebalance_due():
                self.trade_to(self.target_weight)
            now = self.data.datetime[0]
            decide = self._put is None and (self._next_decision is None or now >= self._next_decision - 1e-9)
            if decide and not math.isnan(iv):
                self._next_decision = now + 1.0
                if self.p.hedge_when == "always" or vol > iv:
                    self._buy_put(spot, iv, vol)
        self.hedge_ratio = self.p.hedge_fraction if self._put is not None else 0.0
        self.record(implied_vol=iv)

    def _buy_put(self, spot: float, iv: float, vol: float) -> None:
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
                            "implied_vol": iv, "forecast_vol": vol, "premium": paid, "payoff": 0.0})
