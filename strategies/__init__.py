"""Backtrader strategies driven by volatility forecasts (installed as ``lstm_strategies.strategies``).

A strategy class declares on itself everything configs, the runner, reports and sweeps need: its
registry ``name`` (defining the class registers it), its parameters (a typed ``Params`` model,
merged along the class hierarchy), its decision ``metrics`` (:class:`~lstm_strategies.declarations.Metric`),
the leverage it needs, its baseline run and its extra tables. :data:`STRATEGIES` is the one registry
of names; :func:`strategy_class` resolves a name with a clear error. A new strategy is one module
(and its test): define the class with a ``name``, import it once.
"""

from lstm_strategies.errors import ConfigError
from lstm_strategies.registry import Registry

#: strategy name used in configs -> class, filled by the classes themselves when they are defined
STRATEGIES: Registry = Registry("strategy")
register = STRATEGIES.register

from .base import RUNNER_PARAMS, ForecastStrategy, ProgressAnalyzer, RecordsAnalyzer, rolling_tracking_error  # noqa: E402
from .buy_and_hold import BuyAndHold, ConstantExposure  # noqa: E402
from .hedged_straddle import HedgedStraddleStrategy  # noqa: E402
from .option_hedge import CollarStrategy, SyntheticPutStrategy  # noqa: E402
from .put_overlay import PutOverlayStrategy  # noqa: E402
from .variance_swap import VarianceSwapStrategy  # noqa: E402
from .vol_target import VolTargetStrategy  # noqa: E402


def strategy_class(name: str) -> type[ForecastStrategy]:
    """The class registered under ``name``; an unknown name is a :class:`ConfigError`."""
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"strategy {name!r} is unknown; choose one of {sorted(STRATEGIES)}") from None


def strategy_params(name: str) -> dict:
    """Parameters ``[strategy] params`` may set for ``name``, with their defaults (from its ``Params``)."""
    return strategy_class(name).Params.defaults()


__all__ = ["RUNNER_PARAMS", "STRATEGIES", "BuyAndHold", "CollarStrategy", "ConstantExposure", "ForecastStrategy",
           "HedgedStraddleStrategy", "ProgressAnalyzer", "PutOverlayStrategy", "RecordsAnalyzer",
           "SyntheticPutStrategy", "VarianceSwapStrategy", "VolTargetStrategy", "register", "rolling_tracking_error",
           "strategy_class", "strategy_params"]
