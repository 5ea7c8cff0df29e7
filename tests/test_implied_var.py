"""The implied baselines: raw and level-corrected implied variance, both paths, causal."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_causal, forecasts, window

from lstm_strategies.features.realized import forward_variance_matrix
from lstm_strategies.forecasters import make_forecaster


@pytest.fixture(scope="module")
def spring(btc_hourly):
    return window(btc_hourly, "2021-03-20", "2021-07-01")


def level(**kw):
    return lambda: make_forecaster("implied_level", window_days=45, **kw)


def test_raw_implied_is_the_implied_variance_over_each_horizon(spring, btc_dvol):
    var = forecasts(lambda: make_forecaster("implied"), spring, btc_dvol, "2021-04-01", False)
    last = btc_dvol[btc_dvol.index <= spring.index[-1] + np.timedelta64(1, "h")].iloc[-1]
    np.testing.assert_allclose(var[-1], [last ** 2 * h / 365 for h in (1, 7, 30)], rtol=1e-15)


def test_level_is_the_trailing_mean_ratio_of_realized_to_implied(spring, btc_dvol):
    f = make_forecaster("implied_level", window_days=30, horizons=[1]).set_inputs(implied_vol=btc_dvol).fit(spring)
    var = f.predict_batch(spring, start="2021-03-25")[:, 0]
    iv, _ = f.input_values("implied_vol", spring)
    ivvar = iv ** 2 / 365
    rv = forward_variance_matrix(spring, [1])[:, 0]
    t = len(spring) - 1
    ts = spring.index
    known = (ts + np.timedelta64(1, "D") <= ts[t]) & (ts + np.timedelta64(31, "D") > ts[t]) & np.isfinite(iv)
    assert var[t] == pytest.approx(ivvar[t] * np.mean(rv[known] / ivvar[known]), rel=1e-12)
    assert np.isnan(var[ts < "2021-03-26"]).all()                 # warm-up: fewer than 24 known ratios


@pytest.mark.parametrize("name", ["implied", "implied_level"])
def test_batch_equals_streaming(spring, btc_dvol, name):
    make = (lambda: make_forecaster("implied")) if name == "implied" else level()
    batched = forecasts(make, spring, btc_dvol, "2021-03-25", False)
    streamed = forecasts(make, spring, btc_dvol, "2021-03-25", True)
    keep = spring.index >= "2021-03-25"
    assert np.isfinite(batched[-200:]).all()
    np.testing.assert_allclose(streamed[keep], batched[keep], rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("streaming", [False, True], ids=["batched", "streaming"])
@pytest.mark.parametrize("name", ["implied", "implied_level"])
def test_nothing_after_a_bar_moves_its_forecast(spring, btc_dvol, name, streaming):
    make = (lambda: make_forecaster("implied")) if name == "implied" else level()
    assert_causal(make, spring, btc_dvol, "2021-05-20 23:00", "2021-03-25", streaming)
