"""Walk-forward training and the self-refitting LSTM: every forecast comes from a model trained before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.models.lstm_refit import RefittingLSTMForecaster, fold_ends
from lstm_strategies.models.training import TrainConfig
from lstm_strategies.research.walkforward import walk_forward

TINY = {"window": 8, "hidden_size": 2, "max_epochs": 1, "patience": 1, "val_days": 30, "horizons": [1, 7]}


def test_fold_ends_expand_every_n_months():
    index = pd.date_range("2019-01-01", "2021-03-01", freq="1D", tz="UTC")
    ends = fold_ends(index, "2019-12-31", 6)
    assert [e.date().isoformat() for e in ends] == ["2019-12-31", "2020-06-30", "2020-12-31"]


def test_walk_forward_forecasts_are_out_of_sample(tmp_path, capsys):
    cfg = TrainConfig(window=10, hidden_size=4, max_epochs=2, patience=1, calendar="equity")
    path = walk_forward("arch:sp500", "2008-12-31", every_months=48, config=cfg, out=tmp_path, members=1,
                        workers=2, cache_dir=tmp_path / "cache")
    forecasts = pd.read_csv(path, index_col=0, parse_dates=True)
    assert forecasts["fold_train_end"].nunique() == 3
    assert {"var_1d", "var_5d", "var_21d"} <= set(forecasts.columns)
    train_end = pd.to_datetime(forecasts["fold_train_end"], utc=True)
    assert (forecasts.index > train_end).all()              # never forecast a date it trained on
    assert (forecasts.index <= train_end + pd.DateOffset(months=48)).all()  # each fold covers its block
    assert not forecasts.index.duplicated().any()
    assert forecasts.index[0] > pd.Timestamp("2008-12-31", tz="UTC")
    assert forecasts["var_1d"].notna().mean() > 0.95
    assert len(list((tmp_path / "cache").glob("folds/*/model.safetensors"))) == 3
    assert "walk-forward out-of-sample QLIKE" in capsys.readouterr().out


@pytest.fixture(scope="module")
def refit_frame(btc_hourly):
    return window(btc_hourly, "2020-01-01", "2020-06-15")


def make_refitting(cache) -> RefittingLSTMForecaster:
    return RefittingLSTMForecaster(refit_every="1M", first_train_end="2020-04-30", train=TINY, members=1,
                                   cache_dir=str(cache), horizons=[1, 7], head="frozen")


def test_self_refitting_lstm_is_causal_cached_and_streams_the_same(refit_frame, tmp_path):
    f = make_refitting(tmp_path).fit(refit_frame)
    batch = f.predict_batch(refit_frame)
    folds = [entry["train_end"][:10] for entry in f.fold_log]
    assert folds == ["2020-04-30", "2020-05-31"] and not any(e["cached"] for e in f.fold_log)
    assert np.isnan(batch[refit_frame.index <= "2020-04-30 23:00"]).all()
    assert np.isfinite(batch[refit_frame.index > "2020-05-01 00:00"]).all()
    # perturbing bars after a fold end never changes forecasts made before it
    cut = pd.Timestamp("2020-05-31 23:00", tz="UTC")
    perturbed = refit_frame.copy()
    after = perturbed.index > cut
    perturbed.loc[after, ["open", "high", "low", "close"]] *= np.linspace(1.0, 3.0, after.sum())[:, None]
    again = make_refitting(tmp_path).fit(perturbed)
    np.testing.assert_array_equal(again.predict_batch(perturbed)[~after], batch[~after])
    assert again.fold_log[0]["cached"]   # the first fold's rows are unchanged: reused from the cache
    # the streaming path retrains at the same boundaries and gives the same numbers
    f.reset()
    stream = np.array([f.update(row) for _, row in refit_frame.iterrows()])
    np.testing.assert_allclose(stream, batch, rtol=1e-6, equal_nan=True)


def test_self_refitting_lstm_trains_no_fold_before_the_start(refit_frame, tmp_path):
    """Streaming with a start: folds that end before it are never trained; the forecasts from it are
    the batched ones (the first fold read is built at the start and warmed on every bar seen)."""
    def make():
        return RefittingLSTMForecaster(refit_every="1M", first_train_end="2020-03-31", train=TINY, members=1,
                                       cache_dir=str(tmp_path), horizons=[1, 7], head="frozen").fit(refit_frame)

    start = pd.Timestamp("2020-05-20", tz="UTC")
    batched = make()
    batch = batched.predict_batch(refit_frame, start=start)
    f = make()
    f.publish_from(start.value)
    stream = np.array([f.update(row) for _, row in refit_frame.iterrows()])
    read = refit_frame.index >= start
    assert [e["train_end"][:10] for e in f.fold_log] == ["2020-04-30", "2020-05-31"]  # not 2020-03-31
    assert [e["train_end"][:10] for e in batched.fold_log] == ["2020-04-30", "2020-05-31"]
    assert np.isfinite(batch[read]).all()
    np.testing.assert_allclose(stream[read], batch[read], rtol=1e-6)


def test_self_refitting_lstm_validates_its_arguments():
    from lstm_strategies.core.errors import ConfigError

    with pytest.raises(ConfigError, match="refit_every='often'"):
        RefittingLSTMForecaster(refit_every="often")
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['hidden'\]"):
        RefittingLSTMForecaster(train={"hidden": 4})
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['window'\]; FineTuneConfig"):
        RefittingLSTMForecaster(init="crypto-1h", train={"window": 4})
    with pytest.raises(ConfigError, match="head='shrink' uses the prior of the pretrained model"):
        RefittingLSTMForecaster(head="shrink")
    with pytest.raises(ConfigError, match="forecasts horizons \\[1, 7, 30\\]"):
        RefittingLSTMForecaster(init="crypto-1h", horizons=[1, 7])


@pytest.fixture(scope="module")
def young_coin(btc_hourly):
    """A coin listed on 2021-09-01 (BTC's bars from then on), forecast from 2022-01-01."""
    return window(btc_hourly, "2021-09-01", "2022-09-01")


def fine_tuned(cache) -> RefittingLSTMForecaster:
    return RefittingLSTMForecaster(first_train_end="2021-12-31", init="crypto-1h", cache_dir=str(cache))


def test_fine_tuned_folds_start_on_a_short_history_and_say_which_model_forecasts(young_coin, tmp_path, capsys):
    from lstm_strategies.models.lstm import LSTMForecaster

    f = fine_tuned(tmp_path).fit(young_coin)
    out = f.predict_batch(young_coin, start="2022-01-01")
    zero, tuned = f.fold_log
    assert f.head == "shrink" and zero["model"] == "crypto-1h (pretrained, zero-shot)" and not zero["trained"]
    assert "only" in zero["reason"] and "no fold trained to 2021-12-31" in capsys.readouterr().out
    assert tuned["model"] == "fold fine-tuned from crypto-1h" and tuned["train_windows"] >= 1024
    assert np.isfinite(out[young_coin.index >= "2022-01-01"]).all()
    # the first block is the pretrained model zero-shot, bit for bit
    block = (young_coin.index > "2021-12-31 23:00") & (young_coin.index <= "2022-06-30 23:00")
    zero_shot = LSTMForecaster("crypto-1h", head="shrink").fit(young_coin).predict_batch(young_coin)
    np.testing.assert_array_equal(out[block], zero_shot[block])


def test_fine_tuned_folds_are_causal_and_stream_the_same(young_coin, tmp_path):
    batch = fine_tuned(tmp_path).fit(young_coin).predict_batch(young_coin, start="2022-01-01")
    cut = pd.Timestamp("2022-08-01 12:00", tz="UTC")
    perturbed = young_coin.copy()
    after = perturbed.index > cut
    perturbed.loc[after, ["open", "high", "low", "close"]] *= np.linspace(1.0, 2.0, after.sum())[:, None]
    again = fine_tuned(tmp_path).fit(perturbed).predict_batch(perturbed, start="2022-01-01")
    np.testing.assert_array_equal(again[~after], batch[~after])
    f = fine_tuned(tmp_path).fit(young_coin)
    f.publish_from(pd.Timestamp("2022-01-01", tz="UTC").value)
    stream = np.array([f.update(row) for _, row in young_coin.iterrows()])
    read = young_coin.index >= "2022-01-01"
    np.testing.assert_allclose(np.log(stream[read]), np.log(batch[read]), atol=2e-6)


def test_a_from_scratch_fold_too_short_to_train_falls_back_to_a_pretrained_model(refit_frame, tmp_path, capsys):
    from lstm_strategies.models.lstm import LSTMForecaster

    tiny = {k: v for k, v in TINY.items() if k != "horizons"} | {"batch_size": 32, "val_days": 45}
    f = RefittingLSTMForecaster(refit_every="1M", first_train_end="2020-04-15", train=tiny, members=1,
                                cache_dir=str(tmp_path), head="frozen").fit(refit_frame)
    out = f.predict_batch(refit_frame)
    first, second = f.fold_log[:2]
    assert first["model"] == "crypto-1h (pretrained, zero-shot)" and "training and" in first["reason"]
    assert second["model"] == "fold trained from scratch" and second["train_windows"] >= 128
    assert "no fold trained to 2020-04-15" in capsys.readouterr().out
    block = (refit_frame.index > "2020-04-15 23:00") & (refit_frame.index <= "2020-05-15 23:00")
    frozen = LSTMForecaster("crypto-1h", head="frozen").fit(refit_frame).predict_batch(refit_frame)
    np.testing.assert_array_equal(out[block], frozen[block])
    with pytest.raises(Exception, match="only 9 training and 359 validation windows"):
        RefittingLSTMForecaster(refit_every="1M", first_train_end="2020-04-15", train=tiny, members=1,
                                cache_dir=str(tmp_path), head="frozen", fallback=None).fit(refit_frame).predict_batch(
            refit_frame)
