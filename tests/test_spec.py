"""A run is resolved once: the forecaster is built once (once more for a baseline run), the config validated once
(once more for the baseline's), the strategy's parameters checked once; what needs the data is checked before
Backtrader sees a bar."""

from __future__ import annotations

import pytest

from lstm_strategies.api import load_config, run
from lstm_strategies.backtest.spec import RunSpec, resolve
from lstm_strategies.core.errors import LeakageError

SHORT = {"data.start": "2021-10-01", "data.end": "2022-03-31"}
LSTM_SHORT = {"data.start": "2021-06-01", "data.end": "2022-03-31"}  # the refit head needs 180 days


@pytest.fixture
def counted(monkeypatch):
    """Counts constructions of each forecaster class, config validations and strategy parameter checks."""
    import lstm_strategies.backtest.config as config_module
    from lstm_strategies.core.declarations import Params
    from lstm_strategies.forecasters.base import Forecaster

    counts: dict[str, int] = {}

    def bump(key):
        counts[key] = counts.get(key, 0) + 1

    original_init = Forecaster.__init__

    def init(self, *args, **kwargs):  # the base constructor runs once per object, whatever its class
        bump(type(self).__name__)
        return original_init(self, *args, **kwargs)

    validate = config_module.validate_config

    def counting_validate(raw, path="<dict>"):
        bump("validate_config")
        return validate(raw, path)

    check = Params.check.__func__

    def counting_check(cls, values, where="strategy.params", owner=None):
        if where == "strategy.params":   # a strategy's parameters (a forecaster's arguments are checked as built)
            bump("Params.check")
        return check(cls, values, where, owner)

    monkeypatch.setattr(Forecaster, "__init__", init)
    monkeypatch.setattr(config_module, "validate_config", counting_validate)
    monkeypatch.setattr("lstm_strategies.api.validate_config", counting_validate)
    monkeypatch.setattr(Params, "check", classmethod(counting_check))
    return counts


def test_one_run_builds_its_forecaster_once_and_once_more_for_its_baseline(counted):
    config = load_config("backtests/btc_vol_target_ewma.toml", **SHORT)
    result = run(config)
    assert result.backtest.baseline is not None  # the constant-exposure baseline ran, with its EWMA
    assert counted["EWMAForecaster"] == 2
    assert counted["validate_config"] == 2       # the config, and the baseline's config
    assert counted["Params.check"] == 2          # once per config, never again in the strategy


def test_a_pretrained_model_is_built_once_per_run(counted):
    run(load_config("backtests/btc_vol_target_lstm.toml", **LSTM_SHORT, **{"report.baselines": False}))
    assert counted["LSTMForecaster"] == 1
    assert counted["validate_config"] == 1 and counted["Params.check"] == 1


def test_resolve_checks_the_history_and_leakage_before_any_bar(monkeypatch):
    from lstm_strategies.trading.indicators import VolatilityForecast

    def never(*args, **kwargs):
        raise AssertionError("the indicator was built: the check came too late")

    monkeypatch.setattr(VolatilityForecast, "__init__", never)
    config = load_config("backtests/btc_vol_target_lstm.toml", **{**LSTM_SHORT, "backtest.start": "2021-12-20"})
    with pytest.raises(LeakageError, match=r"btc_vol_target_lstm.toml: model .* in-sample.*\[backtest\] start"):
        resolve(config)


def test_a_spec_carries_the_typed_parameters_and_a_bound_forecaster():
    config = load_config("backtests/btc_vol_target_ewma.toml", **SHORT, **{"params.target_vol": 0.3})
    spec = resolve(config)
    assert isinstance(spec, RunSpec) and spec.params.target_vol == 0.3 and spec.params.max_leverage == 1.0
    assert spec.forecaster.timeframe == "1h" and spec.forecaster is not config.new_forecaster()
    assert str(spec.start) == "2022-01-01 00:00:00+00:00" and spec.leverage == 1.0
