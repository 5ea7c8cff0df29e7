"""An LSTM correction on top of a refitting head, with implied volatility among its inputs.

Model (one network per asset, all three horizons):

    log f_{t,h} = offset_{t,h} + w_h' LSTM(z_{t-W+1..t}) + c_h

* ``offset``: the log forecast of a *refitting head*, computed walk-forward exactly as it is in the
  race (so training and inference see the same head): ``har`` = log-HAR refit monthly,
  ``har_iv`` = HAR-IV refit monthly (log-HAR where DVOL is unknown), ``implied_raw`` = log(IV^2 h/365),
  ``implied_level`` = log of the level-corrected implied variance (trailing window ``level_window``).
* ``z``: the library's 10 features in relative (scale-free) form, plus, with ``iv_inputs``, the three
  ``ivfeatures.IV_FEATURES`` (VRP vs the trailing month's RV, 1-day change of log DVOL, availability
  flag); standardised with the training rows' mean/std (IV features over rows where DVOL exists;
  masked rows stay 0).
* The read-out ``(w_h, c_h)`` starts at zero: before training the model *is* its head.
* Pre-DVOL bars (before 2021-03-25): ``start="mask"`` trains on every bar (IV inputs 0, flag 0; an
  implied offset falls back to log-HAR there), ``start="iv"`` trains only on windows that end after
  DVOL is known.
* Loss QLIKE summed over horizons; Adam lr 1e-3, weight decay 1e-3, batch 256, gradient clip 1,
  window 48 bars, 8 hidden units, a fixed number of epochs; seeds 0, 1, 2 averaged in log space.

    python train_iv.py select   # stage 1: train to 2021-12-31, score every epoch on 2022
    python train_iv.py final    # stage 2: the frozen design, train to 2022-12-31 (see race.py)
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

import har_iv as HI
import ivfeatures as F
from lstm_strategies.features import FEATURE_NAMES
from lstm_strategies.model import relative_form

torch.set_num_threads(1)


@dataclass(frozen=True)
class Variant:
    name: str
    offset: str = "har"            # har | har_iv | implied_raw | implied_level
    iv_inputs: bool = True
    start: str = "mask"            # mask | iv
    level_window: int | None = 365
    window: int = 48
    hidden: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch: int = 256
    max_epochs: int = 12
    loss_weights: tuple = (1.0, 1.0, 1.0)   # per horizon; 0 = that horizon's read-out stays 0 (head alone)
    bias: bool = True                       # the read-out's constant c_h
    drop: tuple = ()                        # IV inputs zeroed (ablations)


VARIANTS = [
    Variant("har_noiv", "har", iv_inputs=False),
    Variant("har_iv_in", "har", iv_inputs=True),
    Variant("har_iv_in_start", "har", iv_inputs=True, start="iv"),
    Variant("hariv_noiv", "har_iv", iv_inputs=False),
    Variant("hariv_iv_in", "har_iv", iv_inputs=True),
    Variant("implraw_iv_in_start", "implied_raw", iv_inputs=True, start="iv"),
    Variant("impllevel_iv_in_start", "implied_level", iv_inputs=True, start="iv"),
    Variant("implraw_iv_in", "implied_raw", iv_inputs=True),
    # added after the first eight (still stage 1, 2022 only): the 30-day correction hurt in every
    # variant, so train without it (its read-out stays 0), and without the constant c_h
    Variant("har_iv_in_h17", "har", iv_inputs=True, loss_weights=(1.0, 1.0, 0.0)),
    Variant("har_iv_in_h1", "har", iv_inputs=True, loss_weights=(1.0, 0.0, 0.0)),
    Variant("har_iv_in_nobias", "har", iv_inputs=True, bias=False),
    Variant("hariv_iv_in_h17", "har_iv", iv_inputs=True, loss_weights=(1.0, 1.0, 0.0)),
    Variant("har_noiv_h17", "har", iv_inputs=False, loss_weights=(1.0, 1.0, 0.0)),
    # ablations of the chosen form (informational, 2022 only)
    Variant("har_iv_in_h17_novrp", "har", iv_inputs=True, loss_weights=(1.0, 1.0, 0.0), drop=("iv_vrp",)),
    Variant("har_iv_in_h17_nodlog", "har", iv_inputs=True, loss_weights=(1.0, 1.0, 0.0), drop=("iv_dlog",)),
    Variant("har_iv_in_h17_start", "har", iv_inputs=True, loss_weights=(1.0, 1.0, 0.0), start="iv"),
]
SEEDS = (0, 1, 2)


# ---------------------------------------------------------------------------------------- data
def heads(df: pd.DataFrame, iv_now: np.ndarray, feats: np.ndarray, level_window=365) -> dict:
    """All head forecasts (variances, (n, H)), walk-forward; implied ones fall back to log-HAR."""
    lh = HI.log_har(df)
    hiv, _ = HI.har_iv(df, iv_now, feats, lh)
    raw = HI.implied_raw(iv_now)
    lev = HI.implied_level(df, iv_now, level_window)
    out = {"har": lh, "har_iv": hiv, "implied_raw": raw.copy(), "implied_level": lev.copy()}
    for k in ("implied_raw", "implied_level"):
        bad = ~np.isfinite(out[k])
        out[k][bad] = lh[bad]
    return out


def prepare(asset: str, data_end: str | None, level_window=365, data=None) -> dict:
    """Everything a variant needs, on bars up to ``data_end`` (nothing later is loaded).

    ``data`` = ``(df, iv)`` uses those frames instead of loading (the race and the causality check).
    """
    df, iv = F.load(asset, data_end) if data is None else data
    now, prev = F.iv_at_bars(df, iv)
    feats = F.base_features(df)
    rel = feats @ relative_form(FEATURE_NAMES).T
    ivb = F.iv_feature_block(feats, now, prev)
    return {"asset": asset, "df": df, "iv_now": now, "feats": feats, "rel": rel, "ivb": ivb,
            "heads": heads(df, now, feats, level_window), "Y": F.targets(df), "ends": F.target_ends(df)}


def inputs(prep: dict, v: Variant) -> np.ndarray:
    if not v.iv_inputs:
        return prep["rel"]
    ivb = prep["ivb"].copy()
    for name in v.drop:
        ivb[:, F.IV_FEATURES.index(name)] = 0.0
    return np.column_stack([prep["rel"], ivb])


def training_rows(prep: dict, v: Variant, train_end: str) -> np.ndarray:
    """Bars ending a complete window whose every target is known by ``train_end``'s last bar."""
    df = prep["df"]
    ts = df.index.asi8
    last = int(np.searchsorted(ts, F.end_of_day(train_end).value, side="right")) - 1
    x = inputs(prep, v)
    valid = np.isfinite(x).all(axis=1)
    full = np.convolve(valid.astype(int), np.ones(v.window, dtype=int), "full")[: len(df)] == v.window
    off = np.log(prep["heads"][v.offset])
    ok = full & (prep["ends"] <= last).all(axis=1) & np.isfinite(prep["Y"]).all(axis=1) & \
        (prep["Y"] > 0).all(axis=1) & np.isfinite(off).all(axis=1)
    ok[last + 1:] = False
    if v.start == "iv":  # every bar of the window has DVOL
        avail = prep["ivb"][:, 2] > 0
        ok &= np.convolve(avail.astype(int), np.ones(v.window, dtype=int), "full")[: len(df)] == v.window
    return np.flatnonzero(ok)


def scaler(x: np.ndarray, rows: np.ndarray, v: Variant) -> tuple[np.ndarray, np.ndarray]:
    span = x[max(int(rows[0]) - v.window + 1, 0): int(rows[-1]) + 1]
    mean, std = np.nanmean(span, axis=0), np.nanstd(span, axis=0)
    if v.iv_inputs:
        avail = span[:, -1] > 0
        mean[-3:-1] = span[avail, -3:-1].mean(axis=0)
        std[-3:-1] = span[avail, -3:-1].std(axis=0)
        mean[-1], std[-1] = 0.0, 1.0          # the flag stays 0/1
    std = np.where(std <= 1e-6 * np.maximum(np.abs(mean), 1.0), 1.0, std)   # constant (relative month = 0)
    return mean, std


def standardise(x: np.ndarray, mean: np.ndarray, std: np.ndarray, v: Variant) -> np.ndarray:
    z = (x - mean) / std
    if v.iv_inputs:
        z[x[:, -1] == 0, -3:-1] = 0.0          # no DVOL: IV inputs masked at 0
    return np.nan_to_num(z).astype(np.float32)


# --------------------------------------------------------------------------------------- model
class Correction(nn.Module):
    """LSTM over the window, linear read-out per horizon, zero at start; ``mask`` (H,) zeroes horizons."""

    def __init__(self, n_in: int, hidden: int, n_out: int, bias: bool = True, mask=None):
        super().__init__()
        self.lstm = nn.LSTM(n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, n_out, bias=bias)
        nn.init.zeros_(self.out.weight)
        if bias:
            nn.init.zeros_(self.out.bias)
        self.register_buffer("mask", torch.ones(n_out) if mask is None else torch.as_tensor(mask, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(x)
        return self.out(h[:, -1]) * self.mask


def make_model(n_in: int, v: Variant) -> Correction:
    return Correction(n_in, v.hidden, len(F.HORIZONS), v.bias, [float(w > 0) for w in v.loss_weights])


def windows(z: torch.Tensor, rows: np.ndarray, window: int) -> torch.Tensor:
    return z.unfold(0, window, 1).permute(0, 2, 1)[torch.from_numpy(np.asarray(rows) - (window - 1))]


def qlike_log(logf: torch.Tensor, y: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    per_h = (y * torch.exp(-logf) + logf - torch.log(y) - 1.0).mean(dim=0)
    return per_h.sum() if weights is None else (per_h * weights).sum()


def train(prep: dict, v: Variant, train_end: str, epochs: int, seeds=SEEDS, eval_rows=None,
          log=print) -> dict:
    """Train ``len(seeds)`` members for ``epochs`` epochs on rows up to ``train_end``.

    Returns the members (state dicts), the scaler, and with ``eval_rows`` the members' corrections at
    those rows after every epoch (``evals[seed][epoch]``, epoch 0 = untrained = the head alone).
    """
    x = inputs(prep, v)
    rows = training_rows(prep, v, train_end)
    mean, std = scaler(x, rows, v)
    z = torch.from_numpy(standardise(x, mean, std, v))
    off = torch.from_numpy(np.log(prep["heads"][v.offset]).astype(np.float32))
    y = torch.from_numpy(np.nan_to_num(prep["Y"], nan=1.0).astype(np.float32))
    xw = windows(z, rows, v.window)
    o_tr, y_tr = off[rows], y[rows]
    xe = windows(z, eval_rows, v.window) if eval_rows is not None else None
    lw = torch.tensor(v.loss_weights, dtype=torch.float32)
    members, evals, secs = [], {}, 0.0
    for seed in seeds:
        torch.manual_seed(seed)
        np.random.seed(seed)
        model = make_model(x.shape[1], v)
        opt = torch.optim.Adam(model.parameters(), lr=v.lr, weight_decay=v.weight_decay)
        gen = torch.Generator().manual_seed(seed)
        ev = []
        if xe is not None:
            with torch.inference_mode():
                ev.append(model(xe).numpy().copy())
        t0 = time.perf_counter()
        for ep in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(rows), generator=gen)
            tot = 0.0
            for lo in range(0, len(order), v.batch):
                b = order[lo: lo + v.batch]
                opt.zero_grad()
                loss = qlike_log(o_tr[b] + model(xw[b]), y_tr[b], lw)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                tot += float(loss.detach()) * len(b)
            model.eval()
            if xe is not None:
                with torch.inference_mode():
                    ev.append(model(xe).numpy().copy())
            log(f"  {prep['asset']} {v.name} seed {seed} epoch {ep}: train qlike {tot / len(rows):.4f}")
        secs += time.perf_counter() - t0
        evals[seed] = ev
        members.append({k: t.clone() for k, t in model.state_dict().items()})
    return {"members": members, "mean": mean, "std": std, "evals": evals, "rows": len(rows),
            "first_row": str(prep["df"].index[rows[0]]), "last_row": str(prep["df"].index[rows[-1]]),
            "seconds": secs}


def correction(result: dict, prep: dict, v: Variant, rows: np.ndarray) -> np.ndarray:
    """Mean (over members) log correction at ``rows`` (n_rows, H)."""
    x = inputs(prep, v)
    z = torch.from_numpy(standardise(x, result["mean"], result["std"], v))
    xe = windows(z, rows, v.window)
    outs = []
    for state in result["members"]:
        m = make_model(x.shape[1], v)
        m.load_state_dict(state)
        m.eval()
        with torch.inference_mode():
            outs.append(m(xe).numpy())
    return np.mean(outs, axis=0)


# ------------------------------------------------------------------------------------ stage 1
def select(names=None):
    """Stage 1: train to 2021-12-31, score the seed-averaged forecast on 2022 after every epoch."""
    F.OUT.mkdir(exist_ok=True)
    variants = [v for v in VARIANTS if names is None or v.name in names]
    path = F.OUT / "val_lstm_epochs.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame()
    for asset in ("btc", "eth"):
        prep = prepare(asset, F.VAL_END)
        pos = F.origins(prep["df"], F.VAL_START, F.VAL_END)
        Y = prep["Y"][pos]
        ok = np.isfinite(Y)
        ref = prep["heads"]["har"][pos]
        qref = _qlike_per_h(Y, ok, ref)
        for v in variants:
            if len(done) and ((done["asset"] == asset) & (done["variant"] == v.name)).any():
                continue
            res = train(prep, v, F.TRAIN_END_1, v.max_epochs, eval_rows=pos, log=lambda *_: None)
            off = np.log(prep["heads"][v.offset][pos])
            recs = []
            for ep in range(v.max_epochs + 1):
                corr = np.mean([res["evals"][s][ep] for s in SEEDS], axis=0)
                r = _qlike_per_h(Y, ok, np.exp(off + corr)) / qref
                recs.append({"asset": asset, "variant": v.name, "epoch": ep, "r1": r[0], "r7": r[1], "r30": r[2],
                             "rows": res["rows"], "first_row": res["first_row"], "seconds": res["seconds"]})
            frame = pd.DataFrame(recs)
            print(frame.round(4).to_string(index=False), flush=True)
            done = pd.concat([done, frame], ignore_index=True)
            done.to_csv(path, index=False)


def _ql(y, f):
    r = y / f
    return r - np.log(r) - 1.0


def _qlike_per_h(Y: np.ndarray, ok: np.ndarray, f: np.ndarray) -> np.ndarray:
    return np.array([np.mean(_ql(Y[ok[:, j], j], f[ok[:, j], j])) for j in range(Y.shape[1])])


# ------------------------------------------------------------------------------------ stage 2
FROZEN = F.OUT / "frozen_design.json"


def final():
    """Stage 2: train the frozen design (``out/frozen_design.json``) on data to 2022-12-31."""
    design = json.loads(FROZEN.read_text())
    for spec in design["networks"]:
        v = Variant(**spec["variant"])
        for asset in ("btc", "eth"):
            prep = prepare(asset, F.TRAIN_END_2, v.level_window)
            t0 = time.perf_counter()
            res = train(prep, v, F.TRAIN_END_2, spec["epochs"])
            wall = time.perf_counter() - t0
            folder = F.OUT / "final" / f"{asset}_{v.name}"
            folder.mkdir(parents=True, exist_ok=True)
            torch.save({"members": res["members"], "mean": res["mean"], "std": res["std"],
                        "variant": asdict(v), "epochs": spec["epochs"]}, folder / "model.pt")
            (folder / "card.json").write_text(json.dumps(
                {"variant": asdict(v), "epochs": spec["epochs"], "seeds": list(SEEDS), "train_end": F.TRAIN_END_2,
                 "rows": res["rows"], "first_row": res["first_row"], "last_row": res["last_row"],
                 "train_seconds": res["seconds"], "wall_seconds_incl_data": wall}, indent=1))
            print(asset, v.name, "trained", res["rows"], "rows", f"{res['seconds']:.0f}s", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "select"
    if cmd == "select":
        select(sys.argv[2:] or None)
    elif cmd == "final":
        final()
