"""Volatility targeting: size the position so that the forecast volatility meets a target."""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Metric, NonNegative, Range, WholePositive

from .base import ForecastStrategy, rolling_tracking_error


class VolTargetStrategy(ForecastStrategy):
    r"""Hold :math:`w_t = \min(L_{max}, \sigma^* / \hat\sigma_{t,h})` of the portfolio in the asset.

    Params
    ------
    target_vol : float
        Annualised volatility target :math:`\sigma^*` (0.4 = 40%), > 0.
    max_leverage : float
        Cap :math:`L_{max}` on the weight, > 0; above 1 the broker lends the difference (see the
        backtest's ``borrow_rate``).
    horizon : int
        Calendar days of the forecast the weight uses; the forecaster's nearest horizon is taken
        (7 days: the 7-day line for crypto, the 5-trading-day line for equities). The defaults
        (1 day, no band, half of the gap traded each day) were chosen on 2021 data only: README,
        "Choosing the defaults".

    Trading goes through the base class's cost-aware rule (relative ``band``, partial ``adjust``)
    on the ``rebalance`` schedule; orders fill at the next bar's open with the broker's commission
    and slippage.
    """

    name = "vol_target"
    metrics = (Metric("decision.te30", "TE30 (pts)", "vol_points", "lower", headline=True, rank=True),
               Metric("decision.realized_vol", "Realized vol", "percent"),
               Metric("decision.target_vol", "Target vol", "percent", column="te30_target"),  # not the param's column
               Metric("decision.rolling_vol_p05", "30-day vol, 5th percentile", "percent"),
               Metric("decision.rolling_vol_p95", "30-day vol, 95th percentile", "percent"),
               Metric("decision.te30_days", "Days in TE30", "count"))

    class Params(ForecastStrategy.Params):
        target_vol: Annotated[float, Range(0, 5, low_open=True)] = 0.4   # annualised: 5 = 500%
        max_leverage: Annotated[float, Range(0, 100, low_open=True)] = 1.0
        # horizon, band and adjust: chosen on 2021 only (benchmarks/choose_decision_defaults.py: the lowest
        # mean TE30 over EWMA, GARCH, log-HAR and an LSTM trained to 2020, at <= 12 books a year)
        horizon: WholePositive = 1
        band: NonNegative = 0.0
        adjust: Annotated[float, Range(0, 1, low_open=True)] = 0.5

    params = Params.bt_params()

    snap_horizon = True
    horizon_param = "horizon"

    def horizon_days(self) -> int:
        return int(self.p.horizon)

    baseline_declared = (Metric("baseline.te30", "baseline TE30 (pts)", "vol_points"),)

    @classmethod
    def leverage_needed(cls, params) -> float:
        return float(params.max_leverage)

    @classmethod
    def baseline(cls, params: dict, records: pd.DataFrame):
        """A constant exposure at this run's mean weight: leverage alone cannot explain a difference."""
        weight = float(np.nanmean(records["weight"])) if len(records) else 1.0
        keep = {k: params[k] for k in ("band", "rebalance", "adjust") if k in params}
        return "constant_exposure", {"weight": weight, **keep}, f"constant {weight:.2f}"

    @classmethod
    def decision_metrics(cls, result) -> dict:
        target = float(result.params.target_vol)
        days_per_year = result.calendar.days_per_year
        return {"target_vol": target, **rolling_tracking_error(result.returns, target, 30, days_per_year)}

    @classmethod
    def report_figures(cls, result, folder) -> list[tuple[str, object]]:
        """The strategy's 30-day realized volatility against its target: what TE30 measures."""
        import math

        from lstm_strategies.core.plotting import new_figure, percent_axis, save_figure

        target = float(result.params.target_vol)
        rolling = result.returns.rolling(30, min_periods=30).std(ddof=1) * math.sqrt(result.calendar.days_per_year)
        fig, ax = new_figure(10, 3.8)
        ax.plot(rolling.index, rolling, lw=1.1, label="realized volatility of the last 30 days")
        ax.axhline(target, color="black", lw=0.9, ls="--", label=f"target {target:.0%}")
        ax.set_ylim(0, max(float(rolling.max()) if rolling.notna().any() else target, target) * 1.1)
        percent_axis(ax)
        title = f"{result.config.name}: realized volatility against the target (TE30: the RMS gap)"
        return [("realized volatility against the target (TE30)",
                 save_figure(fig, folder / "realized_vs_target.png", title, "annualised volatility"))]

    @classmethod
    def baseline_metrics(cls, result, returns: pd.Series) -> dict:
        """The baseline's TE30 against this run's target (how close a constant exposure tracks it)."""
        target = float(result.params.target_vol)
        return {"te30": rolling_tracking_error(returns, target, 30, result.calendar.days_per_year)["te30"]}

    def next(self):
        vol = self.forecast.vol[0]
        if self.trading() and not math.isnan(vol) and vol > 0:
            self.target_weight = min(self.p.max_leverage, self.p.target_vol / vol)
            self.hedge_ratio = self.target_weight
            if self.rebalance_due():
                self.trade_to(self.target_weight)
        self.record()
