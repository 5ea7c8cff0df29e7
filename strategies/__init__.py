"""Backtrader strategies driven by volatility forecasts (installed as ``lstm_strategies.strategies``).

A strategy class declares on itself everything configs, the runner, reports and sweeps need: its
registry ``name`` (defining the class registers it), its parameters (a typed ``Params`` model,
merged along the class hierarchy), its decision ``metrics`` (:class:`~lstm_strategies.declarations.Metric`),
the leverage it needs, its baseline run and its extra tables. :data:`STRATEGIES` is the one registry
of names; :func:`strategy_class` resolves a name with a clear error. A new strategy is one module
(and its test): define the class with a ``name``, import it once.
"""

from .base import RUNNER_PARAMS, ForecastStrategy, ProgressAnalyzer, RecordsAnalyzer, rolling_tracking_error
from .buy_and_hold import BuyAndHold, ConstantExposure
from .hedged_straddle import HedgedStraddleStrategy
from .option_hedge import CollarStrategy, SyntheticPutStrategy
from .put_overlay import PutOverlayStrategy
from .registry import STRATEGIES, register, strategy_class, strategy_params
from .variance_swap import VarianceSwapStrategy
from .vol_target import VolTargetStrategy

__all__ = ["RUNNER_PARAMS", "STRATEGIES", "BuyAndHold", "CollarStrategy", "ConstantExposure", "ForecastStrategy",
           "HedgedStraddleStrategy", "ProgressAnalyzer", "PutOverlayStrategy", "RecordsAnalyzer",
           "SyntheticPutStrategy", "VarianceSwapStrategy", "VolTargetStrategy", "register", "rolling_tracking_error",
           "strategy_class", "strategy_params"]
