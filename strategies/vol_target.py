"""Volatility targeting: size the position so that the forecast volatility meets a target."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_strategies.checks import whole_positive

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

    # horizon, band and adjust: chosen on 2021 only (benchmarks/choose_decision_defaults.py: the lowest
    # mean TE30 over EWMA, GARCH, log-HAR and an LSTM trained to 2020, at <= 12 books a year)
    params = (("target_vol", 0.4), ("max_leverage", 1.0), ("horizon", 1), ("band", 0.0), ("adjust", 0.5))
    param_rules = {"target_vol": lambda v: None if 0 < v <= 5 else "must be in (0, 5] (annualised, 5 = 500%)",
                   "max_leverage": lambda v: None if 0 < v <= 100 else "must be in (0, 100]",
                   "horizon": whole_positive}

    snap_horizon = True
    horizon_param = "horizon"

    def horizon_days(self) -> int:
        return int(self.p.horizon)

    @classmethod
    def leverage_needed(cls, params: dict) -> float:
        return float(params.get("max_leverage", 1.0))

    @classmethod
    def baseline(cls, params: dict, records: pd.DataFrame):
        """A constant exposure at this run's mean weight: leverage alone cannot explain a difference."""
        weight = float(np.nanmean(records["weight"])) if len(records) else 1.0
        keep = {k: params[k] for k in ("band", "rebalance", "adjust") if k in params}
        return "constant_exposure", {"weight": weight, **keep}, f"constant {weight:.2f}"

    @classmethod
    def decision_metrics(cls, result) -> dict:
        target = float(result.config.strategy_params.get("target_vol", 0.4))
        days_per_year = result.calendar.days_per_year
        return {"target_vol": target, **rolling_tracking_error(result.returns, target, 30, days_per_year)}

    def next(self):
        vol = self.forecast.vol[0]
        if self.trading() and not math.isnan(vol) and vol > 0:
            self.target_weight = min(self.p.max_leverage, self.p.target_vol / vol)
            self.hedge_ratio = self.target_weight
            if self.rebalance_due():
                self.trade_to(self.target_weight)
        self.record()
