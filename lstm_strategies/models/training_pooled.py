"""Pooled pretraining: one LSTM correction trained on several coins at once (the bundled ``crypto-1h``).

The library's protocol (:mod:`lstm_strategies.models.training`) applied per coin and pooled:

* each coin is cut at ``train_end`` before anything is computed and split as one coin is (training
  windows, an embargo of window + the longest horizon, the last ``val_days`` for validation);
* one feature scaler is fitted on every coin's training rows (the inputs are scale-free, so the
  coins share it); the windows of all coins are shuffled together;
* **one log-HAR head per coin** during training (coin fixed effects: initialised by OLS on that
  coin's training rows, trained at ``har_lr``), so the shared correction is learned on top of heads at
  each coin's own level, as it is used at inference (the refit or the shrinkage head);
* early stopping on the pooled validation QLIKE (epoch 0 is log-HAR), seeds merged block-diagonally,
  and each horizon keeps its correction only where it lowers the pooled validation QLIKE (each coin on
  its own head);
* the card stores the shrinkage head's prior (:func:`~lstm_strategies.forecasters.shrink.level_free_prior`
  of the coins, with the design's ``k``) and each seed's read-out bias (fine-tuning starts from them).

With one coin the training loop is :func:`~lstm_strategies.training.train_lstm`'s (tested). Design:
``docs/research/every_coin/REPORT.md`` sections 1 and 4.2 (chosen on BTC/ETH up to 2021-12-31).
"""

from __future__ import annotations

import copy
import hashlib

import numpy as np
import pandas as pd
import torch

from lstm_strategies.core.errors import DataError
from lstm_strategies.data.bars import end_of_day, fingerprint, infer_timeframe, timeframe_label
from lstm_strategies.features.realized import FEATURE_NAMES
from lstm_strategies.models.checkpoint import ModelCard
from lstm_strategies.models.network import VolatilityLSTM, merge_ensemble, qlike_loss, zero_corrections
from lstm_strategies.models.train_config import TrainConfig
from lstm_strategies.models.training import (
    TrainResult,
    WindowSplit,
    _ols_log_har,
    new_network,
    run_epochs,
    seed_everything,
    training_threads,
)


class PooledNet(torch.nn.Module):
    """A :class:`VolatilityLSTM` and one log-HAR head per coin (coin fixed effects), for training."""

    def __init__(self, net: VolatilityLSTM, n_coins: int):
        super().__init__()
        self.net = net
        n_horizons = net.har.weight.shape[0]
        self.head_w = torch.nn.Parameter(torch.zeros(n_coins, n_horizons, len(net.har_idx)))
        self.head_b = torch.nn.Parameter(torch.zeros(n_coins, n_horizons))

    def heads(self, x: torch.Tensor, coin: torch.Tensor) -> torch.Tensor:
        """Each window's log-HAR forecast with its own coin's head: ``(batch, H)``."""
        return torch.einsum("bk,bhk->bh", x[:, -1, self.net.har_idx], self.head_w[coin]) + self.head_b[coin]

    def forward(self, x: torch.Tensor, coin: torch.Tensor) -> torch.Tensor:
        return self.heads(x, coin) + self.net.correction_of(x)


def pooled_windows(splits: list[WindowSplit], which: str, window: int):
    """Windows, targets and coin index of every coin's ``"train_rows"`` or ``"val_rows"``, concatenated."""
    parts = [split.windows(which, window) for split in splits]
    coins = [torch.full((len(getattr(s, which)),), i, dtype=torch.long) for i, s in enumerate(splits)]
    return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts]), torch.cat(coins)


def train_member(splits: list[WindowSplit], cfg: TrainConfig, progress: bool = False):
    """One seed: returns ``(network, [(coef (H, 3), intercept (H,)) per coin], best val QLIKE, best epoch, seconds)``;
    the network's own head is the first coin's."""
    seed_everything(cfg.seed)
    horizons = cfg.resolved_horizons()
    net = new_network(cfg, lambda amap: np.concatenate([s.scaler_rows(amap, cfg.window) for s in splits]), horizons)
    model = PooledNet(net, len(splits))
    with torch.no_grad():
        for i, split in enumerate(splits):
            coef, intercept = _ols_log_har(split.feats, split.target, split.train_rows)
            model.head_w[i] = torch.tensor(coef, dtype=torch.float32)
            model.head_b[i] = torch.tensor(intercept, dtype=torch.float32)
    x_tr, y_tr, c_tr = pooled_windows(splits, "train_rows", cfg.window)
    x_va, y_va, c_va = pooled_windows(splits, "val_rows", cfg.window)
    optimizer = torch.optim.Adam([
        {"params": [p for name, p in net.named_parameters() if not name.startswith("har.")], "lr": cfg.lr},
        {"params": [model.head_w, model.head_b], "lr": cfg.har_lr},
    ], weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)
    best, epoch, history = run_epochs(model, optimizer, lambda b: qlike_loss(model(x_tr[b], c_tr[b]), y_tr[b]),
                                      lambda: float(qlike_loss(model(x_va, c_va), y_va)), len(y_tr), cfg, generator,
                                      progress, desc=f"seed {cfg.seed}")
    model.eval()
    heads = [(model.head_w[i].detach().numpy().astype(float), model.head_b[i].detach().numpy().astype(float))
             for i in range(len(splits))]
    net.set_har(model.head_w[0].detach(), model.head_b[0].detach())
    return net.eval(), heads, best, epoch, history[-1]["seconds"]


def pooled_gate(merged: VolatilityLSTM, splits: list[WindowSplit], coin_heads: list[list], window: int
                ) -> tuple[list[bool], float]:
    """Each horizon keeps its correction where it lowers the pooled validation QLIKE of the merged network,
    each coin on its own trained head (averaged over seeds); returns the kept flags and the validation
    QLIKE with them."""
    x, y, c = pooled_windows(splits, "val_rows", window)
    heads_w = torch.tensor(np.mean([[h[0] for h in hs] for hs in coin_heads], axis=0), dtype=torch.float32)
    heads_b = torch.tensor(np.mean([[h[1] for h in hs] for hs in coin_heads], axis=0), dtype=torch.float32)
    with torch.inference_mode():
        head = torch.einsum("bk,bhk->bh", x[:, -1, merged.har_idx], heads_w[c]) + heads_b[c]
        full = head + merged.correction_of(x)
    keep = [bool(qlike_loss(full[:, j], y[:, j]) < qlike_loss(head[:, j], y[:, j])) for j in range(y.shape[1])]
    mask = torch.tensor(keep, dtype=torch.float32)
    return keep, float(qlike_loss(head + mask * (full - head), y))


def _pooled_windows(frames: dict[str, pd.DataFrame], end_ts: pd.Timestamp, train_end: str,
                    train_start: str | None, cfg: TrainConfig) -> tuple[dict, list, str]:
    """Each coin's bars up to ``end_ts`` (from ``train_start``), its training/validation split, and the one bar
    size they share; a coin too short to train or bars of different sizes are a :class:`DataError`."""
    cut, splits = {}, []
    for name, df in frames.items():
        data = df[df.index <= end_ts]
        if train_start:
            data = data[data.index >= pd.Timestamp(train_start, tz="UTC")]
        split = WindowSplit.of(data, end_ts, cfg) if len(data) > 1 else None
        if split is None or len(split.train_rows) < 4 * cfg.batch_size or len(split.val_rows) < 100:
            counts = "no" if split is None else f"only {len(split.train_rows)} training and {len(split.val_rows)}"
            raise DataError(f"{name}: {counts} validation windows before {train_end}; pass a longer history of "
                            "this coin, leave it out of the pooled training, or use a smaller val_days/window")
        cut[name] = data
        splits.append(split)
    steps = {timeframe_label(infer_timeframe(d.index)) for d in cut.values()}
    if len(steps) > 1:
        raise DataError(f"pooled training needs one bar size; the coins have {sorted(steps)}: resample them")
    return cut, splits, steps.pop()


def train_pooled(frames: dict[str, pd.DataFrame], train_end: str, config: TrainConfig | None = None,
                 members: int = 3, k_days=None, train_start: str | None = None, progress: bool = True) -> TrainResult:
    """Pretrain one network on every coin of ``frames`` up to ``train_end``; see the module docstring.

    Parameters
    ----------
    frames : dict of str to DataFrame
        The coins' OHLCV bars by name (e.g. ``{"btc_usdt_1h": ..., "eth_usdt_1h": ...}``), one bar size.
    train_end : str
        Last date whose targets may be used, for every coin.
    config : TrainConfig
        The library's hyper-parameters (one configuration for all coins).
    members : int
        Seeds merged into the network (``config.seed``, ``+1``, ...).
    k_days : sequence of float, optional
        The shrinkage head's ``k`` per horizon (default: the design's, for 1/7/30 days).
    train_start : str, optional
        First bar to use, for every coin.
    progress : bool
        Show a progress bar per seed.
    """
    from lstm_strategies.forecasters.shrink import design_k_days, level_free_prior

    cfg = copy.deepcopy(config or TrainConfig())
    horizons = cfg.resolved_horizons()
    end_ts = end_of_day(train_end)
    cut, splits, timeframe = _pooled_windows(frames, end_ts, train_end, train_start, cfg)
    nets, coin_heads, best, epochs, seconds = [], [], [], [], 0.0
    with training_threads(cfg.threads):
        for i in range(members):
            cfg_i = copy.deepcopy(cfg)
            cfg_i.seed = cfg.seed + i
            net, heads, loss, epoch, secs = train_member(splits, cfg_i, progress)
            nets.append(net)
            coin_heads.append(heads)
            best.append(loss)
            epochs.append(epoch)
            seconds += secs
        merged = merge_ensemble(nets) if members > 1 else copy.deepcopy(nets[0])
        keep, val_qlike = pooled_gate(merged, splits, coin_heads, cfg.window)
    zero_corrections(merged, keep)
    prior = level_free_prior(cut, horizons, design_k_days(horizons) if k_days is None else k_days, cfg.calendar)
    digest = hashlib.sha256("".join(fingerprint(d) for d in cut.values()).encode()).hexdigest()
    rows = {name: {"train": int(len(s.train_rows)), "val": int(len(s.val_rows))}
            for name, s in zip(cut, splits, strict=True)}
    card = ModelCard(
        architecture=dict(merged.config), feature_names=list(FEATURE_NAMES), timeframe=timeframe,
        horizons=horizons, window=cfg.window, calendar=cfg.calendar,
        train_start=str(min(d.index[0] for d in cut.values())), train_end=str(end_ts), train_fingerprint=digest,
        source=",".join(str(df.attrs.get("source", name)) for name, df in frames.items()),
        metrics={"val_qlike": val_qlike, "member_val_qlike": best, "member_best_epoch": epochs,
                 "correction_kept": keep, "train_rows": sum(r["train"] for r in rows.values()),
                 "val_rows": sum(r["val"] for r in rows.values()), "val_start": str(splits[0].val_start),
                 "seconds": seconds},
        training={k: v for k, v in cfg.__dict__.items() if k not in ("device", "threads")}
        | {"horizons": horizons, "members": members, "heads": "per_coin"},
        head_prior=prior.to_card(),
        pretraining={"coins": list(cut), "rows": rows,
                     "member_correction_bias": [[float(v) for v in n.correction.bias.detach()] for n in nets]},
    )
    return TrainResult(merged.eval(), card)
