"""The registry of strategy names (no strategy imported here): classes register themselves when defined.

The built-in strategies are imported by module name on the first lookup; plugins join by being imported
(:mod:`lstm_strategies.core.plugins`).
"""

from __future__ import annotations

from lstm_strategies.core.registry import Registry

#: modules of the built-in strategies (imported on the first lookup of a name)
BUILTIN_MODULES = tuple(f"lstm_strategies.strategies.{m}" for m in (
    "buy_and_hold", "vol_target", "option_hedge", "put_overlay", "variance_swap", "hedged_straddle",
    "leveraged_perp"))

#: strategy name used in configs -> class, filled by the classes themselves when they are defined
STRATEGIES: Registry = Registry("strategy", "lstm_strategies.strategies.ForecastStrategy", BUILTIN_MODULES)
register = STRATEGIES.register


def strategy_class(name: str) -> type:
    """The class registered under ``name``; an unknown name is a :class:`ConfigError` saying how to add one."""
    return STRATEGIES.resolve(name)


def strategy_params(name: str) -> dict:
    """Parameters ``[strategy] params`` may set for ``name``, with their defaults (from its ``Params``)."""
    return strategy_class(name).Params.defaults()
