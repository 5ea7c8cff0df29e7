"""The name registry shared by forecasters and strategies."""

import pytest
from lstm_strategies.strategies import STRATEGIES

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.core.registry import Registry
from lstm_strategies.forecasters import REGISTRY


def _named(name: str, qualname: str) -> type:
    cls = type(qualname, (), {"name": name})
    cls.__module__ = "toy_module"
    return cls


def test_a_class_registers_under_its_name_and_again_when_reimported():
    registry = Registry("widget")
    first = registry.register(_named("alpha", "Alpha"))
    assert registry["alpha"] is first
    again = _named("alpha", "Alpha")  # the same module and qualified name: a re-import
    assert registry.register(again) is again
    assert registry["alpha"] is again


def test_a_second_class_under_a_taken_name_is_refused_with_both_names():
    registry = Registry("widget")
    registry.register(_named("alpha", "Alpha"))
    with pytest.raises(ConfigError, match=r"widget name 'alpha' is taken by toy_module\.Alpha; give Beta another"):
        registry.register(_named("alpha", "Beta"))
    assert registry["alpha"].__qualname__ == "Alpha"


def test_the_forecaster_and_strategy_registries_name_their_kind():
    assert (REGISTRY.kind, STRATEGIES.kind) == ("forecaster", "strategy")
    assert {"lstm", "ewma", "lstm_iv"} <= set(REGISTRY)
    assert {"vol_target", "variance_swap"} <= set(STRATEGIES)
