"""Volatility targeting: size the position so that forecast volatility meets a target."""

from __future__ import annotations

import math

from strategies.base import ForecastStrategy


class VolTargetStrategy(ForecastStrategy):
    r"""Hold :math:`w_t = \min(L_{max}, \sigma^* / \hat\sigma_t)` of the portfolio in the asset.

    Params
    ------
    target_vol : float
        Annualised volatility target :math:`\sigma^*` (0.4 = 40%).
    max_leverage : float
        Cap :math:`L_{max}` on the weight; above 1 the broker must allow margin (the backtest
        runner disables Backtrader's cash check then).
    long_only : bool
        Weights stay in ``[0, max_leverage]`` (short vol-targeting is not offered yet).

    Orders go through ``order_target_percent``: they fill at the next bar's open, with the
    broker's commission and slippage.
    """

    params = (("target_vol", 0.4), ("max_leverage", 1.0), ("long_only", True))

    def next(self):
        vol = self.forecast.vol[0]
        if self.trading() and not math.isnan(vol) and vol > 0:
            self.target_weight = min(self.p.max_leverage, self.p.target_vol / vol)
            self.hedge_ratio = self.target_weight
            if self.rebalance_due():
                self.trade_to(self.target_weight)
        self.record()
