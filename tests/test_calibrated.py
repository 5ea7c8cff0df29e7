"""The calibrated variants (forecasters/calibrated.py) are the research's frozen choices, and the configs that ship
them validate."""

from __future__ import annotations

from pathlib import Path

import pytest

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.calibrated import CALIBRATED, calibrated, calibrated_set


def test_the_variants_are_the_frozen_choices():
    """docs/research/calibration/REPORT.md, "Frozen choices", items 1-2."""
    assert calibrated("log_har_cal") == ("log_har", {"level_correction": "h1", "level_window_days": 180})
    assert calibrated("garch_cal") == ("garch", {"level_correction": "h1", "level_window_days": 30})
    assert calibrated("har_iv_cal") == ("har_iv", {"window": "rolling", "window_days": 365, "level_correction": "own",
                                                   "level_window_days": 180, "level_shrink": 0.5})
    assert calibrated("lstm_iv_cal", "eth") == ("lstm_iv", {"level_correction": "h1", "level_window_days": 180,
                                                            "model": "eth-1h-iv"})
    for variant in CALIBRATED:
        name, params = calibrated(variant, "btc")
        f = make_forecaster(name, **params)
        assert f._level is not None and f.get_params()["level_min_days"] == 30
    assert set(calibrated_set("btc", with_implied=False)) == {"log_har_cal", "garch_cal", "lstm_cal"}
    assert "implied_anchor" in calibrated_set("btc")
    with pytest.raises(ConfigError, match="no calibrated variant"):
        calibrated("ewma_cal")


def test_the_calibrated_configs_validate():
    from lstm_strategies.api import load_config

    files = sorted(Path("backtests").glob("*_cal*.toml"))
    assert len(files) == 6
    for f in files:
        config = load_config(f)
        params = config.strategy.forecaster_params
        assert params["level_correction"] == "h1" and params["level_window_days"] == 180
    ww = load_config("backtests/btc_straddle_ww_cal.toml").strategy.params
    assert (ww["hedge_band"], ww["risk_aversion"], ww["hedge_check"], ww["hedge_vol"]) == ("ww", 34.0, "bar",
                                                                                           "forecast")
    assert load_config("backtests/eth_sized_variance_log_har_cal.toml").strategy.params["scale"] == 6.8449
