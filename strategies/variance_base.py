"""What the variance strategies share: the rules' parameters, the daily decision, the cash ledger, the metrics.

A variance strategy decides once a day, at the bar that closes at 24:00 UTC (the forecast origin
of ``lstm-strategies evaluate``): the implied volatility known at that close (e.g. Deribit's DVOL
close of the day) against the forecaster's variance over the position's life, through one of the
rules of :func:`lstm_strategies.variance.signal_weight`. Positions are cash-settled beside the broker
(:class:`~lstm_strategies.ledger.CashLedger`); subclasses say what a position is (a replicated
variance swap, a delta-hedged straddle) and how it is marked.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import AfterValidator, model_validator

from lstm_strategies.core.declarations import Metric, OneOf, Positive, Range, WholePositive
from lstm_strategies.stats.bootstrap import sharpe_difference
from lstm_strategies.trading.feed import bt_num_to_ns
from lstm_strategies.trading.ledger import CashLedger
from lstm_strategies.trading.variance import FEE_CAP, FEE_RATE, RULES, SIZED_RULES, STRESS, mtm_metrics

from .option_hedge import _OptionStrategy

DAY_NS = 86_400 * 1_000_000_000
Rate = Annotated[float, Range(0, 0.05)]


def _date(value):
    if value is None:
        return value
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError("must be a date such as \"2026-03-07\"") from None
    return value


def _positive_or_none(value):
    if value is not None and not value > 0:
        raise ValueError("must be a positive number (the sized rule's normaliser)")
    return value


def epoch_day(when) -> int:
    """Days since 1970-01-01 of a date (UTC)."""
    ts = pd.Timestamp(when)
    ts = ts.tz_convert("UTC").tz_localize(None) if ts.tz is not None else ts
    return int(ts.value // DAY_NS)


def day_stamp(day: int) -> pd.Timestamp:
    return pd.Timestamp(day * DAY_NS, tz="UTC")


def shared_metrics(unit: str) -> tuple[Metric, ...]:
    """The metrics every variance book reports (P&L as fractions of the capital: ``unit`` names it)."""
    return (
        Metric("decision.sharpe_mtm", "MTM Sharpe", "ratio", "higher", headline=True, rank=True, digits=2),
        Metric("decision.sortino_mtm", "MTM Sortino", "ratio", "higher", rank=True, digits=2),
        Metric("decision.pnl_per_year", f"P&L/yr ({unit})", "percent", "higher", headline=True),
        Metric("decision.pnl_per_trade", f"P&L/trade ({unit})", "percent", "higher", digits=2),
        Metric("decision.hit_rate", "Hit rate", "percent", "higher"),
        Metric("decision.days_traded", "Days traded", "percent"),
        Metric("decision.days_in_market", "In market", "percent", headline=True),
        Metric("decision.worst_30d", f"Worst 30d ({unit})", "percent", "higher", headline=True),
        Metric("decision.worst_30d_over_annual_pnl", "Worst 30d / yr P&L", "ratio", "lower", headline=True,
               rank=True, digits=2),
        Metric("decision.worst_trade", f"Worst trade ({unit})", "percent", "higher", digits=2),
        Metric("decision.cvar_95_mtm", f"CVaR95 MTM ({unit})", "percent", "higher", digits=2),
        Metric("decision.max_drawdown", f"Max DD ({unit})", "percent", "higher", column="book_max_drawdown"),
        *(Metric(f"decision.stress.{name}", f"Stress {name}", "percent", "higher", digits=2) for name in STRESS),
        Metric("decision.peak_margin", f"Peak margin ({unit})", "percent", "lower"),
        Metric("decision.largest_loss_over_margin", "Largest day loss / margin", "percent", "lower"),
        Metric("baseline.mtm_sharpe_difference.diff", "MTM Sharpe - always-sell's (book's daily P&L)", "ratio",
               "higher", digits=2, column="mtm_sharpe_minus_always"),
        Metric("baseline.mtm_sharpe_difference.pvalue", "p-value against always-sell: stationary bootstrap of the "
               "paired mark-to-market daily P&L's Sharpe difference, two-sided", "ratio", None, digits=3,
               column="p_vs_always"),
    )


class _VarianceStrategy(_OptionStrategy):
    """Base of the strategies that trade variance against implied volatility, once a day.

    Params (beyond the option strategies' ``maturity_days``, ``implied_vol``, ``implied_max_age``)
    ------
    rule : str
        ``always``, ``gate``, ``band``, ``ratio``, ``premium``, ``voltarget``, ``ratio_vt``
        (:func:`lstm_strategies.variance.signal_weight`).
    direction : {"short", "long"}
        Sell or buy variance (``band`` does both).
    margin, long_margin : float
        The gate's threshold: sell when implied > (1 + margin) forecast; buy when forecast >
        (1 + margin) implied for a long, or (1 + long_margin) implied in ``band``.
    cap, scale, max_multiple : float
        Sized rules: ``min(scale * raw, max_multiple)``, premium raw capped at ``cap``; ``scale`` is the
        normaliser fitted on a selection period (required by a sized rule).
    mode : {"ladder", "roll"}
        One position a day of ``w / maturity_days`` (ladder) or one of ``w`` every ``maturity_days`` (roll).
    spread_points : float
        Replication spread in volatility points: a short sells at implied - spread, a long buys at
        implied + spread; positions are marked at implied (mid).
    option_fee, fee_cap, delivery_fee : float
        The venue's option fees (Deribit: 0.03% of the underlying capped at 12.5% of the option's
        price, and 0.015% at delivery).
    entries_until : date or None
        No position is opened after this day (so every one settles inside the data).
    shock_up, shock_down : float
        Collateral: a short holds the loss of an implied-volatility jump to ``shock_up`` times its level
        over the remaining life, a long that of a fall to ``shock_down`` times.
    collateral : {"shock", "es"}
        The book's collateral: the implied shock above, or the expected shortfall at ``es_level`` of the held
        book's ``es_horizon``-day loss from the forecast (joint FHS scenarios of the last ``es_window`` days, at
        least ``es_min_scenarios``: swaps, the realised-to-forecast variance ratio and the implied move,
        :mod:`lstm_strategies.trading.variance_margin`; straddles, the return over the forecast's sd and the
        implied move, each straddle and the hedge priced in full, :mod:`lstm_strategies.trading.straddle_margin`),
        by ``collateral_forecaster``
        (default: the book's own; the race uses the LSTM-IV). The shock margin holds until enough scenarios exist.
    """

    class Params(_OptionStrategy.Params):
        maturity_days: WholePositive = 30
        rule: Annotated[str, OneOf(*RULES)] = "always"
        direction: Annotated[str, OneOf("short", "long")] = "short"
        margin: Annotated[float, Range(-0.99, 10)] = 0.3
        long_margin: Annotated[float, Range(-0.99, 10)] = 0.5
        cap: Positive = 2.0
        scale: Annotated[float | None, AfterValidator(_positive_or_none)] = None
        max_multiple: Annotated[float, Range(0, 100, low_open=True)] = 3.0
        mode: Annotated[str, OneOf("ladder", "roll")] = "ladder"
        spread_points: Annotated[float, Range(0, 50)] = 1.25
        option_fee: Rate = FEE_RATE
        fee_cap: Annotated[float, Range(0, 1)] = FEE_CAP
        delivery_fee: Rate = 0.00015
        entries_until: Annotated[Any, AfterValidator(_date)] = None
        shock_up: Annotated[float, Range(1, 10)] = 1.5
        shock_down: Annotated[float, Range(0, 1)] = 0.7
        rebalance: Annotated[str, OneOf("daily")] = "daily"
        collateral: Annotated[str, OneOf("shock", "es")] = "shock"
        es_horizon: WholePositive = 7
        es_level: Annotated[float, Range(0.5, 1, low_open=True, high_open=True)] = 0.975
        es_window: WholePositive = 500
        es_min_scenarios: WholePositive = 100
        collateral_forecaster: str | None = None
        collateral_forecaster_params: dict | None = None

        @model_validator(mode="after")
        def _complete(self):
            if self.implied_vol is None:
                raise ValueError("a variance strategy is priced at implied volatility: set implied_vol (a shipped "
                                 "series such as \"btc_dvol_daily\", a CSV path or a Series)")
            if self.rule in SIZED_RULES and self.scale is None:
                raise ValueError(f"the {self.rule} rule is sized: set scale, its normaliser fitted on a selection "
                                 "period (lstm_strategies.variance.normaliser; README, \"Results: trading variance "
                                 "against the market\")")
            return self

    params = Params.bt_params()
    #: the class of the ES collateral (``collateral = "es"``); None: the swaps' (trading.variance_margin.BookCollateral)
    es_collateral_class = None

    def __init__(self):
        super().__init__()
        self.tenor = int(self.p.maturity_days)
        self.ledger = CashLedger(self.broker)
        self._until = epoch_day(self.p.entries_until) if self.p.entries_until is not None else None
        self._first_day: int | None = None
        self._margin_prev = 0.0
        self.capital = math.nan
        self.book: list[dict] = []
        self.trades: list[dict] = []
        self.days_without_implied = 0
        self.days_without_forecast = 0
        self.es_collateral = None
        if self.p.collateral == "es":  # issue #30: the book's ES (trading/variance_margin.py)
            from lstm_strategies.trading.variance_margin import BookCollateral

            self.es_collateral = (self.es_collateral_class or BookCollateral)(self, self.data)

    @classmethod
    def baseline(cls, params: dict, records: pd.DataFrame):
        """Always-sell with everything else equal (the benchmark of every rule)."""
        typed = cls.Params.model_validate(params)
        if typed.rule == "always" and typed.direction == "short":
            return None
        return cls.name, {**params, "rule": "always", "direction": "short"}, "always-sell"

    # -- the day -----------------------------------------------------------------------------------
    def day_ending(self) -> int | None:
        """The day (days since 1970-01-01) this bar's close ends, or None when it closes inside a day."""
        close = bt_num_to_ns(self.data.datetime[0]) + self._bar_ns
        return close // DAY_NS - 1 if close % DAY_NS == 0 else None

    def forecast_variance(self) -> float:
        """The forecaster's variance over the next ``maturity_days`` (a fraction), at this bar."""
        if self.forecast.horizon == self.tenor:
            return float(self.forecast.var[0])
        return self.forecast.variance_at(self.calendar.trading_days(self.tenor))

    def decide(self, day: int, iv_points: float, annual: float) -> float:
        """The rule's signed multiplier today (0 when the forecast or the implied value is missing)."""
        from lstm_strategies.trading.variance import signal_weight

        if self._until is not None and day > self._until:
            return 0.0
        if self.p.mode == "roll":
            self._first_day = day if self._first_day is None else self._first_day
            if (day - self._first_day) % self.tenor:
                return 0.0
        forecast = self.forecast_variance() * annual
        w = signal_weight(self.p.rule, iv_points**2, forecast, direction=self.p.direction, margin=self.p.margin,
                          long_margin=self.p.long_margin, cap=self.p.cap, scale=self.p.scale,
                          max_multiple=self.p.max_multiple)
        if not np.isfinite(w):
            self.days_without_forecast += 1
            w = 0.0
        self.trades.append({"day": day_stamp(day), "w": float(w), "implied_vol": iv_points,
                            "forecast_vol": math.sqrt(forecast) if forecast >= 0 else math.nan})
        return float(w)

    def close_day(self, day: int, held: float, entry: float, capital_cash: float) -> None:
        """Book the day's P&L (``held``: on the positions held at the previous close, hedges included;
        ``entry``: today's new positions marked at mid, i.e. their spread and fees), gross and margin; the
        largest loss on held positions relative to the margin they held; fail loudly when the account is gone."""
        margin = self.ledger.margin() if self.es_collateral is None else self.es_collateral.margin(day)
        loss_over_margin = -held / self._margin_prev if held < 0 and self._margin_prev > 0 else 0.0
        self.book.append({"day": day_stamp(day), "pnl": held + entry, "gross": self.ledger.gross(), "margin": margin,
                          "loss_over_margin": loss_over_margin,
                          **({} if self.es_collateral is None else self.es_collateral.row(held))})
        self._margin_prev = margin
        self.ledger.check_capital(self.equity(), capital_cash, day_stamp(day).date(), f"{self.name} ({self.p.rule})",
                                  "Trade a smaller notional (vega_budget / notional) or a lower max_multiple, or "
                                  "set shock_up higher so that the margin shown is what such a day needs.")

    def equity(self) -> float:
        """The account's value including the cash the ledger sent this bar."""
        return self.broker.getvalue() + self.ledger.pending

    # -- reports -----------------------------------------------------------------------------------
    def extras(self) -> dict:
        return {"book": pd.DataFrame(self.book), "trades": pd.DataFrame(self.trades), "capital": self.capital,
                "days_without_implied": self.days_without_implied,
                "days_without_forecast": self.days_without_forecast,
                "open_positions": len(self.ledger.live),
                "cash_settled_positions": len(self.ledger.live) + len(self.ledger.closed),
                "option_fees": self.ledger.fees * self.ledger.cash_per_unit,
                "option_spread": self.ledger.spread * self.ledger.cash_per_unit,
                "implied_source": None if self._implied is None else self._implied.source,
                **({} if self.es_collateral is None else {"es_collateral": self.es_collateral.summary()})}

    @staticmethod
    def daily_frame(result) -> pd.DataFrame:
        """The book per calendar day of the scored period (0 P&L on days without a mark)."""
        book = result.extras.get("book")
        days = result.returns.index
        if book is None or not len(book):
            return pd.DataFrame({"pnl": 0.0, "gross": 0.0, "margin": 0.0, "loss_over_margin": 0.0}, index=days)
        frame = book.set_index("day").reindex(days)
        frame["pnl"] = frame["pnl"].fillna(0.0)
        frame["loss_over_margin"] = frame["loss_over_margin"].fillna(0.0)
        frame[["gross", "margin"]] = frame[["gross", "margin"]].ffill().fillna(0.0)
        return frame

    @classmethod
    def scaled_metrics(cls, result, scale: float) -> dict:
        """:func:`~lstm_strategies.variance.mtm_metrics` of the book with P&L divided by ``scale``."""
        daily = cls.daily_frame(result)
        trades = result.extras.get("trades")
        trades = trades if trades is not None and len(trades) else pd.DataFrame({"w": [], "payoff": []})
        daily = daily.assign(pnl=daily["pnl"] / scale, margin=daily["margin"] / scale)
        trades = trades.assign(payoff=trades["payoff"] / scale) if "payoff" in trades else trades.assign(payoff=np.nan)
        out = mtm_metrics(daily, trades, result.calendar.days_per_year)
        out["largest_loss_over_margin"] = float(daily["loss_over_margin"].max()) if len(daily) else None
        out["days_losing_more_than_margin"] = int((daily["loss_over_margin"] > 1.0).sum())
        if "shock_loss_over_margin" in daily:  # collateral = "es": the shock margin's count beside it
            out.update(result.extras.get("es_collateral") or {},
                       days_losing_more_than_shock_margin=int((daily["shock_loss_over_margin"] > 1.0).sum()))
        return out

    settled_costs = (Metric("costs.option_fees", "option fees paid beside the broker", "money"),
                     Metric("costs.option_spread", "spread paid beside the broker", "money"))

    @classmethod
    def run_warnings(cls, result) -> list[str]:
        missing = result.extras.get("days_without_implied", 0)
        if not missing:
            return []
        return [f"no implied volatility from {result.extras.get('implied_source')} was known on {missing} decision "
                "day(s): nothing was opened or marked at implied on them; check that the series covers the run"]

    @classmethod
    def describe(cls, result) -> str:
        source = result.extras.get("implied_source")
        return f", options priced at implied vol ({source})" if source else ""

    @classmethod
    def positions_beside_broker(cls, result) -> int:
        return int(result.extras.get("cash_settled_positions", 0))

    @classmethod
    def decision_metrics(cls, result) -> dict:
        extras = result.extras
        out = cls.scaled_metrics(result, cls.capital_units(result))
        out.update(rule=result.params.rule,
                   implied_source=extras.get("implied_source"),
                   days_without_implied=extras.get("days_without_implied", 0),
                   days_without_forecast=extras.get("days_without_forecast", 0),
                   open_positions_at_end=extras.get("open_positions", 0))
        return cls.undefined_decisions(out)  # stress windows outside the run, ...: None

    @classmethod
    def capital_units(cls, result) -> float:
        """The capital in the book's P&L unit."""
        return float(result.config.backtest.cash)

    @classmethod
    def baseline_metrics(cls, result, returns: pd.Series) -> dict:
        """The baseline's daily P&L (from its account's value) against this book's, as fractions of the capital:
        the stationary-bootstrap test of the difference of their mark-to-market Sharpe ratios."""
        cash = float(result.config.backtest.cash)
        equity = cash * (1.0 + returns).cumprod()
        base = (equity.shift(1).fillna(cash) * returns) / cash
        own = cls.daily_frame(result)["pnl"] / cls.capital_units(result)
        base_daily = pd.DataFrame({"pnl": base, "gross": 1.0})
        base_metrics = mtm_metrics(base_daily, pd.DataFrame({"w": [], "payoff": []}), result.calendar.days_per_year)
        periods = int(result.calendar.days_per_year)
        return {"mtm_sharpe_difference": sharpe_difference(own, base.reindex(own.index), periods),
                "sharpe_mtm": base_metrics["sharpe_mtm"],
                "worst_30d_over_annual_pnl": base_metrics["worst_30d_over_annual_pnl"]}
