"""The one parameter language for constructor arguments (core/arguments.py): a forecaster's ranges are declared
in its signature with declarations' Range/OneOf/Count, checked whether it is built from a config, by name or
directly, in the words of a strategy's Params, and shown by the config reference."""

from __future__ import annotations

from typing import Annotated

import pytest

from lstm_strategies.core.declarations import Count, Range
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.forecasters.base import Forecaster
from lstm_strategies.forecasters.ewma import EWMAForecaster
from lstm_strategies.forecasters.har import LogHARForecaster


class Damped(Forecaster):   # unregistered (no name): a user's class, declared in the same language
    def __init__(self, half_life: Annotated[float, Range(0, 100, low_open=True)] = 5.0, days: Count = 3, *,
                 calendar="crypto", horizons=None, timeframe=None):
        self.half_life, self.days = half_life, days
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    @property
    def lookback(self):
        return 1

    def _predict_batch(self, df, first=0):
        raise NotImplementedError


@pytest.mark.parametrize("build, message", [
    (lambda: EWMAForecaster(lam=0), "EWMAForecaster.lam = 0: must be in (0, 1)"),
    (lambda: EWMAForecaster(0.9, 0), "EWMAForecaster.burn_in_days = 0: must be a whole number >= 1"),
    (lambda: LogHARForecaster(level_shrink=1.5), "LogHARForecaster.level_shrink = 1.5: must be in [0, 1]"),
    (lambda: LogHARForecaster(level_correction="always"), "LogHARForecaster.level_correction = 'always': choose one"),
    (lambda: LogHARForecaster(window="rolling", window_days=0), "LogHARForecaster.window_days = 0: must be >= 1"),
    (lambda: Damped(half_life=-1), "Damped.half_life = -1: must be in (0, 100]"),
    (lambda: Damped(days=True), "Damped.days = True: must be a whole number"),
    (lambda: Damped(half_life=float("nan")), "Damped.half_life = nan: must be a finite number"),
])
def test_a_declared_range_is_checked_however_the_forecaster_is_built(build, message):
    with pytest.raises(ConfigError) as info:
        build()
    assert message in str(info.value)


def test_valid_arguments_reach_the_constructor_as_declared():
    f = Damped(7, 4)
    assert (f.half_life, f.days) == (7, 4)   # as given: get_params() round-trips exactly
    assert Damped.param_names()[:2] == ["half_life", "days"]                     # the signature is the original
    with pytest.raises(TypeError, match="unexpected keyword"):
        Damped(speed=3)


def test_the_ranges_are_readable_for_the_reference():
    assert EWMAForecaster.param_ranges() == {"lam": "in (0, 1)", "burn_in_days": "a whole number >= 1"}
    assert Damped.param_ranges()["half_life"] == "in (0, 100]"
    assert LogHARForecaster.param_ranges()["level_shrink"] == "in [0, 1]"   # declared by the parent class


def test_the_deprecated_check_number_still_answers_with_a_warning():
    from lstm_strategies.forecasters.base import check_number

    with pytest.warns(DeprecationWarning, match="annotate the constructor's argument"):
        assert check_number("X", "n", 3, 1, integer=True) == 3
    with pytest.warns(DeprecationWarning), pytest.raises(ConfigError, match=r"X.a = 5: must be in \[0, 1\]"):
        check_number("X", "a", 5, 0, 1)
