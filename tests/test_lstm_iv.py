"""The LSTM with implied volatility: its card, both paths, masked fallback, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_causal, forecasts, moved_at_its_close, window

from lstm_strategies.core.errors import CheckpointError, ConfigError
from lstm_strategies.features.implied import IMPLIED_FEATURE_NAMES
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.checkpoint import pretrained_path, read_card


@pytest.fixture(scope="module")
def spring(btc_hourly):
    """Bars across DVOL's start (its first close is known 2021-03-25 00:00)."""
    return window(btc_hourly, "2020-12-01", "2021-05-01")


def lstm_iv():
    return make_forecaster("lstm_iv", min_train_days=60, refit_every_days=14)


@pytest.mark.parametrize("name, source, kept", [("btc-1h-iv", "btc_dvol_daily", [True, True, False]),
                                                ("eth-1h-iv", "eth_dvol_daily", [True, False, False])])
def test_the_bundled_cards_list_their_inputs_and_what_they_learned_on(name, source, kept):
    card = read_card(pretrained_path(name))
    assert card.inputs == ["implied_vol"] and card.feature_names == IMPLIED_FEATURE_NAMES
    assert card.train_end.startswith("2022-12-31") and card.training["implied_source"] == source
    assert pd.Timestamp(card.training["implied_last_known"]) <= pd.Timestamp("2023-01-01", tz="UTC")
    assert card.metrics["correction_kept"] == kept and card.training["epochs"] == 4
    assert card.metrics["train_rows"] == 29982


def test_a_model_and_a_forecaster_must_agree_on_the_inputs():
    with pytest.raises(CheckpointError, match=r"reads the exogenous input\(s\) \['implied_vol'\].*forecaster = "
                                              r"\"lstm_iv\".*\[data\] implied"):
        make_forecaster("lstm", model="btc-1h-iv")
    with pytest.raises(CheckpointError, match=r"reads the bars alone .* \(bundled: btc-1h-iv, eth-1h-iv\)"):
        make_forecaster("lstm_iv", model="btc-1h")


def test_without_its_series_it_refuses_to_forecast(spring):
    f = lstm_iv().fit(spring)
    with pytest.raises(ConfigError, match=r"lstm_iv forecaster reads the exogenous input 'implied_vol'"):
        f.predict_batch(spring)


def test_batch_equals_streaming_and_bars_before_dvol_are_masked_and_recorded(spring, btc_dvol):
    start = "2021-03-01"
    batched = forecasts(lstm_iv, spring, btc_dvol, start, False)
    streamed = forecasts(lstm_iv, spring, btc_dvol, start, True)
    keep = spring.index >= start
    assert np.isfinite(batched[keep]).all()
    np.testing.assert_allclose(np.log(streamed[keep]), np.log(batched[keep]), atol=2e-6)
    f = lstm_iv().set_inputs(implied_vol=btc_dvol).fit(spring)
    f.predict_batch(spring, start=start)
    assert f.input_fallbacks == {"no implied_vol value known at the bar's close": {
        "fallback": "implied-vol inputs masked (as before DVOL existed in training)", "bars": 574,
        "first": "2021-03-01 00:00:00+00:00", "last": "2021-03-24 22:00:00+00:00"}}


def test_a_masked_bar_is_what_the_network_saw_before_dvol(spring, btc_dvol):
    """A series that starts later masks more bars: forecasts with masked inputs equal those of a series
    that has no value there, and differ from those that read one."""
    late = btc_dvol[btc_dvol.index >= "2021-04-10"]
    late.attrs = dict(btc_dvol.attrs)
    full = forecasts(lstm_iv, spring, btc_dvol, "2021-03-01", False)
    cut = forecasts(lstm_iv, spring, late, "2021-03-01", False)
    before = spring.index < "2021-03-24 23:00"
    np.testing.assert_array_equal(cut[before], full[before])
    between = (spring.index >= "2021-03-27") & (spring.index < "2021-04-09")
    assert (cut[between, 0] != full[between, 0]).all()
    np.testing.assert_array_equal(cut[between, 2], full[between, 2])      # 30 days: the head alone


@pytest.mark.parametrize("streaming", [False, True], ids=["batched", "streaming"])
def test_nothing_after_a_bar_moves_its_forecast(spring, btc_dvol, streaming):
    assert_causal(lstm_iv, spring, btc_dvol, "2021-04-10 23:00", "2021-03-01", streaming)


def test_the_value_known_at_a_bars_close_is_used_at_that_bar_where_a_correction_reads_it(spring, btc_dvol):
    moved = moved_at_its_close(lstm_iv, spring, btc_dvol, "2021-04-10 23:00", "2021-03-01")
    assert moved == [[True, True, False]] * 2          # btc-1h-iv corrects 1 and 7 days; 30 days is the head


def test_a_card_naming_an_unknown_input_is_refused(tmp_path):
    import json
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(pretrained_path("btc-1h-iv"), folder)
    card = json.loads((folder / "model.json").read_text())
    card["inputs"] = ["funding_rate"]
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match=r"field 'inputs' = \['funding_rate'\]: exogenous inputs must be "
                                              r"distinct and among \['implied_vol'\]"):
        read_card(folder)
