"""Baseline forecasters: batched and streaming paths agree; nothing looks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.forecasters.base import Bar
from lstm_strategies.forecasters.ewma import EWMAForecaster
from lstm_strategies.forecasters.garch import GARCHForecaster
from lstm_strategies.forecasters.har import HARForecaster
from lstm_strategies.forecasters.lstm import load_pretrained


def stream(forecaster, df):
    forecaster.reset()
    return np.array([forecaster.update(Bar(t, *row)) for t, row in
                     zip(df.index, df[["open", "high", "low", "close", "volume"]].to_numpy(), strict=True)])


FACTORIES = {
    "ewma": lambda: EWMAForecaster(burn_in_days=5),
    "har": lambda: HARForecaster(log=False, min_train_days=45, refit_every_days=10),
    "log_har": lambda: HARForecaster(log=True, min_train_days=45, refit_every_days=10),
    "garch": lambda: GARCHForecaster(min_train_days=90, refit_every_days=20),
}


@pytest.fixture(scope="module")
def quarter(btc_hourly):
    return window(btc_hourly, "2022-03-01", "2022-07-15")


@pytest.mark.parametrize("name", FACTORIES)
def test_batch_equals_streaming(name, quarter):
    f = FACTORIES[name]().fit(quarter)
    batch = f.predict_batch(quarter)
    online = stream(f, quarter)
    assert np.isfinite(batch[-100:]).all()
    np.testing.assert_allclose(online, batch, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", FACTORIES)
def test_appending_future_bars_never_changes_past_forecasts(name, quarter):
    cut = pd.Timestamp("2022-06-10 17:00", tz="UTC")
    head = quarter[quarter.index <= cut]
    head.attrs = dict(quarter.attrs)
    f = FACTORIES[name]().fit(quarter)
    np.testing.assert_allclose(f.predict_batch(head), f.predict_batch(quarter)[: len(head)], rtol=1e-9,
                               equal_nan=True)


def test_lstm_batch_equals_streaming_and_is_causal(btc_hourly):
    df = window(btc_hourly, "2022-01-01", "2022-02-20")
    lstm = load_pretrained("btc-1h")
    batch = lstm.predict_batch(df)
    assert np.isnan(batch[: lstm.lookback - 1]).all() and np.isfinite(batch[lstm.lookback - 1:]).all()
    np.testing.assert_allclose(stream(lstm, df), batch, rtol=1e-5, equal_nan=True)
    head = df.iloc[:900]
    np.testing.assert_allclose(lstm.predict_batch(head), batch[:900], rtol=1e-6, equal_nan=True)


def test_forecast_series_annualises(quarter):
    out = EWMAForecaster().forecast_series(quarter)
    assert list(out.columns) == ["var", "vol"]
    last = out.iloc[-1]
    assert last["vol"] == pytest.approx(np.sqrt(last["var"] * 365))
    assert 0.2 < last["vol"] < 1.5  # BTC mid-2022


def test_repr_shows_parameters():
    assert repr(EWMAForecaster(lam=0.97)).startswith("EWMAForecaster(lam=0.97")


def test_baselines_reach_the_published_ballpark(btc_hourly):
    """Next-day RV, BTC/USDT hourly, 2022-01-01 .. 2026-06-30: EWMA ~0.49-0.50, log-HAR ~0.43."""
    from lstm_strategies.evaluation import daily_targets, qlike

    rv, pos = daily_targets(btc_hourly, "2022-01-01")
    ewma = EWMAForecaster().fit(btc_hourly).predict_batch(btc_hourly)[pos]
    log_har = HARForecaster(log=True).fit(btc_hourly).predict_batch(btc_hourly)[pos]
    assert 0.48 < qlike(rv, ewma).mean() < 0.51
    assert 0.42 < qlike(rv, log_har).mean() < 0.44


def test_rolling_window_lstm_is_the_windowed_forward_pass(btc_hourly):
    """One step per bar gives the network's windowed forecast, whatever the chunking."""
    import copy

    import torch

    from lstm_strategies.features import feature_frame

    df = window(btc_hourly, "2022-01-01", "2022-03-01")
    lstm = load_pretrained("btc-1h")
    feats = feature_frame(df).to_numpy()
    rolling = lstm._rolling
    one, many = rolling.run(feats, chunks=1), rolling.run(feats, chunks=64)
    np.testing.assert_array_equal(one, many)  # bit-identical: no cross-chunk rounding
    exact = copy.deepcopy(lstm.model).double()
    x = torch.from_numpy(np.nan_to_num(feats)).unfold(0, lstm.window, 1).permute(0, 2, 1)
    with torch.no_grad():
        reference = exact(x).numpy()
    got = one[lstm.window - 1:]
    ok = np.isfinite(got)
    np.testing.assert_allclose(got[ok], reference[ok], atol=2e-5)  # float32 vs float64 arithmetic


def test_daily_model_batch_equals_streaming():
    """On daily bars too (where a one-bar volume mean once made a feature pure rounding noise)."""
    from lstm_strategies.datasets import load_dataset

    df = load_dataset("arch:sp500")
    df = df[(df.index >= "2010-09-01") & (df.index < "2013-01-01")]
    lstm = load_pretrained("spx-1d")
    batch = lstm.predict_batch(df)
    assert np.isfinite(batch[lstm.lookback - 1:]).all()
    np.testing.assert_allclose(stream(lstm, df), batch, rtol=1e-6, equal_nan=True)
