"""Training: reproducible, no look-ahead in the split or the scaler, and it learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import window

from lstm_strategies.models.network import VolatilityLSTM, merge_ensemble, qlike_loss
from lstm_strategies.models.training import TrainConfig, make_dataset, train_lstm

FAST = dict(window=12, hidden_size=4, max_epochs=2, patience=2, val_days=60, batch_size=256)


@pytest.fixture(scope="module")
def small(btc_hourly):
    return window(btc_hourly, "2020-06-01", "2021-03-01")


def test_seeded_training_reproduces_exactly(small):
    a = train_lstm(small, "2021-01-31", TrainConfig(seed=3, **FAST), progress=False)
    b = train_lstm(small, "2021-01-31", TrainConfig(seed=3, **FAST), progress=False)
    for (ka, va), (kb, vb) in zip(a.model.state_dict().items(), b.model.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    assert [h["val_qlike"] for h in a.history] == [h["val_qlike"] for h in b.history]


def test_nothing_after_train_end_is_read_and_the_scaler_sees_training_rows_only(small):
    """Changing every bar after the training rows cannot change the scaler or the weights."""
    res = train_lstm(small, "2021-01-31", TrainConfig(seed=0, **FAST), progress=False)
    poisoned = small.copy()
    after = poisoned.index > pd.Timestamp("2021-01-31 23:59", tz="UTC")
    poisoned.loc[after, ["open", "high", "low", "close"]] *= 7.0
    res2 = train_lstm(poisoned, "2021-01-31", TrainConfig(seed=0, **FAST), progress=False)
    assert torch.equal(res.model.feature_mean, res2.model.feature_mean)
    # the scaler equals the statistics of the rows before the validation embargo
    from lstm_strategies.features.realized import FEATURE_NAMES
    from lstm_strategies.models.network import relative_form

    feats, _, _ = make_dataset(small, FAST["window"], [1, 7, 30])
    feats = feats @ relative_form(FEATURE_NAMES).T   # the LSTM's inputs are the scale-free form
    # the embargo before validation is the window plus the longest horizon (30 days)
    train_end = pd.Timestamp(res.card.metrics["val_start"]) - pd.Timedelta(hours=FAST["window"] + 30 * 24)
    rows = feats[(small.index < train_end)]
    expected = np.nanmean(rows[np.isfinite(rows).all(axis=1)], axis=0)
    np.testing.assert_allclose(res.model.feature_mean.numpy(), expected, rtol=1e-4, atol=1e-5)
    # validation rows (within train_end) cannot see the poisoned rows either
    assert res.card.metrics["val_qlike"] == res2.card.metrics["val_qlike"]


def test_card_describes_the_training_window(small):
    res = train_lstm(small, "2021-01-31", TrainConfig(seed=0, **FAST), progress=False)
    assert res.card.train_end.startswith("2021-01-31 23:59")
    assert res.card.metrics["train_rows"] > 0 and res.card.metrics["val_rows"] > 0
    assert res.card.horizons == [1, 7, 30] and res.card.training["weight_decay"] == TrainConfig().weight_decay
    assert res.history[0]["epoch"] == 0  # the log-HAR starting point is recorded


def simulate_garch_ohlcv(n_days: int, seed: int = 0) -> pd.DataFrame:
    """Hourly bars from a GARCH(1,1) on hourly returns (arch's simulator)."""
    from arch.univariate import GARCH, Normal, ZeroMean

    # arch's simulator draws from the distribution's own generator: seed it (the global state is not used)
    sim = ZeroMean(None, volatility=GARCH(p=1, q=1), distribution=Normal(seed=np.random.default_rng(seed)))
    path = sim.simulate([0.02, 0.10, 0.88], n_days * 24, burn=500, initial_value=None)
    rng = np.random.default_rng(seed)
    r = path["data"].to_numpy() / 100.0
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.concatenate([[100.0], close[:-1]])
    wiggle = np.abs(rng.normal(0, 0.3, len(r))) * np.abs(r)
    frame = pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * (1 + wiggle),
                          "low": np.minimum(open_, close) * (1 - wiggle), "close": close,
                          "volume": rng.uniform(1, 2, len(r))},
                         index=pd.date_range("2020-01-01", periods=len(r), freq="1h", tz="UTC").as_unit("ns"))
    frame.attrs["timeframe"] = "1h"
    return frame


def test_learns_on_garch_data_better_than_a_constant():
    df = simulate_garch_ohlcv(400)
    res = train_lstm(df, "2021-02-03", TrainConfig(seed=0, window=12, hidden_size=8, max_epochs=4,
                                                    val_days=60, horizons=[1]), progress=False)
    feats, target, ends = make_dataset(df, 12, [1])
    val = ends[df.index[ends] >= pd.Timestamp(res.card.metrics["val_start"])]
    val = val[df.index[val] <= pd.Timestamp("2021-02-02", tz="UTC")]
    x = torch.from_numpy(np.nan_to_num(feats).astype(np.float32)).unfold(0, 12, 1).permute(0, 2, 1)[val - 11]
    y = torch.from_numpy(target[val].astype(np.float32))
    with torch.no_grad():
        model_loss = float(qlike_loss(res.model(x), y))
    constant = torch.full_like(y, float(np.log(target[ends[: len(ends) // 2]].mean())))
    assert model_loss < 0.9 * float(qlike_loss(constant, y))


def test_merged_ensemble_equals_the_mean_of_its_members():
    torch.manual_seed(0)
    members = []
    for _ in range(3):
        m = VolatilityLSTM(10, 6, n_horizons=3)
        for p in m.parameters():
            torch.nn.init.normal_(p, std=0.3)
        members.append(m.eval())
    x = torch.randn(7, 20, 10)
    with torch.no_grad():
        expected = torch.stack([m(x) for m in members]).mean(0)
        merged = merge_ensemble(members)(x)
        assert merged.shape == (7, 3)
        torch.testing.assert_close(merged, expected, rtol=1e-5, atol=1e-5)


def test_training_defaults_live_in_one_place():
    """The CLI's defaults are TrainConfig's (window 48, hidden 8, weight decay 1e-3)."""
    from lstm_strategies.cli.app import build_parser
    from lstm_strategies.cli.train import _train_config

    args = build_parser().parse_args(["train", "--data", "x", "--train-end", "2021-12-31", "--out", "o"])
    cfg = TrainConfig()
    assert (args.window, args.hidden, args.weight_decay, args.lr, _train_config(args).max_epochs) == (
        cfg.window, cfg.hidden_size, cfg.weight_decay, cfg.lr, cfg.max_epochs) == (48, 8, 1e-3, 1e-3, 30)
    assert args.epochs is None  # resolved per design: early stopping (30 at most) or the LSTM-IV's fixed 4
