"""Folds that work on short histories: fine-tune a pretrained network on each fold's bars.

At a fold end ``T`` the coin's bars up to ``T`` (from its first bar: ``history`` days) are split as the
library splits them (training windows, an embargo of window + the longest horizon, validation
windows), with the validation period shrinking with the history: ``val_days = min(365, history / 4)``.
Below ``min_train_windows`` training or ``min_val_windows`` validation windows (a history under about
143 days with the defaults) no fold is trained: :func:`fine_tune_fold` says why, and the caller
forecasts with the pretrained network.

Otherwise each pretrained seed is fine-tuned separately from its own weights (the seeds of a merged
network are recovered with each one's read-out bias, which the pooled card stores), on top of a fixed
head: the shrinkage head's coefficients with what is known at the last training window (so the
validation is out of sample for the head too). Only the correction's read-out is trained (the LSTM and
the scaler stay), by Adam with an L2-SP penalty toward the pretrained read-out, at most ``max_epochs``
with early stopping on the validation QLIKE (epoch 0, the pretrained read-out, included). The seeds are
merged and the fold network forecasts with ``exp(mix * fine-tuned + (1 - mix) * pretrained correction)``:
both corrections read the same LSTM states, so that is one network whose read-out is the mix. The
pretrained gate is kept. Design: ``docs/research/every_coin/REPORT.md`` section 4.3.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from lstm_strategies.data.bars import end_of_day, fingerprint
from lstm_strategies.models.checkpoint import ModelCard
from lstm_strategies.models.network import VolatilityLSTM, merge_ensemble, qlike_loss, split_ensemble, zero_corrections
from lstm_strategies.models.train_config import FineTuneConfig, TrainConfig
from lstm_strategies.models.training import WindowSplit, run_epochs, seed_everything, training_threads


@dataclass
class FoldResult:
    """A fine-tuned fold: its network and card, or None for both when it could not be trained (``info``
    says why: ``reason``), and what it trained on (``info``: history, validation days, windows, epochs)."""

    network: VolatilityLSTM | None
    card: ModelCard | None
    info: dict = field(default_factory=dict)


def members_of(network: VolatilityLSTM, card: ModelCard) -> list[VolatilityLSTM]:
    """The seeds of a pretrained network, from its card's ``pretraining.member_correction_bias``."""
    from lstm_strategies.core.errors import CheckpointError

    if not card.pretraining:
        raise CheckpointError("fine-tuning starts from each seed of a pooled model, whose card records their "
                              "read-out biases (pretraining.member_correction_bias); this model has none: use "
                              "crypto-1h or a model from train --data a,b")
    try:
        return split_ensemble(network, card.pretraining["member_correction_bias"])
    except ValueError as exc:
        raise CheckpointError(f"the card's pretraining.member_correction_bias does not fit the network ({exc}); "
                              "retrain the model") from None


def fixed_head(data: pd.DataFrame, split: WindowSplit, card: ModelCard) -> tuple[np.ndarray, np.ndarray] | None:
    """The shrinkage head's intercepts ``(H,)`` and slopes ``(H, 3)`` with what is known at the last training
    window of ``split`` (``data``'s split; None before any feature row)."""
    from lstm_strategies.features.realized import target_ends
    from lstm_strategies.forecasters.har import HAR_COLUMNS
    from lstm_strategies.models.lstm import shrink_head_of

    head = shrink_head_of(card).bind(card.timeframe)
    k = int(split.train_rows[-1])
    X = split.feats[: k + 1, HAR_COLUMNS]
    known = target_ends(data.iloc[: k + 1], card.horizons, card.calendar, head.bars_in_day) <= k
    params = head._ols(X, split.target[: k + 1], known, np.isfinite(X).all(axis=1))
    if params is None:
        return None
    return np.array([p[0][0] for p in params]), np.array([p[0][1:] for p in params])


def _fine_tune_member(member: VolatilityLSTM, seed: int, data: tuple, cfg: FineTuneConfig) -> tuple:
    """One seed's read-out fine-tuned (in a copy): returns the network and its best epoch."""
    x_tr, y_tr, o_tr, x_va, y_va, o_va = data
    seed_everything(seed)
    net = copy.deepcopy(member).train()
    for name, p in net.named_parameters():
        p.requires_grad_(name.startswith("correction."))
    params = [p for p in net.parameters() if p.requires_grad]
    anchor = [p.detach().clone() for p in params]
    optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        loss = qlike_loss(o_tr[batch] + net.correction_of(x_tr[batch]), y_tr[batch])
        if cfg.l2sp:
            loss = loss + cfg.l2sp * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor, strict=True))
        return loss

    def val_loss() -> float:
        return float(qlike_loss(o_va + net.correction_of(x_va), y_va))

    _, epoch, _ = run_epochs(net, optimizer, batch_loss, val_loss, len(y_tr), cfg, torch.Generator().manual_seed(seed))
    for p in net.parameters():
        p.requires_grad_(True)
    return net.eval(), epoch


def mixed_readout(fine: VolatilityLSTM, pretrained: VolatilityLSTM, mix: float, keep: list[bool]) -> VolatilityLSTM:
    """The fold network: the pretrained network whose read-out is ``mix`` of the fine-tuned one and ``1 - mix`` of
    its own (the same LSTM states feed both), horizons whose correction the pretraining gated off at zero."""
    out = copy.deepcopy(pretrained)
    with torch.no_grad():
        out.correction.weight.copy_(mix * fine.correction.weight + (1.0 - mix) * pretrained.correction.weight)
        out.correction.bias.copy_(mix * fine.correction.bias + (1.0 - mix) * pretrained.correction.bias)
    return zero_corrections(out, keep).eval()


def fine_tune_fold(network: VolatilityLSTM, card: ModelCard, df: pd.DataFrame, fold_end, config: FineTuneConfig
                   | None = None, init: str = "") -> FoldResult:
    """Fine-tune the pooled ``network`` (its ``card``) on ``df``'s bars up to ``fold_end``; see the module
    docstring. ``init`` names the pretrained model in the fold's card. Nothing after ``fold_end`` is read."""
    cfg = config or FineTuneConfig()
    started = time.perf_counter()
    end_ts = end_of_day(fold_end)
    data = df[df.index <= end_ts]
    history_days = (end_ts - data.index[0]).total_seconds() / 86400 if len(data) else 0.0
    val_days = cfg.val_days(history_days)
    info = {"fold_end": str(end_ts), "history_days": round(history_days, 3), "val_days": round(val_days, 3),
            "train_windows": 0, "val_windows": 0, "trained": False}
    split_cfg = TrainConfig(window=card.window, horizons=list(card.horizons), calendar=card.calendar)
    split = WindowSplit.of(data, end_ts, split_cfg, val_days=val_days) if len(data) > 1 else None
    if split is not None:
        info.update(train_windows=int(len(split.train_rows)), val_windows=int(len(split.val_rows)))
    if split is None or len(split.train_rows) < cfg.min_train_windows or len(split.val_rows) < cfg.min_val_windows:
        info["reason"] = (f"only {info['train_windows']} training and {info['val_windows']} validation windows in "
                          f"{history_days:.0f} days of history (a fold needs {cfg.min_train_windows} and "
                          f"{cfg.min_val_windows}): pretrained network kept")
        return FoldResult(None, None, info | {"seconds": time.perf_counter() - started})
    from lstm_strategies.forecasters.har import HAR_COLUMNS

    head = fixed_head(data, split, card)
    if head is None:
        info["reason"] = "no feature row before the last training window: pretrained network kept"
        return FoldResult(None, None, info | {"seconds": time.perf_counter() - started})
    c, b = head
    design = np.column_stack([np.ones(len(split.feats)), np.nan_to_num(split.feats[:, HAR_COLUMNS])])
    log_head = (design @ np.column_stack([c, b]).T).astype(np.float32)
    x_tr, y_tr = split.windows("train_rows", card.window)
    x_va, y_va = split.windows("val_rows", card.window)
    tensors = (x_tr, y_tr, torch.from_numpy(log_head[split.train_rows]), x_va, y_va,
               torch.from_numpy(log_head[split.val_rows]))
    keep = list(card.metrics.get("correction_kept", [True] * len(card.horizons)))
    with training_threads(cfg.threads):
        tuned, epochs = [], []
        for i, member in enumerate(members_of(network, card)):
            with torch.no_grad():
                member.set_har(torch.tensor(b, dtype=torch.float32), torch.tensor(c, dtype=torch.float32))
            net, epoch = _fine_tune_member(member, cfg.seed + i, tensors, cfg)
            tuned.append(net)
            epochs.append(epoch)
        fine = merge_ensemble(tuned) if len(tuned) > 1 else tuned[0]
        fold = mixed_readout(fine, network, cfg.mix, keep)
        with torch.no_grad():
            fold.set_har(torch.tensor(b, dtype=torch.float32), torch.tensor(c, dtype=torch.float32))
        with torch.inference_mode():
            o_va = tensors[5]
            val = float(qlike_loss(o_va + fold.correction_of(x_va), y_va))
            val_pre = float(qlike_loss(o_va + network.correction_of(x_va), y_va))
    info |= {"trained": True, "member_best_epoch": epochs, "val_qlike": val, "val_qlike_pretrained": val_pre,
             "seconds": time.perf_counter() - started}
    fold_card = dataclasses.replace(
        copy.deepcopy(card), train_start=str(data.index[0]), train_end=str(end_ts),
        train_fingerprint=fingerprint(data), source=str(df.attrs.get("source", "")), pretraining=None,
        metrics={"val_qlike": val, "val_qlike_pretrained": val_pre, "member_best_epoch": epochs,
                 "correction_kept": keep, "train_rows": info["train_windows"], "val_rows": info["val_windows"],
                 "val_start": str(split.val_start), "val_days": info["val_days"],
                 "history_days": info["history_days"], "seconds": info["seconds"],
                 "fine_tuned_from": init or card.source, "fine_tuned_from_weights": card.weights_sha256},
        training={**dataclasses.asdict(cfg), "layers": "readout"}, versions={}, weights_sha256="")
    fold_card.training.pop("threads")
    return FoldResult(fold, fold_card, info)
