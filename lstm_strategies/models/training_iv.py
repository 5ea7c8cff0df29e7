"""Train the LSTM with implied volatility (LSTM-IV), the design frozen on data up to 2022 (issue #18).

.. math:: \\log f_{t,h} = \\log \\mathrm{head}_{t,h} + g_h \\, (w_h^\\top \\mathrm{LSTM}(z_{t-W+1..t}) + c_h)

* **Head**: log-HAR refit every 30 days on the expanding window, computed **walk-forward in
  training exactly as at inference**, so the correction learns the refit head's out-of-sample
  errors (the plain LSTM trains against an in-sample head and swaps in the refit one afterwards).
* **Inputs** ``z``: the library's ten features in scale-free form plus the three implied columns
  (:mod:`lstm_strategies.features.implied`), standardised with the training rows' mean and standard
  deviation (the implied ones over the rows with a value); rows without an implied value (before
  DVOL existed) enter with the implied columns at 0 and the flag at 0.
* **Loss**: QLIKE on the corrected horizons only (default all but the longest: 1 and 7 days), the
  others' read-outs held at zero (their forecast is the head alone: every 30-day correction hurt on
  2022). A fixed number of epochs (4), seeds ``seed .. seed + members - 1`` averaged in log space
  (merged into one network); Adam, weight decay, batch 256, gradient clip 1.
* **Gates**: a first network trained on the rows whose targets end ``val_days`` before
  ``train_end`` is scored on the daily origins of those last ``val_days`` (each day's last bar,
  targets ending by ``train_end``): a horizon keeps its correction only if it lowers that horizon's
  QLIKE there. The final network is trained on every row whose targets end by ``train_end``.

Nothing after ``train_end`` is read (bars and implied values are cut first); ``seed`` reproduces a
CPU run bit for bit.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from lstm_strategies.core.errors import DataError
from lstm_strategies.data.bars import end_of_day, fingerprint, infer_timeframe, timeframe_label
from lstm_strategies.data.calendar import get_calendar, validate_horizons
from lstm_strategies.features.implied import IMPLIED_FEATURE_NAMES, MONTH, implied_block, implied_input_map
from lstm_strategies.features.realized import (
    FEATURE_NAMES,
    feature_matrix,
    forecast_origins,
    forward_variance_matrix,
    target_ends,
)
from lstm_strategies.market.exogenous import MAX_AGE
from lstm_strategies.market.implied import ImpliedVolLookup
from lstm_strategies.models.checkpoint import ModelCard
from lstm_strategies.models.network import VolatilityLSTM, merge_ensemble, qlike_loss, relative_form, zero_corrections
from lstm_strategies.models.training import TrainResult, _ols_log_har, _windows, seed_everything


@dataclass
class ImpliedTrainConfig:
    """Hyper-parameters of the LSTM-IV (chosen on data up to 2022: see README).

    ``corrected`` lists the horizons (days) whose correction is trained (default: all but the
    longest); ``head_*`` is the refit log-HAR head's schedule.
    """

    window: int = 48
    hidden_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 256
    epochs: int = 4
    val_days: int = 365
    horizons: list[int] | None = None
    corrected: list[int] | None = None
    head_min_train_days: int = 180
    head_refit_every_days: int = 30
    seed: int = 0
    calendar: str = "crypto"
    #: torch threads while training (restored afterwards): the network is tiny, so more threads only add
    #: synchronisation (on 2 shared cores one thread trains ~10x faster); None keeps torch's setting
    threads: int | None = 1

    def resolved_horizons(self) -> list[int]:
        return list(validate_horizons(self.horizons, get_calendar(self.calendar)))

    def loss_weights(self) -> list[float]:
        horizons = self.resolved_horizons()
        corrected = horizons[:-1] if self.corrected is None else list(self.corrected)
        return [1.0 if h in corrected else 0.0 for h in horizons]


class _Member(nn.Module):
    """One seed: an LSTM over the window and a zero-initialised read-out per horizon (masked horizons stay 0)."""

    def __init__(self, n_in: int, hidden: int, mask: list[float]):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, len(mask))
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.register_buffer("mask", torch.tensor(mask, dtype=torch.float32))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(z)
        return self.out(h[:, -1]) * self.mask


def series_digest(series: pd.Series) -> str:
    """SHA-256 of an exogenous series' times and values (what a model was trained on)."""
    return hashlib.sha256(series.index.as_unit("ns").asi8.tobytes() + series.to_numpy("float64").tobytes()).hexdigest()


def prepare(df: pd.DataFrame, implied: pd.Series, cfg: ImpliedTrainConfig) -> dict:
    """Inputs, walk-forward head, targets and target ends for every bar of ``df``."""
    from lstm_strategies.forecasters.har import LogHARForecaster

    horizons = cfg.resolved_horizons()
    cal = get_calendar(cfg.calendar)
    step = infer_timeframe(df.index)
    feats = feature_matrix(df, cfg.calendar)
    now, prev = ImpliedVolLookup(implied, MAX_AGE).values_at(df.index.as_unit("ns").asi8 + step.value)
    block = implied_block(feats[:, MONTH], now, prev, cal.days_per_year, fill=(0.0, 0.0))
    x = np.column_stack([feats @ relative_form(FEATURE_NAMES).T, block])
    head = LogHARForecaster(cfg.head_min_train_days, cfg.head_refit_every_days, calendar=cfg.calendar,
                            horizons=horizons).fit(df).predict_batch(df)
    return {"df": df, "feats": feats, "x": x, "offset": np.log(head), "Y": forward_variance_matrix(df, horizons,
            cfg.calendar), "ends": target_ends(df, horizons, cfg.calendar, cal.bars_per_day(step))}


def training_rows(prep: dict, end: pd.Timestamp, window: int) -> np.ndarray:
    """Bars ending a complete window of valid inputs whose every target is known by ``end``."""
    df, x = prep["df"], prep["x"]
    last = int(np.searchsorted(df.index.asi8, end.value, side="right")) - 1
    valid = np.isfinite(x).all(axis=1)
    full = np.convolve(valid.astype(int), np.ones(window, dtype=int), "full")[: len(df)] == window
    Y = prep["Y"]
    ok = (full & (prep["ends"] <= last).all(axis=1) & np.isfinite(Y).all(axis=1) & (Y > 0).all(axis=1)
          & np.isfinite(prep["offset"]).all(axis=1))
    ok[last + 1:] = False
    return np.flatnonzero(ok)


def scaler(x: np.ndarray, rows: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the rows the training windows touch (implied columns: over the
    rows with a value; the flag stays 0/1; a constant column gets a standard deviation of 1)."""
    span = x[max(int(rows[0]) - window + 1, 0): int(rows[-1]) + 1]
    mean, std = np.nanmean(span, axis=0), np.nanstd(span, axis=0)
    avail = span[:, -1] > 0
    if avail.any():
        mean[-3:-1] = span[avail, -3:-1].mean(axis=0)
        std[-3:-1] = span[avail, -3:-1].std(axis=0)
    mean[-1], std[-1] = 0.0, 1.0
    std = np.where(std <= 1e-6 * np.maximum(np.abs(mean), 1.0), 1.0, std)
    return mean, std


def standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    z = (x - mean) / std
    z[x[:, -1] == 0, -3:-1] = 0.0          # no implied value: the implied inputs are 0
    return np.nan_to_num(z).astype(np.float32)


def train_members(prep: dict, rows: np.ndarray, cfg: ImpliedTrainConfig, members: int) -> dict:
    """``members`` seeds trained for ``cfg.epochs`` epochs on ``rows``: their states and the scaler."""
    mean, std = scaler(prep["x"], rows, cfg.window)
    z = torch.from_numpy(standardise(prep["x"], mean, std))
    xw = _windows(z, rows, cfg.window)
    off = torch.from_numpy(prep["offset"].astype(np.float32))[rows]
    y = torch.from_numpy(np.nan_to_num(prep["Y"], nan=1.0).astype(np.float32))[rows]
    weights = cfg.loss_weights()
    lw = torch.tensor(weights, dtype=torch.float32)
    states, started = [], time.perf_counter()
    for i in range(members):
        seed = cfg.seed + i
        seed_everything(seed)
        model = _Member(z.shape[1], cfg.hidden_size, [float(w > 0) for w in weights])
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(cfg.epochs):
            model.train()
            order = torch.randperm(len(rows), generator=gen)
            for lo in range(0, len(order), cfg.batch_size):
                b = order[lo: lo + cfg.batch_size]
                opt.zero_grad()
                loss = qlike_loss(off[b] + model(xw[b]), y[b], lw)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
        states.append(copy.deepcopy(model.eval()))
    return {"members": states, "mean": mean, "std": std, "z": z, "rows": rows,
            "seconds": time.perf_counter() - started}


def member_corrections(result: dict, rows: np.ndarray, window: int) -> np.ndarray:
    """Mean log correction of the members at ``rows``: ``(len(rows), H)``."""
    xw = _windows(result["z"], rows, window)
    with torch.inference_mode():
        return np.mean([m(xw).numpy() for m in result["members"]], axis=0)


def network(result: dict, prep: dict, gates: list[bool]) -> VolatilityLSTM:
    """The members as one merged :class:`VolatilityLSTM` (input map, scaler, an in-sample log-HAR head for
    ``head = "frozen"``), the read-outs of gated-off horizons set to zero."""
    rows = result["rows"]
    coef, intercept = _ols_log_har(prep["feats"], prep["Y"], rows)
    nets = []
    for member in result["members"]:
        net = VolatilityLSTM(len(IMPLIED_FEATURE_NAMES), member.lstm.hidden_size, 1, 0.0, (0, 1, 2),
                             len(gates), relative=True)
        net.set_input_map(torch.tensor(implied_input_map(), dtype=torch.float32))
        net.set_scaler(torch.tensor(result["mean"], dtype=torch.float32), torch.tensor(result["std"],
                       dtype=torch.float32))
        net.set_har(torch.tensor(coef, dtype=torch.float32), torch.tensor(intercept, dtype=torch.float32))
        net.lstm.load_state_dict(member.lstm.state_dict())
        with torch.no_grad():
            net.correction.weight.copy_(member.out.weight * member.mask[:, None])
            net.correction.bias.copy_(member.out.bias * member.mask)
        nets.append(net)
    merged = merge_ensemble(nets) if len(nets) > 1 else nets[0].eval()
    return zero_corrections(merged, gates)


def validation_gates(df: pd.DataFrame, implied: pd.Series, end: pd.Timestamp, cfg: ImpliedTrainConfig,
                     members: int) -> dict:
    """Train on the rows whose targets end ``val_days`` before ``end``; per horizon, the QLIKE ratio of
    head + correction to the head alone on the daily origins after that, and whether to keep it."""
    prep = prepare(df, implied, cfg)
    first_end = end - pd.Timedelta(days=cfg.val_days)
    rows = training_rows(prep, first_end, cfg.window)
    result = train_members(prep, rows, cfg, members)
    origins = forecast_origins(df, str((first_end + pd.Timedelta(1, "ns")).date()), str(end.date()))
    corr = member_corrections(result, origins, cfg.window)
    off, Y = prep["offset"][origins], prep["Y"][origins]
    ratios, keep = [], []
    for j, w in enumerate(cfg.loss_weights()):
        ok = np.isfinite(Y[:, j])
        y, head = Y[ok, j], np.exp(off[ok, j])
        full = np.exp(off[ok, j] + corr[ok, j])
        ratio = float(np.mean(y / full - np.log(y / full) - 1) / np.mean(y / head - np.log(y / head) - 1))
        ratios.append(ratio)
        keep.append(bool(w > 0 and ratio < 1.0))
    return {"ratios": ratios, "keep": keep, "rows": len(rows), "origins": len(origins), "seconds": result["seconds"]}


def train_implied_lstm(df: pd.DataFrame, implied: pd.Series, train_end: str, config: ImpliedTrainConfig | None = None,
                       members: int = 3) -> TrainResult:
    """The LSTM-IV trained on ``df`` and ``implied`` up to ``train_end`` (see the module docstring).

    Parameters
    ----------
    df : DataFrame
        OHLCV bars; rows after ``train_end`` are dropped before anything is computed.
    implied : Series
        Implied volatility from :func:`~lstm_strategies.implied.load_implied_vol` (index = time known);
        values known after the last bar's close are dropped.
    train_end : str
        Last date whose targets may be used.
    members : int
        Seeds merged into the network.
    """
    cfg = config or ImpliedTrainConfig()
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train(df, implied, train_end, cfg, members)
    finally:
        torch.set_num_threads(threads)


def _train(df: pd.DataFrame, implied: pd.Series, train_end: str, cfg: ImpliedTrainConfig, members: int) -> TrainResult:
    end = end_of_day(train_end)
    data = df[df.index <= end]
    attrs = dict(df.attrs)
    data.attrs = attrs
    step = infer_timeframe(data.index)
    iv = implied[implied.index <= end + step]
    iv.attrs = dict(implied.attrs)
    if not len(iv):
        raise DataError(f"{implied.attrs.get('source', 'implied vol')}: no value known by {train_end}; the LSTM-IV "
                        "learns from implied volatility: give a series that starts before the training end")
    started = time.perf_counter()
    gates = validation_gates(data, iv, end, cfg, members)
    prep = prepare(data, iv, cfg)
    rows = training_rows(prep, end, cfg.window)
    if len(rows) < 4 * cfg.batch_size:
        raise DataError(f"{attrs.get('source', 'data')}: only {len(rows)} training windows before {train_end}; "
                        "pass a longer history")
    result = train_members(prep, rows, cfg, members)
    model = network(result, prep, gates["keep"])
    horizons = cfg.resolved_horizons()
    card = ModelCard(
        architecture=dict(model.config), feature_names=list(IMPLIED_FEATURE_NAMES), timeframe=timeframe_label(step),
        horizons=horizons, window=cfg.window, calendar=cfg.calendar, train_start=str(data.index[0]),
        train_end=str(end), train_fingerprint=fingerprint(data), source=str(attrs.get("source", "")),
        metrics={"correction_kept": gates["keep"], "val_qlike_ratio_to_head": gates["ratios"],
                 "val_origins": gates["origins"], "val_train_rows": gates["rows"], "train_rows": int(len(rows)),
                 "first_row": str(data.index[rows[0]]), "last_row": str(data.index[rows[-1]]),
                 "seconds": gates["seconds"] + result["seconds"], "wall_seconds": time.perf_counter() - started},
        training={k: v for k, v in dataclasses.asdict(cfg).items() if k != "threads"}
        | {"horizons": horizons, "members": members, "design": "lstm_iv", "loss_weights": cfg.loss_weights(),
           "implied_source": str(iv.attrs.get("source", "")), "implied_sha256": series_digest(iv),
           "implied_last_known": str(iv.index[-1]), "implied_max_age": MAX_AGE},
        inputs=["implied_vol"])
    return TrainResult(model, card, [])
