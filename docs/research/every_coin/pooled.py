"""Pooled pretraining (``crypto-1h``): one LSTM correction trained on several coins at once.

The protocol is the library's (:func:`lstm_strategies.training.train_lstm`), applied per coin and
pooled: for each coin, nothing after ``train_end`` is read; the last ``val_days`` before it are
validation after an embargo of window + longest horizon; training windows of all coins are
shuffled together; the feature scaler is fitted on the pooled training rows (the inputs are
scale-free, so the coins share one scaler); early stopping on the pooled validation QLIKE (epoch 0
is plain log-HAR); each horizon keeps its correction only where it lowers the pooled validation
QLIKE; three seeds merged into one block-diagonal network.

``heads="per_coin"`` gives each coin its own log-HAR head during training (initialised by OLS on
that coin's training rows, trained at ``har_lr`` like the library's single head): coin fixed
effects, so the shared correction is learned on top of heads at each coin's own level, as it is
used at inference (where the head is the coin's own refit or the shrinkage head).
``heads="shared"`` is the library's single head on the pooled rows. With one coin both are the
library's recipe (``check_pooled.py`` checks that one coin reproduces ``train_ensemble``).

The prior of the shrinkage head (:class:`shrink.HeadPrior`) is the level-free average of the
trained heads: ``a0 = mean_i (c_i - (1 - S_i) m_i)``, ``b0 = mean_i b_i`` over coins (and seeds),
``m_i`` the coin's mean log monthly RV over its training rows.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file

from lstm_strategies.bars import end_of_day
from lstm_strategies.calendar import get_calendar
from lstm_strategies.features import FEATURE_NAMES
from lstm_strategies.forecasters.streaming import RollingWindowLSTM
from lstm_strategies.model import VolatilityLSTM, merge_ensemble, qlike_loss, relative_form
from lstm_strategies.training import TrainConfig, _ols_log_har, _windows, make_dataset, seed_everything

from common import HAR_COLUMNS
from shrink import HeadPrior


class CoinRows:
    """One coin's features, targets and training/validation rows up to ``train_end`` (the library's split)."""

    def __init__(self, name: str, df: pd.DataFrame, train_end: str, cfg: TrainConfig, val_days: float | None = None,
                 min_train: int | None = None, min_val: int = 100):
        end_ts = end_of_day(train_end)
        data = df[df.index <= end_ts]
        self.name, self.end_ts = name, end_ts
        horizons = cfg.resolved_horizons()
        feats, target, ends = make_dataset(data, cfg.window, horizons, cfg.calendar)
        ts = data.index.asi8
        val_days = cfg.val_days if val_days is None else val_days
        val_start = end_ts - pd.Timedelta(days=val_days)
        horizon_bars = max(horizons) * get_calendar(cfg.calendar).bars_per_day(pd.Timedelta("1h"))
        embargo = (cfg.window + horizon_bars) * pd.Timedelta("1h")
        self.train_rows = ends[ts[ends] < (val_start - embargo).value]
        self.val_rows = ends[ts[ends] >= val_start.value]
        self.val_start = val_start
        self.feats, self.target = feats, target
        self.ok = (len(self.train_rows) >= (4 * cfg.batch_size if min_train is None else min_train)
                   and len(self.val_rows) >= min_val)
        self.history_days = (end_ts - data.index[0]).total_seconds() / 86400 if len(data) else 0.0

    def level(self) -> float:
        """Mean log monthly RV over the training rows (the level its head was fitted at)."""
        return float(np.nanmean(self.feats[self.train_rows, 2]))


class PooledNet(torch.nn.Module):
    """A :class:`VolatilityLSTM` plus one log-HAR head per coin (coin fixed effects) for training."""

    def __init__(self, net: VolatilityLSTM, n_coins: int):
        super().__init__()
        self.net = net
        H = net.har.weight.shape[0]
        self.head_w = torch.nn.Parameter(torch.zeros(n_coins, H, 3))
        self.head_b = torch.nn.Parameter(torch.zeros(n_coins, H))

    def heads(self, x: torch.Tensor, coin: torch.Tensor) -> torch.Tensor:
        last = x[:, -1, self.net.har_idx]                          # (B, 3)
        return torch.einsum("bk,bhk->bh", last, self.head_w[coin]) + self.head_b[coin]

    def forward(self, x, coin):
        return self.heads(x, coin) + self.net.correction_of(x)


def _tensors(coins: list[CoinRows], which: str, window: int):
    xs, ys, cs = [], [], []
    for i, c in enumerate(coins):
        rows = getattr(c, which)
        x_all = torch.from_numpy(np.nan_to_num(c.feats).astype(np.float32))
        xs.append(_windows(x_all, rows, window))
        ys.append(torch.from_numpy(c.target[rows].astype(np.float32)))
        cs.append(torch.full((len(rows),), i, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys), torch.cat(cs)


def train_member(coins: list[CoinRows], cfg: TrainConfig, heads: str = "per_coin", progress: bool = False):
    """One seed: returns (VolatilityLSTM, per-coin heads [(coef (H,3), intercept (H,))], history)."""
    seed_everything(cfg.seed)
    n = len(FEATURE_NAMES)
    horizons = cfg.resolved_horizons()
    amap = relative_form(FEATURE_NAMES) if cfg.relative else np.eye(n)
    touched = []
    for c in coins:
        first = max(int(c.train_rows[0]) - cfg.window + 1, 0)
        touched.append((c.feats @ amap.T)[first: int(c.train_rows[-1]) + 1])
    touched = np.concatenate(touched)
    mean, std = np.nanmean(touched, axis=0), np.nanstd(touched, axis=0)
    net = VolatilityLSTM(n, cfg.hidden_size, cfg.num_layers, cfg.dropout, tuple(HAR_COLUMNS), len(horizons),
                         cfg.relative)
    net.set_input_map(torch.tensor(amap, dtype=torch.float32))
    net.set_scaler(torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32))
    model = PooledNet(net, len(coins))
    with torch.no_grad():
        if heads == "shared":
            feats = np.concatenate([c.feats[c.train_rows] for c in coins])
            target = np.concatenate([c.target[c.train_rows] for c in coins])
            coef, icpt = _ols_log_har(feats, target, np.arange(len(feats)))
            for i in range(len(coins)):
                model.head_w[i] = torch.tensor(coef, dtype=torch.float32)
                model.head_b[i] = torch.tensor(icpt, dtype=torch.float32)
        else:
            for i, c in enumerate(coins):
                coef, icpt = _ols_log_har(c.feats, c.target, c.train_rows)
                model.head_w[i] = torch.tensor(coef, dtype=torch.float32)
                model.head_b[i] = torch.tensor(icpt, dtype=torch.float32)
    x_tr, y_tr, c_tr = _tensors(coins, "train_rows", cfg.window)
    x_va, y_va, c_va = _tensors(coins, "val_rows", cfg.window)
    if heads == "shared":
        # one head: tie the coins' heads by training a single row and copying (index 0 for every coin)
        c_tr, c_va = torch.zeros_like(c_tr), torch.zeros_like(c_va)
    optimizer = torch.optim.Adam([
        {"params": [p for name, p in model.net.named_parameters() if not name.startswith("har.")], "lr": cfg.lr},
        {"params": [model.head_w, model.head_b], "lr": cfg.har_lr},
    ], weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)

    def evaluate() -> float:
        model.eval()
        with torch.inference_mode():
            return float(qlike_loss(model(x_va, c_va), y_va))

    best, best_state, best_epoch, stale = evaluate(), copy.deepcopy(model.state_dict()), 0, 0
    history = [{"epoch": 0, "val_qlike": best}]
    t0 = time.perf_counter()
    for epoch in range(1, cfg.max_epochs + 1):
        model.train()
        order = torch.randperm(len(y_tr), generator=generator)
        total = 0.0
        for lo in range(0, len(order), cfg.batch_size):
            batch = order[lo: lo + cfg.batch_size]
            optimizer.zero_grad()
            loss = qlike_loss(model(x_tr[batch], c_tr[batch]), y_tr[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        val = evaluate()
        history.append({"epoch": epoch, "train_qlike": total / len(order), "val_qlike": val,
                        "seconds": time.perf_counter() - t0})
        if progress:
            print(f"  seed {cfg.seed} epoch {epoch} train {total / len(order):.4f} val {val:.4f}", flush=True)
        if val < best - 1e-5:
            best, best_state, best_epoch, stale = val, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    idx = [0] * len(coins) if heads == "shared" else list(range(len(coins)))
    coin_heads = [(model.head_w[i].detach().numpy().astype(float), model.head_b[i].detach().numpy().astype(float))
                  for i in idx]
    # the network's own head: the first coin's (only the frozen head or the library's gate read it)
    net.set_har(model.head_w[idx[0]].detach(), model.head_b[idx[0]].detach())
    return net.eval(), coin_heads, {"best_epoch": best_epoch, "val_qlike": best, "history": history,
                                    "seconds": history[-1].get("seconds", 0.0)}


class Pretrained:
    """A pretrained model: its seeds (kept apart for fine-tuning), the merged network with the gate
    applied, the per-coin heads and the shrinkage prior."""

    def __init__(self, members: list[VolatilityLSTM], meta: dict):
        self.members = members
        self.meta = meta
        self.window = meta["window"]
        self.horizons = meta["horizons"]
        self.prior = HeadPrior.from_dict(meta["prior"])
        #: the level-free log-HAR on every pretraining row (see shrink.ols_prior); the design's prior
        self.prior_ols = HeadPrior.from_dict(meta["prior_ols"]) if "prior_ols" in meta else None
        self.keep = meta["correction_kept"]
        self.net = gated(merge_ensemble(members), self.keep)

    def correction(self, feats: np.ndarray, net: VolatilityLSTM | None = None) -> np.ndarray:
        """``exp(LSTM correction)`` for each row of a feature matrix (NaN before a full window)."""
        return np.exp(RollingWindowLSTM(net or self.net, self.window, with_head=False).run(feats))

    def frozen(self, feats: np.ndarray) -> np.ndarray:
        """Variance forecasts with the network's own (trained) head."""
        return np.exp(RollingWindowLSTM(self.net, self.window, with_head=True).run(feats))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"m{i}.{k}": v.contiguous() for i, m in enumerate(self.members) for k, v in m.state_dict().items()}
        save_file(tensors, str(folder / "members.safetensors"))
        (folder / "meta.json").write_text(json.dumps(self.meta, indent=1, default=float))

    @classmethod
    def load(cls, folder: Path) -> Pretrained:
        meta = json.loads((folder / "meta.json").read_text())
        tensors = load_file(str(folder / "members.safetensors"))
        members = []
        for i in range(meta["members"]):
            cfg = meta["architecture"]
            m = VolatilityLSTM(cfg["n_features"], cfg["hidden_size"], cfg["num_layers"], cfg["dropout"],
                               tuple(cfg["har_index"]), cfg["n_horizons"], cfg["relative"])
            m.load_state_dict({k.split(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"m{i}.")})
            members.append(m.eval())
        return cls(members, meta)


def gated(net: VolatilityLSTM, keep: list[bool]) -> VolatilityLSTM:
    net = copy.deepcopy(net)
    with torch.no_grad():
        for j, k in enumerate(keep):
            if not k:
                net.correction.weight[j].zero_()
                net.correction.bias[j] = 0.0
    return net.eval()


def gate(members: list[VolatilityLSTM], coins: list[CoinRows], coin_heads: list[list], window: int) -> list[bool]:
    """Each horizon keeps its correction where it lowers the pooled validation QLIKE (merged network,
    each coin on its own trained head, as in training)."""
    merged = merge_ensemble(members)
    x, y, c = _tensors(coins, "val_rows", window)
    heads_w = torch.tensor(np.mean([[h[0] for h in hs] for hs in coin_heads], axis=0), dtype=torch.float32)
    heads_b = torch.tensor(np.mean([[h[1] for h in hs] for hs in coin_heads], axis=0), dtype=torch.float32)
    with torch.inference_mode():
        head = torch.einsum("bk,bhk->bh", x[:, -1, merged.har_idx], heads_w[c]) + heads_b[c]
        full = head + merged.correction_of(x)
    return [bool(qlike_loss(full[:, j], y[:, j]) < qlike_loss(head[:, j], y[:, j])) for j in range(y.shape[1])]


def train_pretrained(dfs: dict[str, pd.DataFrame], train_end: str, cfg: TrainConfig | None = None,
                     members: int = 3, heads: str = "per_coin", progress: bool = False) -> Pretrained:
    """Pretrain on every coin of ``dfs`` up to ``train_end``; see the module docstring."""
    cfg = copy.deepcopy(cfg or TrainConfig())
    coins = [CoinRows(name, df, train_end, cfg) for name, df in dfs.items()]
    nets, heads_all, infos = [], [], []
    for i in range(members):
        cfg_i = copy.deepcopy(cfg)
        cfg_i.seed = cfg.seed + i
        net, coin_heads, info = train_member(coins, cfg_i, heads, progress)
        nets.append(net)
        heads_all.append(coin_heads)
        infos.append(info)
    keep = gate(nets, coins, heads_all, cfg.window)
    # level-free prior: average over coins and seeds
    a, b = [], []
    for hs in heads_all:
        for c, (coef, icpt) in zip(coins, hs, strict=True):
            m = c.level()
            b.append(coef)
            a.append(icpt - (1.0 - coef.sum(axis=1)) * m)
    prior = HeadPrior(np.mean(a, axis=0), np.mean(b, axis=0),
                      meta={"coins": list(dfs), "levels": {c.name: c.level() for c in coins}})
    meta = {"coins": list(dfs), "train_end": str(train_end), "heads": heads, "members": members,
            "window": cfg.window, "horizons": cfg.resolved_horizons(), "architecture": nets[0].config,
            "training": {k: v for k, v in asdict(cfg).items() if k not in ("device", "threads")},
            "correction_kept": keep, "prior": prior.to_dict(),
            "coin_heads": [[(coef.tolist(), icpt.tolist()) for coef, icpt in hs] for hs in heads_all],
            "levels": {c.name: c.level() for c in coins},
            "member_info": [{k: v for k, v in info.items() if k != "history"} for info in infos],
            "history": [info["history"] for info in infos],
            "rows": {c.name: {"train": int(len(c.train_rows)), "val": int(len(c.val_rows))} for c in coins}}
    model = Pretrained(nets, meta)
    attach_ols_prior(model, dfs)
    return model


def attach_ols_prior(model: Pretrained, dfs: dict[str, pd.DataFrame]) -> HeadPrior:
    """The level-free log-HAR of every row of the pretraining coins whose target is known by the
    training end (:func:`shrink.ols_prior`), stored in the model's meta."""
    from common import Panel
    from shrink import ols_prior

    end_ts = end_of_day(model.meta["train_end"])
    panels = [Panel(df[df.index <= end_ts]) for df in dfs.values()]
    prior = ols_prior(panels, [len(p.ts) - 1 for p in panels])
    prior.meta["coins"] = list(dfs)
    model.meta["prior_ols"] = prior.to_dict()
    model.prior_ols = prior
    return prior


def pretrained(name: str, dfs_fn, train_end: str, heads: str = "per_coin", cfg: TrainConfig | None = None,
               folder: Path | None = None) -> Pretrained:
    """Load ``models/<name>`` or train and save it (``dfs_fn()`` gives the coins' frames)."""
    from common import MODELS, log

    folder = folder or MODELS / name
    if (folder / "meta.json").exists():
        model = Pretrained.load(folder)
        if model.prior_ols is None:
            attach_ols_prior(model, dfs_fn())
            (folder / "meta.json").write_text(json.dumps(model.meta, indent=1, default=float))
        return model
    log(f"training {name} (to {train_end}, heads {heads})")
    t0 = time.perf_counter()
    model = train_pretrained(dfs_fn(), train_end, cfg, heads=heads)
    model.meta["train_seconds"] = time.perf_counter() - t0
    model.save(folder)
    log(f"  {name}: {model.meta['train_seconds']:.0f} s, kept {model.meta['correction_kept']}, "
        f"best epochs {[i['best_epoch'] for i in model.meta['member_info']]}")
    return model
