"""Training the LSTM-IV: reproducible, reads nothing after its end, sealed with its inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import perturb_after, window

from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.checkpoint import load_checkpoint, save_checkpoint
from lstm_strategies.models.training_iv import ImpliedTrainConfig, series_digest, train_implied_lstm

TINY = ImpliedTrainConfig(window=12, hidden_size=3, epochs=1, val_days=45, head_min_train_days=45,
                          head_refit_every_days=15, batch_size=64)


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2020-12-01", "2021-08-15")


@pytest.fixture(scope="module")
def trained(bars, btc_dvol):
    return train_implied_lstm(bars, btc_dvol, "2021-07-31", TINY, members=2)


def states_equal(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_card_records_inputs_gates_and_the_series_trained_on(trained, btc_dvol):
    card = trained.card
    assert card.inputs == ["implied_vol"] and card.training["design"] == "lstm_iv"
    assert card.training["loss_weights"] == [1.0, 1.0, 0.0] and card.metrics["correction_kept"][2] is False
    assert len(card.metrics["val_qlike_ratio_to_head"]) == 3 and card.metrics["val_origins"] == 45
    used = btc_dvol[btc_dvol.index <= "2021-08-01 00:59"]
    assert card.training["implied_sha256"] == series_digest(used)
    assert card.train_end.startswith("2021-07-31 23:59:59")
    # gated-off horizons forecast with the head alone: their read-out is zero
    for j, kept in enumerate(card.metrics["correction_kept"]):
        assert bool(trained.model.correction.weight[j].abs().sum() > 0) == kept


def test_the_same_seed_gives_the_same_network_and_nothing_after_the_end_is_read(trained, bars, btc_dvol):
    again = train_implied_lstm(bars, btc_dvol, "2021-07-31", TINY, members=2)
    assert states_equal(again.model, trained.model)
    late_bars, late_iv = perturb_after(bars, btc_dvol, bars.index[bars.index <= "2021-07-31 23:00"][-1])
    cut = train_implied_lstm(late_bars, late_iv, "2021-07-31", TINY, members=2)
    assert states_equal(cut.model, trained.model)
    other = train_implied_lstm(bars, btc_dvol, "2021-07-31", ImpliedTrainConfig(**{**TINY.__dict__, "seed": 5}), 2)
    assert not states_equal(other.model, trained.model)
    assert torch.get_num_threads() >= 1


def test_a_saved_model_loads_as_an_lstm_iv(trained, bars, btc_dvol, tmp_path):
    save_checkpoint(trained.model, trained.card, tmp_path / "m")
    net, card = load_checkpoint(tmp_path / "m", expected_inputs=("implied_vol",))
    assert states_equal(net, trained.model) and card.inputs == ["implied_vol"]
    f = make_forecaster("lstm_iv", model=str(tmp_path / "m"), min_train_days=45, refit_every_days=15)
    var = f.set_inputs(implied_vol=btc_dvol).fit(bars).predict_batch(bars, start="2021-08-01")
    assert np.isfinite(var[-24:]).all()
