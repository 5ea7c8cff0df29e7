"""Folds that work on short histories: fine-tune pretrained weights on each fold's bars.

At a fold end the coin's bars seen so far (from its first bar) are split as the library splits
them (training rows, an embargo of window + 30 days, validation rows), but the validation period
shrinks with the history: ``val_days = min(365, val_frac * history_days)``. Each pretrained seed
is fine-tuned separately (so the merged network stays block-diagonal) from its pretrained weights
and scaler, on top of a fixed head: the shrinkage head fitted with the rows known at the end of
the training rows (so validation is out of sample for the head too). Early stopping on the
validation QLIKE, with epoch 0 (the pretrained weights) a candidate: a fold that does not improve
on validation keeps the pretrained correction. The seeds are merged and each horizon keeps its
correction only where it lowers the fold's validation QLIKE (the library's gate).

When the history is too short for ``min_train_rows`` training and ``min_val_rows`` validation
windows, no fold is trained: the forecaster falls back to the pretrained network (and says so in
its fold log).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch

from lstm_strategies.bars import end_of_day
from lstm_strategies.model import merge_ensemble, qlike_loss
from lstm_strategies.training import TrainConfig, seed_everything

from common import Panel
from pooled import CoinRows, Pretrained, _tensors, gated
from shrink import HeadPrior, panel_sums, shrink_head, shrink_params


@dataclass
class FineTuneConfig:
    lr: float = 3e-4
    layers: str = "all"            # "all": LSTM + read-out; "readout": the correction's linear read-out only
    max_epochs: int = 20
    patience: int = 3
    val_frac: float = 0.25         # val_days = min(365, val_frac * history days)
    val_max_days: float = 365.0
    min_train_rows: int = 1024     # the library's 4 batches
    min_val_rows: int = 100
    gate: bool = True
    head: str = "fixed"            # "fixed": the head at the end of the training rows; "causal": the head the
                                   # forecaster uses (refit monthly, each row with what was known then)
    mix: float = 1.0               # forecast with exp(mix * fine-tuned + (1 - mix) * pretrained correction)
    l2sp: float = 0.0              # penalty l2sp * ||theta - theta_pretrained||^2 on the trained weights
    batch_size: int = 256
    weight_decay: float = 1e-3
    seed: int = 0

    def val_days(self, history_days: float) -> float:
        return min(self.val_max_days, self.val_frac * history_days)


def fold_head(panel: Panel, bar: int, prior: HeadPrior, design: dict) -> dict | None:
    """The shrinkage head's coefficients with what is known at ``bar``."""
    return shrink_params(panel_sums(panel), panel.E, bar, prior, k_of(design, panel.horizons), design["form"],
                         design.get("min_own_days", 7))


def head_forecast(panel: Panel, prior: HeadPrior, design: dict) -> np.ndarray:
    """The shrinkage head's variance forecasts on the panel's bars (refit every ``every_days``)."""
    return shrink_head(panel, prior, k_of(design, panel.horizons), design["form"],
                       min_train_days=design["min_train_days"], every_days=design["every_days"],
                       min_own_days=design["min_own_days"])


def k_of(design: dict, horizons) -> list[float]:
    """The design's k per horizon (JSON keys are strings)."""
    return [float(design["k_days"][str(h)] if str(h) in design["k_days"] else design["k_days"][h]) for h in horizons]


def finetune_fold(pre: Pretrained, df: pd.DataFrame, fold_end: str | pd.Timestamp, prior: HeadPrior, design: dict,
                  cfg: FineTuneConfig):
    """Fine-tune ``pre`` on ``df``'s bars up to ``fold_end``. Returns ``(network, info)``; the network is
    None when the history is too short (the caller falls back to the pretrained network)."""
    t0 = time.perf_counter()
    end_ts = end_of_day(fold_end)
    data = df[df.index <= end_ts]
    tcfg = TrainConfig(window=pre.window, horizons=pre.horizons, batch_size=cfg.batch_size)
    history_days = (end_ts - data.index[0]).total_seconds() / 86400
    val_days = cfg.val_days(history_days)
    rows = CoinRows(df.attrs.get("coin", "coin"), data, str(end_ts.date()), tcfg, val_days=val_days,
                    min_train=cfg.min_train_rows, min_val=cfg.min_val_rows)
    info = {"fold_end": str(end_ts.date()), "history_days": history_days, "val_days": val_days,
            "train_rows": int(len(rows.train_rows)), "val_rows": int(len(rows.val_rows)), "trained": False}
    if not rows.ok:
        info["reason"] = (f"only {len(rows.train_rows)} training and {len(rows.val_rows)} validation windows "
                          f"(need {cfg.min_train_rows} and {cfg.min_val_rows}): pretrained network kept")
        info["seconds"] = time.perf_counter() - t0
        return None, info
    panel = Panel(data, pre.horizons)
    head = fold_head(panel, int(rows.train_rows[-1]), prior, design)
    if head is None:
        info["reason"] = "no head yet: pretrained network kept"
        return None, info
    if cfg.head == "causal":
        log_head = np.log(head_forecast(panel, prior, design))
        rows.train_rows = rows.train_rows[np.isfinite(log_head[rows.train_rows]).all(axis=1)]
        rows.val_rows = rows.val_rows[np.isfinite(log_head[rows.val_rows]).all(axis=1)]
        info.update({"train_rows": int(len(rows.train_rows)), "val_rows": int(len(rows.val_rows))})
        if len(rows.train_rows) < cfg.min_train_rows or len(rows.val_rows) < cfg.min_val_rows:
            info["reason"] = "too few rows with a head: pretrained network kept"
            return None, info
    else:
        fixed = np.c_[np.ones(len(panel.X)), panel.X] @ np.c_[head["c"], head["b"]].T
        log_head = np.where(np.isfinite(fixed), fixed, np.nan)
    x_tr, y_tr, _ = _tensors([rows], "train_rows", pre.window)
    x_va, y_va, _ = _tensors([rows], "val_rows", pre.window)
    o_tr = torch.from_numpy(log_head[rows.train_rows].astype(np.float32))
    o_va = torch.from_numpy(log_head[rows.val_rows].astype(np.float32))
    members, epochs = [], []
    for i, base in enumerate(pre.members):
        seed_everything(cfg.seed + i)
        net = copy.deepcopy(base).train()
        net.set_har(torch.tensor(head["b"], dtype=torch.float32), torch.tensor(head["c"], dtype=torch.float32))
        for name, p in net.named_parameters():
            p.requires_grad_(name.startswith("correction.") or (cfg.layers == "all" and name.startswith("lstm.")))
        params = [p for p in net.parameters() if p.requires_grad]
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        gen = torch.Generator().manual_seed(cfg.seed + i)
        anchor = [p.detach().clone() for p in params]

        def evaluate(net=net) -> float:
            net.eval()
            with torch.inference_mode():
                return float(qlike_loss(o_va + net.correction_of(x_va), y_va))

        best, best_state, best_epoch, stale = evaluate(), copy.deepcopy(net.state_dict()), 0, 0
        for epoch in range(1, cfg.max_epochs + 1):
            net.train()
            order = torch.randperm(len(y_tr), generator=gen)
            for lo in range(0, len(order), cfg.batch_size):
                batch = order[lo: lo + cfg.batch_size]
                opt.zero_grad()
                loss = qlike_loss(o_tr[batch] + net.correction_of(x_tr[batch]), y_tr[batch])
                if cfg.l2sp:
                    loss = loss + cfg.l2sp * sum(((p - a) ** 2).sum() for p, a in zip(params, anchor, strict=True))
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
            val = evaluate()
            if val < best - 1e-5:
                best, best_state, best_epoch, stale = val, copy.deepcopy(net.state_dict()), epoch, 0
            else:
                stale += 1
                if stale >= cfg.patience:
                    break
        net.load_state_dict(best_state)
        for p in net.parameters():
            p.requires_grad_(True)
        members.append(net.eval())
        epochs.append(best_epoch)
    merged = merge_ensemble(members)
    if cfg.gate:
        with torch.inference_mode():
            h = o_va
            full = h + merged.correction_of(x_va)
        keep = [bool(qlike_loss(full[:, j], y_va[:, j]) < qlike_loss(h[:, j], y_va[:, j]))
                for j in range(y_va.shape[1])]
    else:
        keep = list(pre.keep)
    info.update({"trained": True, "best_epochs": epochs, "kept": keep, "seconds": time.perf_counter() - t0})
    return gated(merged, keep), info


def fold_ends(first_end, last_bar: pd.Timestamp, every_months: int = 6) -> list[pd.Timestamp]:
    """``first_end`` (end of that day), then every ``every_months``, before ``last_bar`` (the library's rule)."""
    from lstm_strategies.forecasters.lstm_refit import next_fold_end

    end, out = end_of_day(first_end), []
    while end < last_bar:
        out.append(end)
        end = next_fold_end(end, every_months)
    return out


def refitting_correction(pre: Pretrained, df: pd.DataFrame, first_end: str, prior: HeadPrior, design: dict,
                         cfg: FineTuneConfig, every_months: int = 6, stop: str | None = None,
                         fold_log: list | None = None) -> np.ndarray:
    """``exp(correction)`` of the self-refitting LSTM on ``df``'s bars: each fold's fine-tuned network
    (or the pretrained one when a fold cannot be trained) forecasts the bars in (end_k, end_k+1].
    Rows before the first fold end are NaN. ``stop``: no fold ends after it (for validation)."""
    from lstm_strategies.features import feature_matrix

    feats = feature_matrix(df, "crypto")
    out = np.full((len(df), len(pre.horizons)), np.nan)
    ts = df.index.asi8
    last = df.index[-1] if stop is None else min(df.index[-1], end_of_day(stop))
    ends = fold_ends(first_end, last, every_months)
    for k, end in enumerate(ends):
        lo = int(np.searchsorted(ts, end.value, side="right"))
        hi = int(np.searchsorted(ts, ends[k + 1].value, side="right")) if k + 1 < len(ends) else len(df)
        if lo >= hi:
            continue
        net, info = finetune_fold(pre, df, end, prior, design, cfg)
        if fold_log is not None:
            fold_log.append(info)
        begin = max(0, lo - pre.window + 1)
        fold = pre.correction(feats[begin:hi], net or pre.net)[lo - begin:]
        if net is not None and cfg.mix != 1.0:
            fold = fold ** cfg.mix * pre.correction(feats[begin:hi])[lo - begin:] ** (1.0 - cfg.mix)
        out[lo:hi] = fold
    return out


def config_dict(cfg: FineTuneConfig) -> dict:
    return asdict(cfg)
