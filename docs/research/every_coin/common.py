"""Shared helpers of the issue #20 study: data (cut before anything is read), scoring, tables.

Every selection script reads BTC/ETH through :func:`load_coin` with ``cut="2021-12-31"``: the frame
ends at 2021-12-31 23:00 UTC before features or targets are computed, so nothing after 2021 exists
there. SOL is read only by the out-of-sample script (``oos.py``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

torch.set_num_threads(1)

from lstm_strategies.data import load_ohlcv  # noqa: E402
from lstm_strategies.datasets import load_dataset  # noqa: E402
from lstm_strategies.evaluation import daily_targets, diebold_mariano, qlike  # noqa: E402
from lstm_strategies.features import FEATURE_NAMES, HAR_FEATURES, feature_matrix, forward_variance_matrix  # noqa: E402

HERE = Path(__file__).resolve().parent
MODELS = HERE / "models"
RESULTS = HERE / "results"
HORIZONS = [1, 7, 30]
HAR_COLUMNS = [FEATURE_NAMES.index(c) for c in HAR_FEATURES]
SOL_PATH = "/work/shared/data/sol_usdt_1h.csv.gz"


def load_coin(coin: str, cut: str | None = "2021-12-31", start: str | None = None) -> pd.DataFrame:
    """Hourly bars of ``coin``; with ``cut``, nothing after that day's last hour exists in the frame."""
    if coin == "sol":
        if cut is not None and pd.Timestamp(cut) <= pd.Timestamp("2021-12-31"):
            raise RuntimeError("SOL is the unseen test coin: it is read by the out-of-sample script only")
        df = load_ohlcv(SOL_PATH)
    else:
        df = load_dataset(f"{coin}_usdt_1h")
    attrs = dict(df.attrs)
    if cut is not None:
        df = df[df.index <= pd.Timestamp(cut, tz="UTC") + pd.Timedelta(hours=23)]
    if start is not None:
        df = df[df.index >= pd.Timestamp(start, tz="UTC")]
    df = df.copy()
    df.attrs = attrs | {"coin": coin}
    return df


def target_ends(df: pd.DataFrame, horizons=HORIZONS) -> np.ndarray:
    """For each bar and horizon, the first bar at whose close its target is known (as log-HAR's)."""
    ts = df.index.asi8
    spans = np.array([pd.Timedelta(days=h).value for h in horizons])
    return np.searchsorted(ts, ts[:, None] + spans[None, :], side="left")


class Panel:
    """Features, targets and target-known bars of one coin, computed once."""

    def __init__(self, df: pd.DataFrame, horizons=HORIZONS):
        self.df = df
        self.horizons = list(horizons)
        self.feats = feature_matrix(df, "crypto")
        self.X = self.feats[:, HAR_COLUMNS]
        self.Y = forward_variance_matrix(df, self.horizons, "crypto")
        self.E = target_ends(df, self.horizons)
        self.ts = df.index.asi8

    def index_of(self, when) -> int:
        """First bar at or after ``when``."""
        return int(np.searchsorted(self.ts, pd.Timestamp(when, tz="UTC").value, side="left"))


def score(df: pd.DataFrame, forecasts: dict[str, np.ndarray], start: str, end: str | None,
          reference: str = "log_har", horizons=HORIZONS, dm: bool = True) -> pd.DataFrame:
    """QLIKE per forecaster and horizon at each UTC day's last bar, on the days every forecaster has a
    forecast; ratio to ``reference`` and DM-HLN p-value (two-sided) against it."""
    rows = []
    for j, h in enumerate(horizons):
        rv, pos = daily_targets(df, start, end, h)
        fc = pd.DataFrame({name: f[pos, j] for name, f in forecasts.items()}, index=rv.index)
        ok = fc.notna().all(axis=1).to_numpy() & (fc > 0).all(axis=1).to_numpy()
        y = rv.to_numpy()[ok]
        ref = fc[reference].to_numpy()[ok] if reference in fc else None
        ref_q = float(qlike(y, ref).mean()) if ref is not None else np.nan
        for name in fc:
            f = fc[name].to_numpy()[ok]
            q = float(qlike(y, f).mean())
            row = {"horizon": h, "model": name, "qlike": q, "days": int(ok.sum()), "ratio": q / ref_q}
            if dm and ref is not None and name != reference:
                row["dm_p"] = diebold_mariano(y, f, ref, h)["pvalue"]
            rows.append(row)
    return pd.DataFrame(rows)


def write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1, default=float))


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)
