"""Shared machinery: the forecast indicator, the trading start, the rebalance schedule, records."""

from __future__ import annotations

import math

import backtrader as bt
import pandas as pd

from lstm_strategies.btfeed import bt_dates_to_index
from lstm_strategies.indicators import volatility_indicator

SCHEDULES = ("bar", "daily", "weekly")


class ForecastStrategy(bt.Strategy):
    """Base class of the strategies that trade on a volatility forecast.

    Params
    ------
    forecaster : str
        ``lstm``, ``ewma``, ``garch``, ``har`` or ``log_har``.
    forecaster_params : dict
        Passed to the indicator (e.g. ``{"model": "btc-1h"}``).
    start : str or None
        First date on which the strategy may trade; bars before only warm the forecasters up.
        Also the first date a pretrained model's forecasts are used (leakage guard).
    rebalance : {"bar", "daily", "weekly"}
        When the target weight is re-evaluated (daily: first bar of each UTC day; weekly: Mondays).
    band : float
        Trade only when the target weight moved more than ``band`` from the current weight.
    cash_buffer : float
        Unlevered targets are capped at ``1 - cash_buffer`` so that commission and slippage fit
        in the cash (Backtrader rejects an order the cash cannot pay).

    Each bar the strategy appends a record (forecast vol, target weight, actual weight, hedge
    ratio, ...) that :class:`RecordsAnalyzer` returns as a DataFrame.
    """

    params = (
        ("forecaster", "lstm"),
        ("forecaster_params", None),
        ("start", None),
        ("rebalance", "daily"),
        ("band", 0.05),
        ("cash_buffer", 0.01),
    )

    def __init__(self):
        if self.p.rebalance not in SCHEDULES:
            from lstm_strategies.errors import ConfigError

            raise ConfigError(f"rebalance={self.p.rebalance!r}: choose one of {SCHEDULES}")
        fparams = dict(self.p.forecaster_params or {})
        self.forecast = volatility_indicator(self.p.forecaster, self.data, start=self.p.start, **fparams)
        self._trade_start = pd.Timestamp(self.p.start, tz="UTC") if self.p.start else None
        # compare Backtrader's float date numbers per bar: no Timestamp objects in the hot path
        self._start_num = bt.date2num(self._trade_start.tz_localize(None)) if self._trade_start else -math.inf
        self._last_day = None
        self.records: list[dict] = []
        self.traded_value = 0.0
        self.commission_paid = 0.0
        self.n_orders = 0
        self.target_weight = math.nan
        self.hedge_ratio = math.nan

    def notify_order(self, order):
        if order.status == order.Completed:
            self.traded_value += abs(order.executed.size * order.executed.price)
            self.commission_paid += order.executed.comm
            self.n_orders += 1

    # -- helpers ------------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        """The current bar's timestamp (UTC)."""
        return bt_dates_to_index([self.data.datetime[0]])[0]

    def trading(self) -> bool:
        """True once the trading start has been reached."""
        return self.data.datetime[0] >= self._start_num

    def rebalance_due(self) -> bool:
        """True on the bars the schedule allows a rebalance."""
        if self.p.rebalance == "bar":
            return True
        day = int(self.data.datetime[0] + 1e-9)  # proleptic ordinal of the UTC day
        if day == self._last_day:
            return False
        # ordinal 1 (0001-01-01) was a Monday
        if self.p.rebalance == "weekly" and self._last_day is not None and (day - 1) % 7 != 0:
            return False
        self._last_day = day
        return True

    def current_weight(self) -> float:
        value = self.broker.getvalue()
        return self.position.size * self.data.close[0] / value if value else 0.0

    def trade_to(self, weight: float) -> bool:
        """Order the target weight if it moved more than the band; True when an order was sent."""
        if weight <= 1.0:
            weight = min(weight, 1.0 - self.p.cash_buffer)
        if abs(weight - self.current_weight()) <= self.p.band:
            return False
        self.order_target_percent(target=weight)
        return True

    def record(self, **extra) -> None:
        vol = self.forecast.vol[0]
        self.records.append({"datetime": self.data.datetime[0], "forecast_vol": vol,
                             "target_weight": self.target_weight, "weight": self.current_weight(),
                             "hedge_ratio": self.hedge_ratio, "value": self.broker.getvalue(), **extra})


class ProgressAnalyzer(bt.Analyzer):
    """A tqdm progress bar over the bars of a run."""

    params = (("total", None), ("desc", "backtest"))

    def start(self):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.p.total, desc=self.p.desc, unit="bar", mininterval=0.5, miniters=500)

    def prenext(self):
        self.bar.update(1)

    def next(self):
        self.bar.update(1)

    def stop(self):
        self.bar.close()


class RecordsAnalyzer(bt.Analyzer):
    """Returns the strategy's per-bar records as a DataFrame indexed by time."""

    def get_analysis(self):
        records = getattr(self.strategy, "records", [])
        frame = pd.DataFrame(records)
        if frame.empty:
            return frame
        frame.index = bt_dates_to_index(frame.pop("datetime").to_numpy())
        return frame
