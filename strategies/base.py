"""Shared machinery: the forecast indicator, the trading start, the schedule, cost-aware trading, records.

Every strategy declares what the backtest runner and the reports need to know about it, so that
those hold no strategy names: ``name`` (registry), ``Params`` (its typed parameters),
``metrics`` (its decision metrics), :meth:`ForecastStrategy.leverage_needed` (the broker's margin),
:meth:`ForecastStrategy.baseline` (the comparison run), :meth:`ForecastStrategy.extras` (tables such
as option rolls) and :meth:`ForecastStrategy.decision_metrics` (what the strategy is for, measured).
"""

from __future__ import annotations

import math
import sys
from typing import Annotated, ClassVar

import backtrader as bt
import numpy as np
import pandas as pd

from lstm_strategies.core import declarations
from lstm_strategies.core.declarations import Fraction, Metric, NonNegative, OneOf, Range
from lstm_strategies.trading.feed import bt_dates_to_index, bt_num_to_timestamp, timestamp_to_bt_num
from lstm_strategies.trading.indicators import VolatilityForecast

SCHEDULES = ("bar", "daily", "weekly")
#: parameters every strategy receives from the runner (the config's [strategy] table and [data]
#: calendar, [backtest] start), not from ``[strategy] params``
RUNNER_PARAMS = (("forecaster", "lstm"), ("forecaster_params", None), ("inputs", None), ("calendar", "crypto"),
                 ("start", None), ("allow_in_sample", False), ("params_checked", False))


class ForecastStrategy(bt.Strategy):
    """Base class of the strategies that trade on a volatility forecast.

    Params
    ------
    forecaster : str or Forecaster
        A registered forecaster's name (``lstm``, ``ewma``, ``log_har``, ...) or a forecaster object (the
        backtest runner passes the one its run spec resolved; the indicator copies it).
    forecaster_params : dict
        Its parameters (e.g. ``{"model": "btc-1h"}``).
    inputs : dict or None
        Exogenous series by input name (``{"implied_vol": ...}``, from ``[data] implied``), given to the
        forecaster when it declares them.
    calendar : str
        ``crypto`` or ``equity`` (set by the backtest runner from ``[data] calendar``).
    start : str or None
        First date on which the strategy may trade; bars before only warm the forecasters up.
        Also the first date a pretrained model's forecasts are used (leakage guard).
    allow_in_sample : bool
        Accept forecasts from a model on dates it was trained on (the run is marked in-sample).
    params_checked : bool
        The strategy's parameters were validated already (by the config); the runner sets it.
    rebalance : {"bar", "daily", "weekly"}
        When the target weight is re-evaluated (daily: first bar of each UTC day; weekly: Mondays).
    band : float
        Relative no-trade band: trade only when ``|target / current - 1| > band`` (0 trades on
        every rebalance). The same for every forecaster.
    adjust : float
        Partial adjustment: each trade moves the weight ``adjust`` of the way to the target
        (1 = all the way).
    cash_buffer : float
        Unlevered targets are capped at ``1 - cash_buffer`` so that commission and slippage fit
        in the cash.

    Each bar the strategy appends a record (forecast vol, target weight, actual weight, hedge
    ratio, ...) that :class:`RecordsAnalyzer` returns as a DataFrame.

    A subclass declares ``name`` (the registry name: defining the class registers it), a ``Params``
    model deriving from its parent's (new fields, or a field redeclared with another default) and
    ``params = Params.bt_params()``; and ``metrics``, the decision metrics it reports.
    """

    #: registry name used in configs; None for abstract bases
    name: ClassVar[str | None] = None
    #: the decision metrics :meth:`decision_metrics` computes (reports, sweeps and races read them)
    metrics: ClassVar[tuple[Metric, ...]] = ()
    #: what :meth:`baseline_metrics` computes (``baseline.*`` keys), shown with the tests against the baseline
    baseline_declared: ClassVar[tuple[Metric, ...]] = ()
    #: costs paid in cash beside the broker (``costs.<name>``, money), their values in :meth:`extras` under ``<name>``
    settled_costs: ClassVar[tuple[Metric, ...]] = ()

    class Params(declarations.Params):
        rebalance: Annotated[str, OneOf(*SCHEDULES)] = "daily"
        band: NonNegative = 0.1
        adjust: Fraction = 1.0
        cash_buffer: Annotated[float, Range(0, 0.5, high_open=True)] = 0.01

    params = RUNNER_PARAMS + Params.bt_params()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "Params" in vars(cls) or vars(cls).get("name"):
            cls.Params.owner = cls.name or cls.__name__
        if vars(cls).get("name"):
            from lstm_strategies.strategies.registry import register

            register(cls)
    #: forecast horizon (days) on the indicator's ``vol`` line; strategies override
    default_horizon: int | None = None
    #: the parameter holding the decision's horizon in calendar days (checked against the forecaster's
    #: horizons by the config schema); None when the strategy has none
    horizon_param: str | None = None
    #: whether a decision horizon beyond the forecaster's longest may be read by extrapolating the term
    #: structure (only with ``extrapolate = true``); otherwise such a horizon is refused
    #: take the forecaster's horizon nearest to :meth:`horizon_days` instead of requiring it
    snap_horizon = False

    def __init__(self):
        # the one validation of the declared parameters: the config's, or here for strategies built from Python code
        if not self.p.params_checked:
            values = {k: getattr(self.p, k) for k in self.Params.model_fields}
            self.Params.check({k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()})
        self.forecast = VolatilityForecast(
            self.data, forecaster=self.p.forecaster, forecaster_params=dict(self.p.forecaster_params or {}),
            inputs=self.p.inputs, calendar=self.p.calendar, horizon=self.horizon_days(), snap_horizon=self.snap_horizon,
            start=self.p.start, allow_in_sample=self.p.allow_in_sample)
        self.calendar = self.forecast.forecaster.cal
        # compare Backtrader's float date numbers per bar: no Timestamp objects in the hot path
        self._start_num = timestamp_to_bt_num(self.p.start)
        self._last_day = None
        self.records: list[dict] = []
        self.traded_value = 0.0
        self.commission_paid = 0.0
        self.slippage_paid = 0.0
        self.n_orders = 0
        self.rejected: list[dict] = []
        self.target_weight = math.nan
        self.hedge_ratio = math.nan

    can_extrapolate = False

    def horizon_days(self) -> int | None:
        """The horizon (days) this strategy's decision uses on the ``vol`` line."""
        return self.default_horizon

    # -- declarations for the runner and the reports --------------------------------------------
    @classmethod
    def leverage_needed(cls, params) -> float:
        """Largest weight the strategy may hold (the broker lends up to it); 1 = no borrowing. ``params`` is the
        validated :class:`Params` (defaults filled in)."""
        return 1.0

    @classmethod
    def baseline(cls, params: dict, records: pd.DataFrame) -> tuple[str, dict, str] | None:
        """A comparison run: ``(strategy name, params, label)`` or None. ``params`` are this run's parameters as the
        config gives them (a baseline inherits what the user set, not this strategy's defaults)."""
        return None

    def extras(self) -> dict:
        """Tables and numbers the reports show for this strategy (e.g. option rolls)."""
        return {}

    @classmethod
    def decision_metrics(cls, result) -> dict:
        """What the strategy is for, measured on a finished run (see the subclasses): every ``decision.*`` metric
        the class declares in ``metrics`` (None where a run cannot define it: :meth:`undefined_decisions`), and
        more if it likes. A declared key missing from the dict is an error of the report."""
        return {}

    @classmethod
    def undefined_decisions(cls, out: dict) -> dict:
        """``out`` with None for each declared ``decision.*`` metric it lacks (a run that cannot define them: no
        completed roll, no implied price...), nested keys (``decision.straddle.net_per_trade``) included."""
        for metric in cls.metrics:
            parts = metric.key.split(".")
            if parts[0] != "decision":
                continue
            node = out
            for part in parts[1:-1]:
                node = node.setdefault(part, {})
            node.setdefault(parts[-1], None)
        return out

    @classmethod
    def run_warnings(cls, result) -> list[str]:
        """Warning lines only the strategy can give about a run (decision days it skipped, and why)."""
        return []

    @classmethod
    def describe(cls, result) -> str:
        """What the report's title adds about this run (e.g. ``", options priced at implied vol (src)"``)."""
        return ""

    @classmethod
    def positions_beside_broker(cls, result) -> int:
        """Positions the strategy held in cash beside the broker (options, swaps): a run with none and no order
        held nothing."""
        return 0

    @classmethod
    def report_figures(cls, result, folder) -> list[tuple[str, object]]:
        """Figures of what the strategy is for, written as PNGs into ``folder``: ``[(title, path)]`` for the
        tearsheet (the report draws the forecast, weights and equity for every strategy)."""
        return []

    @classmethod
    def baseline_metrics(cls, result, returns: pd.Series) -> dict:
        """Decision metrics of the baseline run (daily ``returns``), measured as this strategy's are."""
        return {}

    # -- orders ---------------------------------------------------------------------------------
    def notify_order(self, order):
        if order.status == order.Completed:
            size, price = order.executed.size, order.executed.price
            self.traded_value += abs(size * price)
            self.commission_paid += order.executed.comm
            # slippage: the fill against the bar's open (market orders fill at the open)
            self.slippage_paid += abs(size) * abs(price - self.data.open[0])
            self.n_orders += 1
        elif order.status in (order.Margin, order.Rejected, order.Canceled, order.Expired):
            self.rejected.append({"datetime": bt_num_to_timestamp(self.data.datetime[0]),
                                  "status": order.getstatusname(), "size": order.created.size,
                                  "price": order.created.price})

    # -- helpers --------------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        """The current bar's timestamp (UTC)."""
        return bt_num_to_timestamp(self.data.datetime[0])

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
        """Move toward ``weight`` if it lies outside the relative band; True when an order was sent.

        The order goes ``adjust`` of the way from the current weight to the target.
        """
        if weight <= 1.0:
            weight = min(weight, 1.0 - self.p.cash_buffer)
        current = self.current_weight()
        if abs(current) > 1e-12:
            if abs(weight / current - 1.0) <= self.p.band:
                return False
        elif abs(weight) <= 1e-12:
            return False
        new = current + self.p.adjust * (weight - current)
        self.order_target_percent(target=new)
        return True

    def record(self, **extra) -> None:
        fc = self.forecast
        self.records.append({"datetime": self.data.datetime[0], "forecast_vol": fc.vol[0], "vol_1d": fc.vol_1d[0],
                             "vol_7d": fc.vol_7d[0], "vol_30d": fc.vol_30d[0], "target_weight": self.target_weight,
                             "weight": self.current_weight(), "hedge_ratio": self.hedge_ratio,
                             "value": self.broker.getvalue(), **extra})


class ProgressAnalyzer(bt.Analyzer):
    """Progress of a run: one line when the forecaster starts warming up (in runonce mode every forecast
    is computed before the first bar is traded, which takes seconds for an LSTM), then a bar over the
    bars, created at the first bar so that its rate and ETA count the bars alone (closed even when the
    run fails)."""

    params = (("total", None), ("desc", "backtest"))

    def start(self):
        from tqdm.auto import tqdm

        self.bar = None
        tqdm.write(f"{self.p.desc}: warming up the forecaster ({self.strategy.forecast.forecaster.name}) "
                   f"over {self.p.total:,} bars", file=sys.stderr)

    def _tick(self):
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.p.total, desc=self.p.desc, unit="bar", mininterval=0.5, miniters=500,
                            leave=False)
        self.bar.update(1)

    def prenext(self):
        self._tick()

    def next(self):
        self._tick()

    def stop(self):
        if self.bar is not None:
            self.bar.close()


class RecordsAnalyzer(bt.Analyzer):
    """Returns the strategy's per-bar records as a DataFrame indexed by time."""

    def get_analysis(self):
        frame = pd.DataFrame(self.strategy.records)
        if frame.empty:
            return frame
        frame.index = bt_dates_to_index(frame.pop("datetime").to_numpy())
        return frame


def rolling_tracking_error(returns: pd.Series, target: float, days: int = 30, days_per_year: float = 365.0) -> dict:
    """TE30: root mean square of the rolling ``days``-day realized volatility minus the target.

    Returns volatility points (0.05 = 5 points) and the realized volatility over the run.
    """
    rolling = returns.rolling(days, min_periods=days).std(ddof=1) * math.sqrt(days_per_year)
    gap = (rolling - target).dropna()
    return {"te30": float(math.sqrt((gap ** 2).mean())) if len(gap) else math.nan,
            "te30_days": int(len(gap)),
            "realized_vol": float(returns.std(ddof=1) * math.sqrt(days_per_year)) if len(returns) > 1 else math.nan,
            "rolling_vol_p05": float(rolling.quantile(0.05)) if len(gap) else math.nan,
            "rolling_vol_p95": float(rolling.quantile(0.95)) if len(gap) else math.nan}
