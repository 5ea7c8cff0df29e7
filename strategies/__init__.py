"""Backtrader strategies driven by volatility forecasts."""

from strategies.base import ForecastStrategy, ProgressAnalyzer, RecordsAnalyzer
from strategies.buy_and_hold import BuyAndHold, ConstantExposure
from strategies.option_hedge import CollarStrategy, PutOverlayStrategy, SyntheticPutStrategy
from strategies.vol_target import VolTargetStrategy

#: strategy name used in configs -> class
STRATEGIES = {
    "vol_target": VolTargetStrategy,
    "synthetic_put": SyntheticPutStrategy,
    "collar": CollarStrategy,
    "put_overlay": PutOverlayStrategy,
    "buy_and_hold": BuyAndHold,
    "constant_exposure": ConstantExposure,
}

__all__ = ["STRATEGIES", "BuyAndHold", "CollarStrategy", "ConstantExposure", "ForecastStrategy",
           "ProgressAnalyzer", "PutOverlayStrategy", "RecordsAnalyzer", "SyntheticPutStrategy", "VolTargetStrategy"]
