"""HAR-IV: log-HAR plus log implied variance, refit like log-HAR, falling back to log-HAR (recorded)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_causal, moved_at_its_close, window

from lstm_strategies.forecasters import make_forecaster

SMALL = {"min_train_days": 45, "refit_every_days": 14, "min_iv_days": 20}


@pytest.fixture(scope="module")
def spring(btc_hourly):
    return window(btc_hourly, "2020-12-15", "2021-07-01")


def har_iv():
    return make_forecaster("har_iv", **SMALL)


def test_batch_equals_streaming_and_both_record_the_same_fallbacks(spring, btc_dvol):
    """Before DVOL (2021-03-25) and until 20 days of fit rows exist: log-HAR; in a 5-day hole of the series
    (removed here): log-HAR at the bars without a value less than 3 days old. Both recorded, in both paths."""
    start = "2021-03-01"
    holed = btc_dvol[(btc_dvol.index < "2021-06-01") | (btc_dvol.index > "2021-06-06")]
    holed.attrs = dict(btc_dvol.attrs)
    f = har_iv().set_inputs(implied_vol=holed).fit(spring)
    batched = f.predict_batch(spring, start=start)
    recorded = f.input_fallbacks
    f.reset()
    f.publish_from(start)
    streamed = np.array([f.update(spring.iloc[i]) for i in range(len(spring))])
    keep = spring.index >= start
    np.testing.assert_allclose(streamed[keep], batched[keep], rtol=1e-9)
    assert f.input_fallbacks == recorded
    short = recorded["fewer than 20 days of bars with implied vol and a known target at the refit"]
    assert short["fallback"] == "log-HAR" and short["first"] == "2021-03-01 00:00:00+00:00"
    assert short["last"] < "2021-06"
    hole = recorded["no implied_vol value known at the bar's close"]
    # the last value left is known from 2021-05-31 00:00: stale (> 3 days) at closes after 2021-06-03 00:00
    assert hole == {"fallback": "log-HAR", "bars": 95, "first": "2021-06-03 00:00:00+00:00",
                    "last": "2021-06-06 22:00:00+00:00"}
    log_har = make_forecaster("log_har", min_train_days=45, refit_every_days=14).fit(spring).predict_batch(spring)
    early = keep & (spring.index < "2021-03-24 23:00")
    assert np.isfinite(batched[early]).all()
    np.testing.assert_array_equal(batched[early], log_har[early])
    in_hole = (spring.index >= "2021-06-03") & (spring.index < "2021-06-06 23:00")
    np.testing.assert_array_equal(batched[in_hole], log_har[in_hole])
    late = (spring.index > short["last"]) & ~in_hole
    assert np.all(batched[late] != log_har[late])       # once fitted, the implied regressor moves every forecast


def test_the_fit_is_log_har_plus_log_implied_variance(spring, btc_dvol):
    """At the last refit, the coefficients are OLS of log RV on [1, log RV d/w/m, log IV^2] over the fit rows."""
    from lstm_strategies.features.realized import feature_matrix, forward_variance_matrix
    from lstm_strategies.forecasters.har import HAR_COLUMNS

    f = har_iv().set_inputs(implied_vol=btc_dvol).fit(spring)
    batched = f.predict_batch(spring)
    k = len(spring) - 1 - 24 * 5      # a bar after the last refit point (every 14 days from 2021-03-06)
    base, with_iv = f._fit_at(spring, k)
    iv, _ = f.input_values("implied_vol", spring.iloc[: k + 1])
    X = np.column_stack([np.ones(k + 1), feature_matrix(spring.iloc[: k + 1])[:, HAR_COLUMNS], np.log(iv ** 2)])
    y = np.log(forward_variance_matrix(spring.iloc[: k + 1], [1])[:, 0])
    ok = np.isfinite(X).all(axis=1) & np.isfinite(y)
    beta = np.linalg.lstsq(X[ok], y[ok], rcond=None)[0]
    np.testing.assert_allclose(with_iv[0][0], beta, rtol=1e-8)
    assert np.isfinite(batched[-1]).all()


@pytest.mark.parametrize("streaming", [False, True], ids=["batched", "streaming"])
def test_nothing_after_a_bar_moves_its_forecast(spring, btc_dvol, streaming):
    assert_causal(har_iv, spring, btc_dvol, "2021-06-10 23:00", "2021-03-10", streaming)


def test_the_value_known_at_a_bars_close_is_used_at_that_bar_not_before(spring, btc_dvol):
    assert moved_at_its_close(har_iv, spring, btc_dvol, "2021-06-10 23:00", "2021-03-10") == [[True] * 3] * 2
