"""Train a :class:`~lstm_strategies.model.VolatilityLSTM` with no look-ahead.

* Chronological split: training rows, then an embargo of ``window + horizon`` bars, then the
  validation rows (the last ``val_days`` before ``train_end``). Nothing after ``train_end`` is
  read at all.
* The feature scaler and the log-HAR head's starting point are fitted on the training rows only.
* Loss: QLIKE on the variance, summed over the horizons (see
  :func:`~lstm_strategies.model.qlike_loss`); early stopping on the validation QLIKE, keeping the
  best epoch (epoch 0 is plain log-HAR); then each horizon keeps its LSTM correction only if it
  lowers that horizon's validation QLIKE (:func:`gate_corrections`).
* ``seed`` makes CPU runs reproduce exactly, with a fixed number of torch threads while training
  (``threads``, 1 by default, restored afterwards): the same fold trained with 8 or 16 threads gives
  other weights than with 1, 2 or 4 (measured on the bundled data; AVX2 against AVX-512 kernels at one
  thread gave the same bits), so the thread count is part of what a model was trained with.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from lstm_strategies.core.errors import ShortHistoryError
from lstm_strategies.data.bars import end_of_day, fingerprint, infer_timeframe, timeframe_label
from lstm_strategies.data.calendar import get_calendar
from lstm_strategies.features.realized import FEATURE_NAMES, HAR_FEATURES, feature_matrix, forward_variance_matrix
from lstm_strategies.models.checkpoint import ModelCard
from lstm_strategies.models.network import VolatilityLSTM, qlike_loss, relative_form, zero_corrections
from lstm_strategies.models.train_config import TrainConfig  # noqa: F401  (re-exported: training's API)

HAR_COLUMNS = [FEATURE_NAMES.index(c) for c in HAR_FEATURES]


@dataclass
class TrainResult:
    """A trained model, its card (metadata) and the loss history per epoch."""

    model: VolatilityLSTM
    card: ModelCard
    history: list[dict] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators; deterministic kernels on CPU."""
    import random

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (seeds third-party code that uses the global state)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


@contextmanager
def training_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (None: torch's setting), restoring the count after."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def make_dataset(df: pd.DataFrame, window: int, horizons, calendar: str = "crypto"
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, targets ``(n, H)`` and the bars that end a complete window with every target known."""
    feats = feature_matrix(df, calendar)
    target = forward_variance_matrix(df, horizons, calendar)
    valid = np.isfinite(feats).all(axis=1)
    full = np.convolve(valid.astype(int), np.ones(window, dtype=int), mode="full")[: len(df)] == window
    ends = np.flatnonzero(full & np.isfinite(target).all(axis=1) & (target > 0).all(axis=1))
    return feats, target, ends


def _windows(feats: torch.Tensor, ends: np.ndarray, window: int) -> torch.Tensor:
    return feats.unfold(0, window, 1).permute(0, 2, 1)[torch.from_numpy(ends - (window - 1))]


def _ols_log_har(feats: np.ndarray, target: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log-HAR by OLS per horizon: coefficients (H, 3) and intercepts (H,) incl. the bias term."""
    X = np.column_stack([np.ones(len(rows)), feats[rows][:, HAR_COLUMNS]])
    Y = np.log(target[rows])
    beta, *_ = np.linalg.lstsq(X, Y, rcond=None)          # (4, H)
    resid = Y - X @ beta
    return beta[1:].T, beta[0] + 0.5 * resid.var(axis=0)


def train_lstm(df: pd.DataFrame, train_end: str, config: TrainConfig | None = None,
               train_start: str | None = None, progress: bool = True) -> TrainResult:
    """Train on ``df`` up to ``train_end`` (inclusive): see the module docstring for the protocol.

    Parameters
    ----------
    df : DataFrame
        OHLCV bars (see :func:`~lstm_strategies.data.load_ohlcv`); rows after ``train_end`` are
        dropped before anything is computed.
    train_end : str
        Last date whose *target* may be used for training or validation.
    config : TrainConfig
    train_start : str, optional
        First bar to use.
    progress : bool
        Show a progress bar with the losses.
    """
    cfg = config or TrainConfig()
    with training_threads(cfg.threads):
        return _train_lstm(df, train_end, cfg, train_start, progress)


@dataclass
class WindowSplit:
    """One frame's features, targets and the bars that end its training and validation windows.

    The library's split: validation windows end in the last ``val_days`` before ``train_end``; training
    windows end before it by an embargo of ``window`` + the longest horizon; every target is known by
    ``train_end`` (targets are computed on the frame cut there).
    """

    feats: np.ndarray
    target: np.ndarray
    train_rows: np.ndarray
    val_rows: np.ndarray
    val_start: pd.Timestamp

    @classmethod
    def of(cls, data: pd.DataFrame, end_ts: pd.Timestamp, cfg: TrainConfig, val_days: float | None = None
           ) -> WindowSplit:
        """The split of ``data`` (already cut at ``end_ts``); ``val_days`` overrides ``cfg.val_days``."""
        step = infer_timeframe(data.index)
        horizons = cfg.resolved_horizons()
        feats, target, ends = make_dataset(data, cfg.window, horizons, cfg.calendar)
        ts = data.index.asi8
        val_start = end_ts - pd.Timedelta(days=cfg.val_days if val_days is None else val_days)
        horizon_bars = max(horizons) * get_calendar(cfg.calendar).bars_per_day(step)
        embargo = (cfg.window + horizon_bars) * step
        return cls(feats, target, ends[ts[ends] < (val_start - embargo).value], ends[ts[ends] >= val_start.value],
                   val_start)

    def windows(self, which: str, window: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Input windows ``(n, window, features)`` and targets ``(n, H)`` of ``"train_rows"`` or ``"val_rows"``."""
        rows = getattr(self, which)
        x_all = torch.from_numpy(np.nan_to_num(self.feats).astype(np.float32))
        return _windows(x_all, rows, window), torch.from_numpy(self.target.astype(np.float32))[rows]

    def scaler_rows(self, amap: np.ndarray, window: int) -> np.ndarray:
        """The mapped feature rows the training windows touch (what the scaler is fitted on), nothing later."""
        first_train = max(int(self.train_rows[0]) - window + 1, 0)
        return (self.feats @ amap.T)[first_train: int(self.train_rows[-1]) + 1]


def new_network(cfg: TrainConfig, scaler_rows, horizons) -> VolatilityLSTM:
    """An untrained network of ``cfg``'s form (input map, scaler fitted on ``scaler_rows``: a function of the
    input map giving the mapped training rows); its correction starts at zero."""
    n = len(FEATURE_NAMES)
    amap = relative_form(FEATURE_NAMES) if cfg.relative else np.eye(n)  # identity, or the scale-free form
    rows = scaler_rows(amap)
    mean, std = np.nanmean(rows, axis=0), np.nanstd(rows, axis=0)
    model = VolatilityLSTM(n, cfg.hidden_size, cfg.num_layers, cfg.dropout, tuple(HAR_COLUMNS), len(horizons),
                           cfg.relative)
    model.set_input_map(torch.tensor(amap, dtype=torch.float32))
    model.set_scaler(torch.tensor(mean, dtype=torch.float32), torch.tensor(std, dtype=torch.float32))
    return model


def run_epochs(model: torch.nn.Module, optimizer, batch_loss, val_loss, n_train: int, cfg, generator,
               progress: bool = False, desc: str = "train") -> tuple[float, int, list[dict]]:
    """Shuffled mini-batches, gradient clipping at 1, early stopping on the validation loss with the best
    epoch kept (epoch 0, the starting weights, included): the loop every training here runs.

    ``batch_loss(indices)`` is the loss of a batch of training windows, ``val_loss()`` the validation loss;
    ``cfg`` gives ``batch_size``, ``max_epochs`` and ``patience``. The best weights are loaded into
    ``model`` on return. Returns the best validation loss, its epoch and the history per epoch.
    """
    def evaluate() -> float:
        model.eval()
        with torch.inference_mode():
            return val_loss()

    best_loss, best_state, best_epoch, stale = evaluate(), copy.deepcopy(model.state_dict()), 0, 0
    history = [{"epoch": 0, "train_qlike": float("nan"), "val_qlike": best_loss, "seconds": 0.0}]
    bar = tqdm(range(1, cfg.max_epochs + 1), desc=desc, disable=not progress, unit="epoch")
    started = time.perf_counter()
    for epoch in bar:
        model.train()
        order = torch.randperm(n_train, generator=generator)
        total = 0.0
        for lo in range(0, len(order), cfg.batch_size):
            batch = order[lo: lo + cfg.batch_size]
            optimizer.zero_grad()
            loss = batch_loss(batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        val = evaluate()
        history.append({"epoch": epoch, "train_qlike": total / len(order), "val_qlike": val,
                        "seconds": time.perf_counter() - started})
        bar.set_postfix(train=f"{total / len(order):.4f}", val=f"{val:.4f}", best=f"{best_loss:.4f}")
        if val < best_loss - 1e-5:
            best_loss, best_state, best_epoch, stale = val, copy.deepcopy(model.state_dict()), epoch, 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    model.load_state_dict(best_state)
    return best_loss, best_epoch, history


def _train_lstm(df: pd.DataFrame, train_end: str, cfg: TrainConfig, train_start: str | None,
                progress: bool) -> TrainResult:
    seed_everything(cfg.seed)
    end_ts = end_of_day(train_end)
    data = df[df.index <= end_ts]  # never read past train_end
    if train_start:
        data = data[data.index >= pd.Timestamp(train_start, tz="UTC")]
    step = infer_timeframe(data.index)
    horizons = cfg.resolved_horizons()
    # targets are computed on `data`, which ends at train_end: a target that would need a later bar
    # is NaN and its row is dropped, so every target ends by train_end
    split = WindowSplit.of(data, end_ts, cfg)
    train_rows, val_rows = split.train_rows, split.val_rows
    if len(train_rows) < 4 * cfg.batch_size or len(val_rows) < 100:
        raise ShortHistoryError(f"{df.attrs.get('source', 'data')}: only {len(train_rows)} training and "
                        f"{len(val_rows)} validation windows before {train_end}; pass a longer history "
                        "or a smaller val_days/window")
    model = new_network(cfg, lambda amap: split.scaler_rows(amap, cfg.window), horizons)
    coef, intercept = _ols_log_har(split.feats, split.target, train_rows)
    model.set_har(torch.tensor(coef, dtype=torch.float32), torch.tensor(intercept, dtype=torch.float32))
    device = torch.device(cfg.device)
    model.to(device)
    (x_train, y_train), (x_val, y_val) = split.windows("train_rows", cfg.window), split.windows("val_rows", cfg.window)
    x_train, y_train, x_val, y_val = x_train.to(device), y_train.to(device), x_val.to(device), y_val.to(device)

    optimizer = torch.optim.Adam([
        {"params": [p for n, p in model.named_parameters() if not n.startswith("har.")], "lr": cfg.lr},
        {"params": model.har.parameters(), "lr": cfg.har_lr},
    ], weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(cfg.seed)

    def batch_loss(batch: torch.Tensor) -> torch.Tensor:
        batch = batch.to(device)
        return qlike_loss(model(x_train[batch]), y_train[batch])

    best_loss, best_epoch, history = run_epochs(model, optimizer, batch_loss,
                                                lambda: float(qlike_loss(model(x_val), y_val)), len(train_rows),
                                                cfg, generator, progress)
    model.to("cpu").eval()
    used = data[data.index <= end_ts]
    card = ModelCard(
        architecture=dict(model.config), feature_names=list(FEATURE_NAMES),
        timeframe=timeframe_label(step), horizons=horizons, window=cfg.window, calendar=cfg.calendar,
        train_start=str(used.index[0]), train_end=str(end_ts), train_fingerprint=fingerprint(used),
        source=str(df.attrs.get("source", "")),
        metrics={"val_qlike": best_loss, "val_qlike_log_har_init": history[0]["val_qlike"],
                 "best_epoch": best_epoch, "epochs_run": len(history) - 1,
                 "train_rows": int(len(train_rows)), "val_rows": int(len(val_rows)),
                 "val_start": str(split.val_start), "seconds": history[-1]["seconds"]},
        training={k: v for k, v in cfg.__dict__.items() if k not in ("device", "threads")} | {"horizons": horizons},
    )
    return TrainResult(model, card, history)


def _validation_windows(df: pd.DataFrame, card: ModelCard) -> tuple[torch.Tensor, torch.Tensor]:
    end_ts = pd.Timestamp(card.train_end)
    data = df[df.index <= end_ts]
    feats, target, ends = make_dataset(data, card.window, card.horizons, card.calendar)
    ts = data.index.asi8
    ends = ends[ts[ends] >= pd.Timestamp(card.metrics["val_start"]).value]
    x = _windows(torch.from_numpy(np.nan_to_num(feats).astype(np.float32)), ends, card.window)
    return x, torch.from_numpy(target[ends].astype(np.float32))


def validation_qlike(model: VolatilityLSTM, df: pd.DataFrame, card: ModelCard) -> float:
    """QLIKE of ``model`` on the validation rows recorded in ``card`` (nothing after train_end)."""
    x, y = _validation_windows(df, card)
    with torch.inference_mode():
        return float(qlike_loss(model(x), y))


def gate_corrections(model: VolatilityLSTM, df: pd.DataFrame, card: ModelCard) -> list[bool]:
    """Keep each horizon's LSTM correction only where it lowers that horizon's validation QLIKE.

    A model selection on the validation rows (never after ``train_end``): a horizon whose
    correction does not help on validation forecasts with its log-HAR head alone (its read-out is
    set to zero). Returns which corrections were kept; the card records them too.
    """
    x, y = _validation_windows(df, card)
    with torch.inference_mode():
        head = model.head(x)
        full = head + model.correction_of(x)
    keep = []
    for j in range(y.shape[1]):
        with_corr = float(qlike_loss(full[:, j], y[:, j]))
        head_only = float(qlike_loss(head[:, j], y[:, j]))
        keep.append(with_corr < head_only)
    zero_corrections(model, keep)
    card.metrics["correction_kept"] = keep
    return keep


def train_ensemble(df: pd.DataFrame, train_end: str, config: TrainConfig | None = None,
                   members: int = 3, train_start: str | None = None, progress: bool = True) -> TrainResult:
    """Train ``members`` seeds (``config.seed``, ``+1``, ...) and merge them into one network.

    The merged model forecasts the geometric mean of the members (see
    :func:`~lstm_strategies.model.merge_ensemble`), which is much less seed-dependent than any
    single member.
    """
    from lstm_strategies.models.network import merge_ensemble

    cfg = copy.deepcopy(config or TrainConfig())
    results = []
    for i in range(members):
        cfg_i = copy.deepcopy(cfg)
        cfg_i.seed = cfg.seed + i
        results.append(train_lstm(df, train_end, cfg_i, train_start, progress))
    if members == 1:
        gate_corrections(results[0].model, df, results[0].card)
        results[0].card.metrics["val_qlike"] = validation_qlike(results[0].model, df, results[0].card)
        return results[0]
    model = merge_ensemble([r.model for r in results])
    card = copy.deepcopy(results[0].card)
    card.metrics["member_val_qlike"] = [r.card.metrics["val_qlike"] for r in results]
    card.metrics["member_best_epoch"] = [r.card.metrics["best_epoch"] for r in results]
    card.metrics["seconds"] = sum(r.card.metrics["seconds"] for r in results)
    card.metrics.pop("best_epoch", None)
    gate_corrections(model, df, card)
    card.metrics["val_qlike"] = validation_qlike(model, df, card)
    card.training["members"] = members
    card.architecture = dict(model.config)
    history = [h | {"member": i} for i, r in enumerate(results) for h in r.history]
    return TrainResult(model, card, history)
