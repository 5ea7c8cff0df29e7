"""Pooled pretraining: one coin is the library's training, two coins give a sealed card with the prior."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import window

from lstm_strategies.core.errors import DataError
from lstm_strategies.data.bars import end_of_day
from lstm_strategies.models.checkpoint import load_checkpoint, save_checkpoint
from lstm_strategies.models.lstm import LSTMForecaster
from lstm_strategies.models.training import TrainConfig, WindowSplit, train_lstm
from lstm_strategies.models.training_pooled import train_member, train_pooled

FAST = dict(window=12, hidden_size=4, max_epochs=2, patience=2, val_days=60, batch_size=256)


@pytest.fixture(scope="module")
def coins(btc_hourly, eth_hourly):
    return {"btc_usdt_1h": window(btc_hourly, "2020-06-01", "2021-03-01"),
            "eth_usdt_1h": window(eth_hourly, "2020-06-01", "2021-03-01")}


def test_one_coin_is_the_librarys_training(coins):
    """Per-coin heads with a single coin train the network train_lstm trains (to float32 rounding of the
    head's product: einsum against Linear), with the same validation loss and best epoch."""
    df, cfg = coins["btc_usdt_1h"], TrainConfig(seed=1, **FAST)
    ref = train_lstm(df, "2021-01-31", cfg, progress=False)
    end = end_of_day("2021-01-31")
    net, heads, best, epoch, _ = train_member([WindowSplit.of(df[df.index <= end], end, cfg)], cfg)
    assert best == pytest.approx(ref.card.metrics["val_qlike"], abs=1e-6) and epoch == ref.card.metrics["best_epoch"]
    for name, value in ref.model.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[name].numpy(), value.numpy(), atol=1e-6, err_msg=name)
    np.testing.assert_allclose(heads[0][0], ref.model.har.weight.detach().numpy(), atol=1e-6)


def test_two_coins_give_one_sealed_network_with_the_prior_and_each_seeds_bias(coins, tmp_path):
    res = train_pooled(coins, "2021-01-31", TrainConfig(**FAST), members=2, progress=False)
    card = res.card
    assert card.pretraining["coins"] == ["btc_usdt_1h", "eth_usdt_1h"] and card.source == "btc_usdt_1h,eth_usdt_1h"
    assert card.metrics["train_rows"] == sum(r["train"] for r in card.pretraining["rows"].values())
    assert len(card.pretraining["member_correction_bias"]) == 2 and card.architecture["ensemble_members"] == 2
    assert card.head_prior["k_days"] == [1000.0, 240.0, 480.0] and card.head_prior["coins"] == list(coins)
    # nothing after train_end is read: every row of the prior's fits and the windows ends by it
    assert card.train_end.startswith("2021-01-31 23:59") and len(card.metrics["correction_kept"]) == 3
    save_checkpoint(res.model, card, tmp_path / "pooled")
    network, loaded = load_checkpoint(tmp_path / "pooled")
    assert loaded.head_prior == card.head_prior and loaded.pretraining == card.pretraining
    assert all(torch.equal(v, res.model.state_dict()[k]) for k, v in network.state_dict().items())
    later = coins["eth_usdt_1h"]
    forecast = LSTMForecaster(str(tmp_path / "pooled"), head="shrink").fit(later).predict_batch(later)
    assert np.isfinite(forecast[-24:]).all()


def test_a_coin_too_short_for_the_split_is_named(coins):
    short = {**coins, "new_coin": window(coins["eth_usdt_1h"], "2021-01-01", "2021-03-01")}
    with pytest.raises(DataError, match="new_coin: only 0 training"):
        train_pooled(short, "2021-01-31", TrainConfig(**FAST), members=1, progress=False)
