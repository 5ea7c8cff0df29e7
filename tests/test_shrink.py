"""The shrinkage head: log-HAR at k = 0, the prior at the coin's level without own rows, from day 31, causal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.core.errors import CheckpointError
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.shrink import HeadPrior, ShrinkageHead, design_k_days, level_free_prior
from lstm_strategies.models.lstm import LSTMForecaster

PRIOR = HeadPrior(np.array([0.1, 2.0, 3.5]), np.array([[0.3, 0.4, 0.1], [0.2, 0.3, 0.1], [0.1, 0.1, 0.2]]),
                  design_k_days([1, 7, 30]), coins=["test"], rows=1)


@pytest.fixture(scope="module")
def year(btc_hourly):
    return window(btc_hourly, "2020-01-01", "2021-01-01")


def stream(f, df: pd.DataFrame) -> np.ndarray:
    f.reset()
    cols, ts = df[["open", "high", "low", "close", "volume"]].to_numpy(), df.index.asi8
    return np.array([f.update_fields(int(ts[i]), *cols[i]) for i in range(len(df))])


def test_without_a_prior_weight_it_is_exactly_log_har(year):
    """k = 0 and the first fit at 180 days: the coin's own log-HAR refit, as the baseline computes it."""
    prior = HeadPrior(PRIOR.a, PRIOR.b, np.zeros(3), min_train_days=180, coins=["test"], rows=1)
    mine = ShrinkageHead(prior, horizons=[1, 7, 30]).fit(year).predict_batch(year)
    ref = make_forecaster("log_har", "crypto", horizons=[1, 7, 30]).fit(year).predict_batch(year)
    assert (np.isfinite(mine) == np.isfinite(ref)).all() and np.isfinite(ref).any()
    np.testing.assert_allclose(np.log(mine[np.isfinite(ref)]), np.log(ref[np.isfinite(ref)]), atol=1e-9)


def test_with_no_own_rows_it_is_the_prior_at_the_coins_level(year):
    """The first refit (day 31) has no row with a known target: the prior's dynamics at the coin's level."""
    from lstm_strategies.features.realized import feature_matrix
    from lstm_strategies.forecasters.har import HAR_COLUMNS

    out = ShrinkageHead(PRIOR, horizons=[1, 7, 30]).fit(year).predict_batch(year)
    first = int(np.flatnonzero(np.isfinite(out[:, 0]))[0])
    assert first == 31 * 24                                       # the coin's 31st day
    X = feature_matrix(year, "crypto")[:, HAR_COLUMNS]
    level = X[: first + 1][np.isfinite(X[: first + 1]).all(axis=1), 2].mean()
    expected = np.exp(PRIOR.intercept_at(level) + X[first] @ PRIOR.b.T)
    np.testing.assert_allclose(out[first], expected, rtol=1e-12)


def test_the_own_fit_takes_over_as_days_of_rows_grow(year):
    """w = n / (n + k): with k = 1 day the head is within a few percent of the own refit after a year."""
    fast = HeadPrior(PRIOR.a, PRIOR.b, np.ones(3), coins=["test"], rows=1)
    mine = ShrinkageHead(fast, horizons=[1, 7, 30]).fit(year).predict_batch(year)
    ref = make_forecaster("log_har", "crypto", horizons=[1, 7, 30]).fit(year).predict_batch(year)
    late = year.index >= "2020-12-01"
    assert np.abs(np.log(mine[late]) - np.log(ref[late])).max() < 0.02


def test_streaming_equals_batched_and_nothing_after_a_bar_moves_its_forecast(year):
    head = ShrinkageHead(PRIOR, horizons=[1, 7, 30]).fit(year)
    batched = head.predict_batch(year)
    np.testing.assert_allclose(stream(head, year), batched, rtol=1e-12, equal_nan=True)
    cut = pd.Timestamp("2020-06-15 12:00", tz="UTC")
    perturbed = year.copy()
    late = perturbed.index > cut
    noise = np.exp(np.random.default_rng(0).normal(0, 0.05, late.sum()))[:, None]
    perturbed.loc[late, ["open", "high", "low", "close"]] *= noise
    again = ShrinkageHead(PRIOR, horizons=[1, 7, 30]).fit(perturbed)
    np.testing.assert_array_equal(again.predict_batch(perturbed)[~late], batched[~late])
    np.testing.assert_array_equal(stream(again, perturbed)[~late], stream(head, year)[~late])


def test_the_level_free_prior_of_two_coins(btc_hourly, eth_hourly):
    """The pooled prior's persistence lies in (0, 1) and moving it to a level shifts only the intercept."""
    frames = {"btc": window(btc_hourly, "2020-01-01", "2021-01-01"), "eth": window(eth_hourly, "2020-01-01",
                                                                                     "2021-01-01")}
    prior = level_free_prior(frames, [1, 7, 30], design_k_days([1, 7, 30]))
    persistence = prior.b.sum(axis=1)
    assert ((persistence > 0) & (persistence < 1)).all() and prior.rows > 8000
    np.testing.assert_allclose(prior.intercept_at(-6.0) - prior.intercept_at(-7.0), 1.0 - persistence)
    assert HeadPrior.from_card(prior.to_card()).to_card() == prior.to_card()


def test_crypto_1h_forecasts_a_coin_from_its_31st_day(btc_hourly):
    """The bundled pooled model with head='shrink' on a coin 45 days old (its first forecast once the head has
    fitted and the LSTM has a full window of feature rows, day 32); the refit head waits 180 days."""
    young = window(btc_hourly, "2021-02-01", "2021-03-18")
    model = LSTMForecaster("crypto-1h", head="shrink").fit(young)
    shrink = model.predict_batch(young)
    refit = LSTMForecaster("crypto-1h").fit(young).predict_batch(young)
    first = model.lookback - 1
    assert 31 * 24 <= first < 32 * 24 and model.warmup_bars == model.lookback
    assert np.isfinite(shrink[first:]).all() and np.isnan(shrink[:first]).all()
    assert np.isnan(refit).all()


def test_the_shrink_head_needs_a_prior_in_the_card():
    with pytest.raises(CheckpointError, match="head='shrink' needs a shrinkage prior.*use the bundled crypto-1h"):
        LSTMForecaster("btc-1h", head="shrink")
    with pytest.raises(Exception, match="not \\[2\\]; give k per horizon"):
        design_k_days([1, 2])
