"""The self-refitting LSTM-IV: folds trained on what is known at their end, both paths, causal."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_causal, forecasts, window

from lstm_strategies.forecasters import make_forecaster

TINY = {"window": 12, "hidden_size": 3, "epochs": 1, "val_days": 45, "head_min_train_days": 45,
        "head_refit_every_days": 15, "batch_size": 64}


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2020-12-01", "2021-08-20")


def refit():
    return make_forecaster("lstm_iv_refit", refit_every="1M", first_train_end="2021-06-30", train=TINY, members=1)


def test_batch_equals_streaming_fold_by_fold(bars, btc_dvol):
    f = refit().set_inputs(implied_vol=btc_dvol).fit(bars)
    batched = f.predict_batch(bars, start="2021-07-01")
    assert [e["train_end"][:10] for e in f.fold_log] == ["2021-06-30", "2021-07-31"]
    assert all("correction_kept" in e for e in f.fold_log)
    streamed = forecasts(refit, bars, btc_dvol, "2021-07-01", True)
    keep = bars.index > "2021-06-30 23:00"
    assert np.isfinite(batched[keep]).all() and np.isnan(batched[~keep]).all()
    np.testing.assert_allclose(np.log(streamed[keep]), np.log(batched[keep]), atol=2e-6)


def test_its_folds_are_lstm_iv_models_that_read_the_series(bars, btc_dvol):
    from lstm_strategies.core.errors import ConfigError

    with pytest.raises(ConfigError, match="lstm_iv_refit forecaster reads the exogenous input 'implied_vol'"):
        refit().fit(bars).predict_batch(bars, start="2021-07-01")
    with pytest.raises(ConfigError, match=r"train has unknown field\(s\) \['max_epochs'\]; ImpliedTrainConfig"):
        make_forecaster("lstm_iv_refit", train={"max_epochs": 3})


@pytest.mark.parametrize("streaming", [False, True], ids=["batched", "streaming"])
def test_nothing_after_a_bar_moves_its_forecast(bars, btc_dvol, streaming):
    assert_causal(refit, bars, btc_dvol, "2021-07-20 23:00", "2021-07-01", streaming)
