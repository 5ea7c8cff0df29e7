"""Fold training: keys that outlive versions, shipped folds that are the folds a run trains, found first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import window

from lstm_strategies.data.bars import fingerprint
from lstm_strategies.features.realized import FEATURE_NAMES
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.checkpoint import read_card
from lstm_strategies.models.folds import SHIPPED_FOLDS, find_fold, fold_key
from lstm_strategies.models.lstm import LSTMForecaster
from lstm_strategies.models.training import TrainConfig, train_ensemble

RACE = {"refit_every": "6M", "first_train_end": "2021-12-31"}


def shipped_index() -> pd.DataFrame:
    """The table benchmarks/ship_folds.py writes beside the folds."""
    lines = [line for line in (SHIPPED_FOLDS / "README.md").read_text().splitlines() if line.startswith("| ")][1:]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return pd.DataFrame(rows, columns=["dataset", "train_end", "key", "val_qlike"])


def test_the_key_is_what_a_fold_trains_on(btc_hourly):
    """Rows, end, configuration (threads included), seeds; not the device. (Not the library version either:
    the shipped folds are found below under the keys they were trained with.)"""
    rows, end = window(btc_hourly, "2020-01-01", "2020-07-01"), pd.Timestamp("2020-06-30 23:59:59.999999999", tz="UTC")
    key = fold_key(rows, end, {"window": 48, "threads": 1}, 3)
    assert fold_key(rows.iloc[:-1], end, {"window": 48, "threads": 1}, 3) != key
    assert fold_key(rows, end, {"window": 48, "threads": 1}, 2) != key
    assert fold_key(rows, end, {"window": 48, "threads": 8}, 3) != key      # threads change the weights
    assert fold_key(rows, end, {"window": 48, "threads": 1, "device": "cuda"}, 3) == key


def test_every_shipped_fold_trained_on_the_bars_up_to_its_end_only(btc_hourly, eth_hourly):
    index = shipped_index()
    assert len(index) == 18 and set(index["dataset"]) == {"btc_usdt_1h", "eth_usdt_1h"}
    frames = {"btc_usdt_1h": btc_hourly, "eth_usdt_1h": eth_hourly}
    for row in index.itertuples():
        card = read_card(SHIPPED_FOLDS / row.key)               # sealed: every field checked
        end = pd.Timestamp(card.train_end)
        df = frames[row.dataset]
        assert str(end.date()) == row.train_end and card.train_fingerprint == fingerprint(df[df.index <= end])


def test_lstm_refit_on_the_shipped_bars_trains_nothing(btc_hourly):
    f = make_forecaster("lstm_refit", "crypto", **RACE, cache_dir="none").fit(btc_hourly)
    out = f.predict_batch(btc_hourly, start="2025-11-01")
    assert [e["train_end"][:10] for e in f.fold_log] == ["2025-06-30", "2025-12-31"]
    assert all(e["cached"] and e["model"] == "fold trained from scratch" for e in f.fold_log)
    assert np.isfinite(out[btc_hourly.index >= "2025-11-01"]).all()


@pytest.mark.slow
def test_a_shipped_fold_is_the_fold_a_run_trains(btc_hourly):
    """The first BTC fold trained here (3 seeds, one thread, ~10 s) is the shipped one: bit for bit on the Intel
    machine that trained the folds (AVX-512 or AVX2 kernels), to float32 rounding on others (an AMD EPYC with AVX2
    gives weights within 1.1e-7 and the same validation QLIKE to the 8th digit); its forecasts agree to 1e-5."""
    f = make_forecaster("lstm_refit", "crypto", **RACE).fit(btc_hourly)
    end, config = f._ends(btc_hourly.index)[0], f._train_config()
    seen = btc_hourly[btc_hourly.index <= end]
    shipped, card, where = find_fold(fold_key(seen, end, config, f.members), None, FEATURE_NAMES)
    assert where == "shipped"
    trained = train_ensemble(seen, str(end), TrainConfig(**config), members=f.members, progress=False)
    for name, value in trained.model.state_dict().items():
        torch.testing.assert_close(value, shipped.state_dict()[name], rtol=0, atol=1e-6, msg=name)
    assert trained.card.metrics["val_qlike"] == pytest.approx(card.metrics["val_qlike"], abs=1e-6)
    later = window(btc_hourly, "2021-06-01", "2022-02-01")
    a = LSTMForecaster.from_network(trained.model, trained.card).predict_batch(later)
    b = LSTMForecaster.from_network(shipped, card).predict_batch(later)
    assert np.isfinite(a[-24 * 30:]).all()
    np.testing.assert_allclose(a, b, rtol=1e-5)
