"""Baselines every comparison needs: buy-and-hold and a constant exposure."""

from __future__ import annotations

from lstm_strategies.core.declarations import NonNegative

from .base import ForecastStrategy


class ConstantExposure(ForecastStrategy):
    """Hold a constant ``weight`` of the portfolio in the asset (rebalanced on the schedule).

    Set ``weight`` to the vol-target strategy's average weight so that leverage alone cannot
    explain a difference. The forecaster is computed only to share the warm-up and the records.
    """

    name = "constant_exposure"

    class Params(ForecastStrategy.Params):
        weight: NonNegative = 1.0

    params = (("forecaster", "ewma"), *Params.bt_params())

    @classmethod
    def leverage_needed(cls, params) -> float:
        return max(1.0, float(params.weight))

    def next(self):
        if self.trading():
            self.target_weight = self.p.weight
            if self.rebalance_due():
                self.trade_to(self.p.weight)
        self.record()


class BuyAndHold(ConstantExposure):
    """Buy ``weight`` (default all) of the portfolio on the first trading bar and never trade again."""

    name = "buy_and_hold"

    class Params(ConstantExposure.Params):
        band: NonNegative = 0.0

    params = Params.bt_params()

    def next(self):
        if self.trading() and not self.position:
            self.target_weight = self.p.weight
            self.trade_to(self.p.weight)
        self.record()
