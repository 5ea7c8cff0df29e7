"""Fine-tuned folds: none below the minimum windows (with the reason), a sealed card that says what it
trained on, nothing after the fold end read, and the seeds of a pooled model recovered from its card."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import window

from lstm_strategies.core.errors import CheckpointError
from lstm_strategies.features.realized import feature_matrix
from lstm_strategies.models.checkpoint import load_checkpoint, pretrained_path, save_checkpoint
from lstm_strategies.models.finetune import fine_tune_fold, members_of
from lstm_strategies.models.network import merge_ensemble
from lstm_strategies.models.streaming import RollingWindowLSTM
from lstm_strategies.models.train_config import FineTuneConfig


@pytest.fixture(scope="module")
def pooled():
    return load_checkpoint(pretrained_path("crypto-1h"))


@pytest.fixture(scope="module")
def young(btc_hourly):
    """A coin listed on 2021-09-01 (BTC's bars from then on)."""
    return window(btc_hourly, "2021-09-01", "2022-09-01")


def test_a_short_history_trains_no_fold_and_says_why(pooled, young):
    result = fine_tune_fold(*pooled, young, "2021-12-31")          # 121 days of history
    assert result.network is None and result.card is None and not result.info["trained"]
    assert result.info["val_days"] == pytest.approx(0.25 * result.info["history_days"])
    assert "training and" in result.info["reason"] and "pretrained network kept" in result.info["reason"]
    assert result.info["train_windows"] < FineTuneConfig().min_train_windows


def test_a_fold_records_what_it_trained_on_and_reads_nothing_after_its_end(pooled, young, tmp_path):
    result = fine_tune_fold(*pooled, young, "2022-06-30", init="crypto-1h")   # 302 days: val 75.5 days
    m = result.card.metrics
    assert result.info["trained"] and m["train_rows"] >= 1024 and m["val_rows"] >= 100
    assert m["val_days"] == pytest.approx(0.25 * m["history_days"], abs=1e-3) and m["fine_tuned_from"] == "crypto-1h"
    assert result.card.head_prior == pooled[1].head_prior and result.card.pretraining is None
    assert result.card.train_end.startswith("2022-06-30 23:59") and all(0 <= e <= 5 for e in m["member_best_epoch"])
    save_checkpoint(result.network, result.card, tmp_path / "fold")          # a sealed card
    network, card = load_checkpoint(tmp_path / "fold")
    assert card.metrics["train_rows"] == m["train_rows"]
    # bars after the fold end changed at random: the same fold, bit for bit
    perturbed = young.copy()
    late = perturbed.index > "2022-06-30 23:00"
    perturbed.loc[late, ["open", "high", "low", "close"]] *= np.exp(
        np.random.default_rng(1).normal(0, 0.05, late.sum()))[:, None]
    again = fine_tune_fold(*pooled, perturbed, "2022-06-30", init="crypto-1h")
    assert all(torch.equal(v, again.network.state_dict()[k]) for k, v in result.network.state_dict().items())


def test_the_fold_mixes_the_fine_tuned_and_the_pretrained_correction(pooled, young):
    """mix = 0 is the pretrained network's correction exactly (every epoch of training notwithstanding)."""
    fold = fine_tune_fold(*pooled, young, "2022-06-30", FineTuneConfig(mix=0.0, max_epochs=1))
    feats = feature_matrix(young.iloc[-500:], "crypto")
    np.testing.assert_array_equal(RollingWindowLSTM(fold.network, 48, with_head=False).run(feats),
                                  RollingWindowLSTM(pooled[0], 48, with_head=False).run(feats))


def test_the_seeds_of_a_pooled_model_come_back_from_its_card(pooled, btc_hourly):
    network, card = pooled
    members = members_of(network, card)
    assert len(members) == 3 and [m.correction.bias.tolist() for m in members] == \
        [pytest.approx(b) for b in card.pretraining["member_correction_bias"]]
    feats = feature_matrix(window(btc_hourly, "2022-01-01", "2022-03-01"), "crypto")
    again = RollingWindowLSTM(merge_ensemble(members), 48, with_head=False).run(feats)
    np.testing.assert_allclose(again, RollingWindowLSTM(network, 48, with_head=False).run(feats), atol=1e-6)
    single, single_card = load_checkpoint(pretrained_path("btc-1h"))
    with pytest.raises(CheckpointError, match="pretraining.member_correction_bias"):
        members_of(single, single_card)
