"""Baseline forecasters: batched and streaming paths agree; nothing looks ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.core.errors import ConfigError, DataError, NotFittedError
from lstm_strategies.data.bars import Bar
from lstm_strategies.forecasters import Forecaster, forecaster_names, forecaster_params, make_forecaster
from lstm_strategies.forecasters.ewma import EWMAForecaster
from lstm_strategies.forecasters.garch import GARCHForecaster
from lstm_strategies.forecasters.har import HARForecaster, LogHARForecaster
from lstm_strategies.models.lstm import LSTMForecaster, load_pretrained


def stream(forecaster, df):
    forecaster.reset()
    return np.array([forecaster.update(Bar(t, *row)) for t, row in
                     zip(df.index, df[["open", "high", "low", "close", "volume"]].to_numpy(), strict=True)])


FACTORIES = {
    "ewma": lambda: EWMAForecaster(burn_in_days=5),
    "har": lambda: HARForecaster(min_train_days=45, refit_every_days=10),
    "log_har": lambda: LogHARForecaster(min_train_days=45, refit_every_days=10),
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


QUIET_FACTORIES = {
    **FACTORIES,
    "lstm_refit_head": lambda: LSTMForecaster("btc-1h", min_train_days=45, refit_every_days=10),
    "lstm_shrink_head": lambda: LSTMForecaster("crypto-1h", head="shrink"),
}


@pytest.mark.parametrize("name", QUIET_FACTORIES)
def test_streaming_after_publish_from_gives_the_batched_forecasts(name, quarter):
    """Refits due before `publish_from` are deferred, not skipped: every forecast read is unchanged."""
    f = QUIET_FACTORIES[name]().fit(quarter)
    start = pd.Timestamp("2022-06-01", tz="UTC")
    batch = f.predict_batch(quarter)
    f.reset()
    f.publish_from(start.value)
    online = np.array([f.update(row) for _, row in quarter.iterrows()])
    read = quarter.index >= start
    if name != "ewma":  # the refit forecasters skip work long before the start (EWMA's recursion costs nothing)
        assert np.isnan(online[~read][:-100]).all()
    assert np.isfinite(batch[read]).all()
    np.testing.assert_allclose(online[read], batch[read], rtol=1e-6)


def test_lstm_waiting_for_its_start_is_exact_across_a_gap_in_the_bars(btc_hourly):
    """Five days missing just before the start (longer than any window): the recurrent state is
    rebuilt from the bars, not from the clock, so the first forecasts read are the batched ones."""
    df = window(btc_hourly, "2022-01-01", "2022-03-01")
    df = df[(df.index < "2022-02-10") | (df.index >= "2022-02-15")]
    start = pd.Timestamp("2022-02-15 06:00", tz="UTC")
    lstm = LSTMForecaster("btc-1h", head="frozen").fit(df)
    batch = lstm.predict_batch(df)
    lstm.reset()
    lstm.publish_from(start.value)
    online = np.array([lstm.update(row) for _, row in df.iterrows()])
    read = df.index >= start
    assert np.isfinite(batch[read]).all()
    np.testing.assert_allclose(online[read], batch[read], rtol=1e-6)


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
    lstm = LSTMForecaster("btc-1h", head="frozen")
    batch = lstm.predict_batch(df)
    assert np.isnan(batch[: lstm.lookback - 1]).all() and np.isfinite(batch[lstm.lookback - 1:]).all()
    np.testing.assert_allclose(stream(lstm, df), batch, rtol=1e-5, equal_nan=True)
    head = df.iloc[:900]
    np.testing.assert_allclose(lstm.predict_batch(head), batch[:900], rtol=1e-6, equal_nan=True)


def test_refit_head_is_the_log_har_baseline_times_the_correction(btc_hourly):
    """With the refit head the LSTM forecast is log-HAR's (same schedule) times exp(correction)."""
    df = window(btc_hourly, "2021-06-01", "2022-03-01")
    refit = LSTMForecaster("btc-1h", min_train_days=90).fit(df)
    base = LogHARForecaster(min_train_days=90).fit(df).predict_batch(df)
    got = refit.predict_batch(df)
    correction = refit.predict_features(refit_features(df))
    np.testing.assert_allclose(got, base * correction, rtol=1e-12, equal_nan=True)
    assert np.isfinite(got[-500:]).all()
    np.testing.assert_allclose(stream(refit, df), got, rtol=1e-6, equal_nan=True)
    refit.check_out_of_sample(pd.Timestamp("2022-01-01", tz="UTC"))  # the guard still applies


def refit_features(df):
    from lstm_strategies.features.realized import feature_matrix

    return feature_matrix(df, "crypto", "1h")


def test_forecast_series_annualises_every_horizon(quarter):
    out = EWMAForecaster().forecast_series(quarter)
    assert list(out.columns) == ["var_1d", "var_7d", "var_30d", "vol_1d", "vol_7d", "vol_30d"]
    last = out.iloc[-1]
    assert last["vol_1d"] == pytest.approx(np.sqrt(last["var_1d"] * 365))
    assert last["var_30d"] == pytest.approx(30 * last["var_1d"])  # EWMA's term structure is flat
    assert 0.2 < last["vol_1d"] < 1.5  # BTC mid-2022


def test_term_structures_of_the_baselines(quarter):
    """log-HAR and GARCH have their own slope; every horizon's variance grows with the horizon."""
    for name in ("log_har", "garch"):
        var = FACTORIES[name]().fit(quarter).predict_batch(quarter)[-1]
        assert var.shape == (3,) and 0 < var[0] < var[1] < var[2]
        per_day = var / np.array([1, 7, 30])
        assert not np.allclose(per_day, per_day[0], rtol=1e-3)  # not flat


def test_repr_shows_parameters():
    assert repr(EWMAForecaster(lam=0.97)).startswith("EWMAForecaster(lam=0.97")


@pytest.mark.parametrize("name, kwargs, message", [
    ("ewma", {"lam": 1.5}, r"EWMAForecaster.lam = 1.5: must be in \(0, 1\)"),
    ("ewma", {"lam": "0.9"}, r"EWMAForecaster.lam = '0.9': must be a number"),
    ("ewma", {"burn_in_days": 0}, r"EWMAForecaster.burn_in_days = 0: must be a whole number >= 1"),
    ("garch", {"dist": "cauchy"}, r"GARCHForecaster.dist = 'cauchy': choose one of"),
    ("har", {"refit_every_days": 2.5}, r"HARForecaster.refit_every_days = 2.5: must be a whole number"),
    ("log_har", {"horizons": [7, 1]}, r"distinct and increasing"),
    ("ewma", {"calendar": "lunar"}, r"calendar 'lunar' is unknown"),
    ("ewma", {"lambda_": 0.9}, r"does not take \['lambda_'\]"),
    ("prophet", {}, r"forecaster 'prophet' is unknown"),
])
def test_arguments_are_validated_at_construction(name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_forecaster(name, **kwargs)


def test_registry_declares_each_parameter_once():
    assert set(forecaster_names()) >= {"lstm", "lstm_refit", "ewma", "garch", "har", "log_har", "har_iv", "implied",
                                       "implied_level"}
    assert forecaster_params("ewma") == {"lam": 0.94, "burn_in_days": 30, "horizons": None}
    assert forecaster_params("lstm") == {"model": "btc-1h", "head": "refit", "min_train_days": 180,
                                         "refit_every_days": 30, "head_window": "expanding", "head_window_days": None,
                                         "level_correction": "off", "level_window_days": 180, "level_shrink": 1.0,
                                         "level_min_days": 30}


def test_an_unfitted_forecaster_refuses_to_predict(quarter):
    f = EWMAForecaster()
    with pytest.raises(NotFittedError, match="call fit"):
        f.predict_batch(quarter)
    with pytest.raises(NotFittedError):
        f.update(quarter.iloc[0])


def test_state_is_built_by_reset_and_reset_restarts(quarter):
    f = LogHARForecaster(min_train_days=45, refit_every_days=10).fit(quarter)
    first = stream(f, quarter)
    again = stream(f, quarter)  # stream() calls reset() first
    np.testing.assert_array_equal(first, again)


def test_update_accepts_a_pandas_row_a_dict_and_a_tuple(quarter):
    f = EWMAForecaster(burn_in_days=1).fit(quarter)
    rows = quarter.iloc[:30]
    by_row = [f.update(rows.iloc[i]) for i in range(len(rows))][-1]
    f.reset()
    by_tuple = [f.update((t, *r)) for t, r in zip(rows.index, rows.to_numpy(), strict=True)][-1]
    f.reset()
    by_dict = [f.update({"timestamp": t, **r}) for t, r in zip(rows.index, rows.to_dict("records"), strict=True)][-1]
    np.testing.assert_array_equal(by_row, by_tuple)
    np.testing.assert_array_equal(by_row, by_dict)
    with pytest.raises(DataError, match="cannot read str"):
        f.update("2022-01-01,1,2,3")


def test_baselines_reach_the_published_ballpark(btc_hourly):
    """Next-day RV, BTC/USDT hourly, 2022-01-01 .. 2026-06-30: EWMA ~0.49-0.50, log-HAR ~0.43."""
    from lstm_strategies.research.evaluation import daily_targets, qlike

    rv, pos = daily_targets(btc_hourly, "2022-01-01")
    ewma = EWMAForecaster().fit(btc_hourly).predict_batch(btc_hourly)[pos, 0]
    log_har = LogHARForecaster().fit(btc_hourly).predict_batch(btc_hourly)[pos, 0]
    assert 0.48 < qlike(rv, ewma).mean() < 0.51
    assert 0.42 < qlike(rv, log_har).mean() < 0.44


def test_rolling_window_lstm_is_the_windowed_forward_pass(btc_hourly):
    """One step per bar gives the network's windowed forecast, whatever the chunking."""
    import copy

    import torch

    from lstm_strategies.features.realized import feature_frame

    df = window(btc_hourly, "2022-01-01", "2022-03-01")
    lstm = LSTMForecaster("btc-1h", head="frozen")
    feats = feature_frame(df).to_numpy()
    rolling = lstm._rolling
    assert one_shape_ok(rolling.run(feats[:100]))
    one, many = rolling.run(feats, chunks=1), rolling.run(feats, chunks=64)
    np.testing.assert_array_equal(one, many)  # bit-identical: no cross-chunk rounding
    exact = copy.deepcopy(lstm.network).double()
    x = torch.from_numpy(np.nan_to_num(feats)).unfold(0, lstm.window, 1).permute(0, 2, 1)
    with torch.no_grad():
        reference = exact(x).numpy()
    got = one[lstm.window - 1:]
    ok = np.isfinite(got)
    np.testing.assert_allclose(got[ok], reference[ok], atol=2e-5)  # float32 vs float64 arithmetic
    # the streaming step (numpy) gives the batched pass's (torch) numbers to float32 rounding
    rolling.reset()
    first = int(np.flatnonzero(np.isfinite(feats).all(axis=1))[0])
    streamed = np.array([rolling.update(row) for row in feats[first: first + 800]])
    w = lstm.window
    np.testing.assert_allclose(streamed[w - 1:], one[first + w - 1: first + 800], rtol=0, atol=2e-6)


def one_shape_ok(out: np.ndarray) -> bool:
    return out.shape == (100, 3)


def test_daily_model_batch_equals_streaming():
    """On daily bars too (where a one-bar volume mean once made a feature pure rounding noise)."""
    from lstm_strategies.data.datasets import load_dataset

    df = load_dataset("arch:sp500")
    df = df[(df.index >= "2010-01-01") & (df.index < "2013-01-01")]
    lstm = load_pretrained("spx-1d")
    assert lstm.head == "refit"
    batch = lstm.predict_batch(df)
    assert np.isfinite(batch[lstm.warmup_bars + 5:]).all()
    np.testing.assert_allclose(stream(lstm, df), batch, rtol=1e-6, equal_nan=True)


# -- the life cycle cannot be forgotten ------------------------------------------------------------

class _Last3(Forecaster):
    """A forecaster on the default streaming path (the base's buffer of `lookback` bars)."""

    def __init__(self, *, calendar: str = "crypto", horizons=None, timeframe: str | None = None):
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    @property
    def lookback(self) -> int:
        return 3

    def _predict_batch(self, df, first=0):
        r2 = np.log(df["close"]).diff().pow(2).rolling(2).mean().to_numpy()
        return np.repeat(r2[:, None], len(self.horizons), axis=1)


def test_reset_clears_the_default_buffer_even_in_a_copy(btc_hourly):
    import copy

    bars = btc_hourly.iloc[:5]
    f = _Last3().bind("1h")
    for i in range(3):
        f.update(bars.iloc[i])
    twin = copy.copy(f)
    twin.reset()
    assert twin._buffer is None and f._buffer is not None and len(f._buffer) == 3
    assert np.isnan(twin.update(bars.iloc[3])).all()  # a fresh warm-up, not the original's bars
    f.reset()
    assert f._buffer is None and not f.initialized


def test_reset_is_final():
    with pytest.raises(TypeError, match="reset\\(\\) is final"):
        class Forgetful(_Last3):  # noqa: F841
            def reset(self):
                pass


def test_every_hook_runs_along_the_hierarchy_base_first():
    calls = []

    class A(_Last3):
        def _reset(self):
            calls.append("A")

    class B(A):
        def _reset(self):  # no super() needed, none called
            calls.append("B")

    B()
    assert calls == ["A", "B"]


def test_importing_the_forecasters_and_indicators_loads_no_torch():
    import subprocess
    import sys

    code = "import sys, lstm_strategies.trading.indicators, lstm_strategies.forecasters; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
