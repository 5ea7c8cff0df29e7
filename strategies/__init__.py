"""Backtrader strategies driven by volatility forecasts (installed as ``lstm_strategies.strategies``).

The one registry of strategy names used by configs, sweeps and the reports is :data:`STRATEGIES`;
:func:`strategy_class` resolves a name with a clear error.
"""

from lstm_strategies.errors import ConfigError

from .base import ForecastStrategy, ProgressAnalyzer, RecordsAnalyzer, rolling_tracking_error
from .buy_and_hold import BuyAndHold, ConstantExposure
from .option_hedge import CollarStrategy, PutOverlayStrategy, SyntheticPutStrategy
from .vol_target import VolTargetStrategy

#: strategy name used in configs -> class
STRATEGIES: dict[str, type[ForecastStrategy]] = {
    "vol_target": VolTargetStrategy,
    "synthetic_put": SyntheticPutStrategy,
    "collar": CollarStrategy,
    "put_overlay": PutOverlayStrategy,
    "buy_and_hold": BuyAndHold,
    "constant_exposure": ConstantExposure,
}

#: parameters every strategy receives from the runner, not from ``[strategy] params``
RUNNER_PARAMS = ("forecaster", "forecaster_params", "inputs", "calendar", "start", "allow_in_sample")


def strategy_class(name: str) -> type[ForecastStrategy]:
    """The class registered under ``name``; an unknown name is a :class:`ConfigError`."""
    try:
        return STRATEGIES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"strategy {name!r} is unknown; choose one of {sorted(STRATEGIES)}") from None


def strategy_params(name: str) -> dict:
    """Parameters ``[strategy] params`` may set for ``name``, with their defaults."""
    cls = strategy_class(name)
    return {k: getattr(cls.params, k) for k in cls.params._getkeys() if k not in RUNNER_PARAMS}


__all__ = ["RUNNER_PARAMS", "STRATEGIES", "BuyAndHold", "CollarStrategy", "ConstantExposure", "ForecastStrategy",
           "ProgressAnalyzer", "PutOverlayStrategy", "RecordsAnalyzer", "SyntheticPutStrategy", "VolTargetStrategy",
           "rolling_tracking_error", "strategy_class", "strategy_params"]
