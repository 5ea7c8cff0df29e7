"""A leveraged perpetual-style position sized each day by the forecast for a liquidation budget."""

from __future__ import annotations

import math
from collections import deque
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import AfterValidator

from lstm_strategies.core.declarations import Metric, OneOf, Range, WholePositive
from lstm_strategies.stats.tail_risk import parametric_quantiles, pool_quantiles
from lstm_strategies.trading import leverage as LV
from lstm_strategies.trading.feed import bt_num_to_ns
from lstm_strategies.trading.indicators import VolatilityForecast
from lstm_strategies.trading.ledger import CashLedger

from .base import ForecastStrategy

DAY_NS = 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
Rate = Annotated[float, Range(0, 0.1)]


def _date(value):
    if value is not None:
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise ValueError("must be a date such as \"2026-04-06\"") from None
    return value


def _positive_or_none(value):
    if value is not None and not value > 0:
        raise ValueError("must be a positive number (the rule's constant c in V = c q)")
    return value


class LeveragedPerpStrategy(ForecastStrategy):
    r"""Hold a perpetual-style position whose leverage each day keeps liquidations within a budget.

    At each forecast origin (the bar that closes a UTC day, price :math:`P_0`) the account of equity
    :math:`W` posts an isolated margin :math:`M = m W` (``margin_fraction``) and holds a notional
    :math:`N = L M` until the next origin. The venue liquidates when the position's equity reaches the
    maintenance margin: :math:`P_{liq} = P_0 (1 - 1/L) / (1 - mmr)` for a long, :math:`P_0 (1 + 1/L) /
    (1 + mmr)` for a short; here when a bar's low (long) or high (short) reaches it. The position is then
    closed at :math:`P_{liq}`, the liquidation fee takes what is left of the maintenance margin (with the
    defaults the margin :math:`M` is lost, nothing more) and the account re-enters at the next origin
    (after ``cooldown_days``). Otherwise it is marked at each bar's close, pays ``funding_rate`` on the
    notional at each funding time (00, 08, 16 UTC; a short receives it) and is rebalanced at the next
    origin to the new notional, paying ``taker_fee`` on the change.

    **The rule** (README, "Leverage under liquidation risk"): the liquidation distance
    :math:`V_t = -\log(P_{liq}/P_0)` is :math:`c\,q_t`, where :math:`q_t` is the FHS 99% quantile of the
    forecaster's own last 250 standardised adverse extremes :math:`x/\sigma` (a long's
    :math:`x = -\log(\min \text{low} / P_0)` over the holding day) times the day's 1-day forecast
    :math:`\sigma_t` (``form = "fhs_ext"``; the unit-variance t5 quantile before 250 exist), and
    :math:`c` the budget constant calibrated for one liquidation a year (frozen per forecaster:
    :data:`lstm_strategies.trading.leverage.BUDGET_CONSTANTS`; ``constant`` overrides it). Then
    :math:`L_t = 1 / (1 - (1 - mmr) e^{-V_t})` long, :math:`1 / ((1 + mmr) e^{V_t} - 1)` short, clipped to
    ``[min_leverage, max_leverage]``. ``form = "fixed"`` holds the leverage whose distance is ``constant``.

    **Beside the broker.** Backtrader has no liquidation (a stop order fills at the next bar's open, not at
    :math:`P_{liq}`, and the broker would not take the margin), so the position lives in a cash ledger as the
    variance books' do: every mark, funding payment, fee and liquidation is paid in cash through the broker,
    whose account is then the strategy's equity. :func:`lstm_strategies.trading.leverage.simulate` is its
    vectorised twin (tested bar by bar).

    The venue defaults are Binance's USDT-M tier 1 (BTC: mmr 0.4%; set ``mmr = 0.005`` for ETH and SOL),
    documented in :mod:`lstm_strategies.trading.leverage`. The forecaster forecasts from the data's first
    bar (the extremes' pool needs its history; a network's in-sample days only fill the pool, its
    published forecasts from ``start`` must be out of sample).
    """

    name = "leveraged_perp"
    default_horizon = 1
    metrics = (
        Metric("decision.liq_per_year", "Liquidations/yr", "ratio", "lower", headline=True, digits=2),
        Metric("decision.liq_vs_budget", "Liquidations / budget", "ratio", "lower", headline=True, rank=True,
               digits=2),
        Metric("decision.liquidations", "Liquidations", "count"),
        Metric("decision.mean_leverage", "Mean leverage", "ratio", "higher", headline=True, rank=True, digits=2),
        Metric("decision.cagr", "CAGR (account)", "percent", "higher", column="account_cagr"),
        Metric("decision.sharpe", "Sharpe (account, daily)", "ratio", "higher", digits=2, column="account_sharpe"),
        Metric("decision.worst_day", "Worst day", "percent", "higher", column="account_worst_day"),
        Metric("decision.fixed_same_liq_leverage", "Fixed leverage, same liquidations", "ratio", "higher",
               digits=2),
        Metric("decision.lev_ratio_vs_fixed", "Mean leverage / fixed", "ratio", "higher", headline=True, digits=2),
    )

    class Params(ForecastStrategy.Params):
        side: Annotated[str, OneOf("long", "short")] = "long"
        form: Annotated[str, OneOf("fhs_ext", "sigma", "fixed")] = "fhs_ext"
        constant: Annotated[float | None, AfterValidator(_positive_or_none)] = None
        budget_per_year: Annotated[float, Range(0, 365, low_open=True)] = 1.0
        ext_window: WholePositive = 250
        ext_level: Annotated[float, Range(0.5, 1, low_open=True, high_open=True)] = 0.99
        mmr: Annotated[float, Range(0, 0.5)] = 0.004
        liq_fee: Rate = 0.005
        taker_fee: Rate = 0.0005
        funding_rate: Annotated[float, Range(-0.01, 0.01)] = 0.0001
        max_leverage: Annotated[float, Range(1, 125)] = 50.0
        min_leverage: Annotated[float, Range(0, 125)] = 1.0
        margin_fraction: Annotated[float, Range(0, 1, low_open=True)] = 0.10
        cooldown_days: Annotated[int, Range(0, 365, whole=True)] = 0
        entries_until: Annotated[Any, AfterValidator(_date)] = None

    params = Params.bt_params()

    def __init__(self):
        super().__init__()
        p = self.p
        self.venue = LV.Venue(mmr=p.mmr, liq_fee=p.liq_fee, taker_fee=p.taker_fee, funding_rate=p.funding_rate,
                              max_leverage=p.max_leverage, min_leverage=p.min_leverage,
                              margin_fraction=p.margin_fraction, cooldown_days=p.cooldown_days)
        self.sign = 1.0 if p.side == "long" else -1.0
        self.constant = self._constant()
        # the forecasts of every bar (the extremes' pool and the risk forecasts need the days before start; the
        # base class's indicator publishes from start and guards a network's training window)
        self.history = VolatilityForecast(self.data, forecaster=self.forecast.forecaster, inputs=self.p.inputs,
                                          horizon=self.forecast.horizon, allow_in_sample=True)
        self.ledger = CashLedger(self.broker)
        self._pool: deque = deque(maxlen=int(p.ext_window))
        self._fallback = -parametric_quantiles(1, "t", 5.0, p.ext_level, 0.975)[0][0]
        self._until = None if p.entries_until is None else pd.Timestamp(p.entries_until).value // DAY_NS
        self._origin = None          # the last origin: (time, close, sigma)
        self._low = self._high = math.nan
        self._fundings = 0
        self._pos = None             # the live position: dict
        self._row = None             # the book row of the live day
        self._cool = 0
        self._prev_notional = 0.0
        self.book: list[dict] = []
        self.origins: list[tuple] = []   # every origin: (time, 1-day variance, close), for the risk report
        self.capital = math.nan

    def _constant(self) -> float:
        if self.p.constant is not None:
            return float(self.p.constant)
        if self.p.form != "fhs_ext":
            from lstm_strategies.core.errors import ConfigError

            raise ConfigError(f"leveraged_perp with form = {self.p.form!r} needs its constant (the rule's c; with "
                              "form = \"fixed\" the liquidation distance): only fhs_ext constants were calibrated")
        return LV.budget_constant(self.forecast.forecaster.name, self.p.side)

    # -- the bar -------------------------------------------------------------------------------
    def next(self):
        self.ledger.new_bar()
        ts = bt_num_to_ns(self.data.datetime[0])
        if self._origin is not None:
            self._track(ts)
        if (ts + self._bar_ns()) % DAY_NS == 0:
            self.on_origin(ts)
        self.record(value=self.equity(), leverage=self._pos["leverage"] if self._pos else 0.0)

    def _bar_ns(self) -> int:
        return min(pd.Timedelta(self.history.forecaster.timeframe).value, DAY_NS)

    def _track(self, ts: int) -> None:
        """One bar of the holding day: extremes, funding, the liquidation check, the mark."""
        low, high, close = self.data.low[0], self.data.high[0], self.data.close[0]
        self._low = low if math.isnan(self._low) else min(self._low, low)
        self._high = high if math.isnan(self._high) else max(self._high, high)
        if (ts // HOUR_NS) % 24 in self.venue.funding_hours:
            self._fundings += 1
        pos = self._pos
        if pos is None:
            return
        p0 = pos["p0"]
        adverse = -math.log(low / p0) if self.sign > 0 else math.log(high / p0)
        if adverse >= pos["distance"]:
            p_liq = math.exp(-self.sign * pos["distance"])
            n = pos["notional"]
            left = max(0.0, (self.venue.mmr - self.venue.liq_fee) * n * p_liq)
            self.ledger.settle(pos["ledger"], self.sign * n * (p_liq - 1.0), ts, fee=self.venue.mmr * n * p_liq - left)
            self._row["liquidated"] = True
            self._pos = None
            self._prev_notional = 0.0
            self._cool = self.venue.cooldown_days
            return
        value = self.sign * pos["notional"] * (close / p0 - 1.0 - self.venue.funding_rate * self._fundings)
        self.ledger.mark(pos["ledger"], value)

    def on_origin(self, ts: int) -> None:
        """Close the holding day, grow the extremes' pool, then size and open the next day's position."""
        close = self.data.close[0]
        if self._origin is not None:
            self._close_day(ts, close)
        var = float(self.history.var_1d[0])
        sigma = math.sqrt(var) if var > 0 else math.nan
        self._origin = (ts, close, sigma)
        self.origins.append((ts, var, close))
        self._low = self._high = math.nan
        self._fundings = 0
        q = self._scale(sigma)
        day = ts // DAY_NS
        if not self.trading() or (self._until is not None and day > self._until):
            self._prev_notional = 0.0
            return
        if math.isnan(self.capital):
            self.capital = self.equity()
        self._open(ts, close, q)

    def _close_day(self, ts: int, close: float) -> None:
        _, p0, sigma = self._origin
        ret = math.log(close / p0)
        x = -math.log(self._low / p0) if self.sign > 0 else math.log(self._high / p0)
        if sigma > 0 and math.isfinite(x):
            self._pool.append(-x / sigma)
        pos = self._pos
        if pos is not None:
            n = pos["notional"]
            move = math.expm1(ret)
            self.ledger.settle(pos["ledger"], self.sign * n * move - self.sign * n * self.venue.funding_rate
                               * self._fundings, ts)
            self._prev_notional = n * (1.0 + move)
            self._pos = None
        if self._row is not None:
            self._row.update(pnl=self.ledger.take_pnl(), ret=ret, x=x, fundings=self._fundings, equity=self.equity())
            self.book.append(self._row)
            self._row = None

    def _scale(self, sigma: float) -> float:
        """The rule's risk scale q at this origin (NaN: no forecast)."""
        form = self.p.form
        if form == "fixed":
            return 1.0
        if not sigma > 0:
            return math.nan
        if form == "sigma":
            return sigma
        if len(self._pool) < self._pool.maxlen:
            return self._fallback * sigma
        return -pool_quantiles(np.array(self._pool), self.p.ext_level, 0.975)[0] * sigma

    def _open(self, ts: int, close: float, q: float) -> None:
        equity = self.equity()
        lev = float(LV.leverage_for_distance(self.constant * q, self.venue, self.p.side)) if math.isfinite(q) else 0.0
        if self._cool > 0:
            lev, self._cool = 0.0, self._cool - 1
        margin = self.venue.margin_fraction * max(equity, 0.0)
        notional = lev * margin
        fee = self.venue.taker_fee * abs(notional - self._prev_notional)
        self._prev_notional = 0.0
        self.ledger.take_pnl()
        self._row = {"day": pd.Timestamp(ts, tz="UTC"), "leverage": lev, "liquidated": False, "q": q,
                     "sigma": self._origin[2], "equity_before": equity, "fee": fee, "notional": notional}
        if notional > 0:
            distance = float(LV.liquidation_distance(lev, self.venue.mmr, self.p.side))
            entry = self.ledger.open(len(self.book), ts, self.sign * notional, 0.0, fee=fee)
            self._pos = {"ledger": entry, "p0": close, "notional": notional, "leverage": lev, "distance": distance}
        elif fee:
            self.ledger.open(len(self.book), ts, 0.0, 0.0, fee=fee)
            self.ledger.settle(self.ledger.live[-1], 0.0, ts)

    def equity(self) -> float:
        """The account's value including the cash the ledger sent this bar."""
        return self.broker.getvalue() + self.ledger.pending

    # -- reports -------------------------------------------------------------------------------
    def extras(self) -> dict:
        origins = pd.DataFrame(self.origins, columns=["time", "variance", "close"])
        origins.index = pd.DatetimeIndex(origins.pop("time").to_numpy(dtype="int64"), tz="UTC")
        return {"book": pd.DataFrame(self.book), "origins": origins, "capital": self.capital,
                "constant": self.constant, "fees_and_liquidation_losses": self.ledger.fees}

    @classmethod
    def decision_metrics(cls, result) -> dict:
        from lstm_strategies.trading.leverage_report import leverage_metrics

        params = result.params.model_dump()
        return leverage_metrics(result.extras.get("book"), result.extras.get("origins"), params,
                                result.extras.get("constant"), result.config.backtest.start)

    @classmethod
    def positions_beside_broker(cls, result) -> int:
        """Days the leveraged position was held in the ledger beside the broker (it places no broker order)."""
        book = result.extras.get("book")
        return 0 if book is None or not len(book) else int((book["notional"] > 0).sum())

    @classmethod
    def report_figures(cls, result, folder) -> list[tuple[str, object]]:
        from lstm_strategies.trading.leverage_report import leverage_figures

        return leverage_figures(result.extras.get("book"), result.extras.get("origins"), result.config.name, folder,
                                result.config.backtest.start)
