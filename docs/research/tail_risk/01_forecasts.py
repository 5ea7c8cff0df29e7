"""Cache daily forecasts (1- and 7-day variance at each UTC day's last bar) for every forecaster,
plus the daily targets the risk study needs: next-day close-to-close log return, next-7-day return,
realised variance, and the adverse extremes (min low / max high over the next 24 h relative to the
origin close).  Forecasts are the library's own (frozen 0.3.0), made causally by predict_batch.

Usage: python 01_forecasts.py btc [eth sol]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("LSTM_STRATEGIES_DATA", "/work/shared/data")
import numpy as np
import pandas as pd
import torch

torch.set_num_threads(1)
from lstm_strategies.datasets import load_dataset  # noqa: E402
from lstm_strategies.features import forecast_origins, forward_realized_variance  # noqa: E402
from lstm_strategies.forecasters import make_forecaster  # noqa: E402
from lstm_strategies.implied import load_implied_vol  # noqa: E402

CACHE = Path(__file__).parent / "cache"
BAR_ONLY = ["log_har", "har", "ewma", "garch", "lstm"]
IV = ["har_iv", "lstm_iv"]
LSTM_MODEL = {"btc": dict(model="btc-1h"), "eth": dict(model="eth-1h"),
              "sol": dict(model="crypto-1h", head="shrink")}


def daily_targets(df: pd.DataFrame) -> pd.DataFrame:
    """Per origin (each UTC day's last bar): forward returns, RV and adverse extremes."""
    pos = forecast_origins(df, str(df.index[0].date()))
    ts = df.index.asi8
    close = df["close"].to_numpy()
    low, high = df["low"].to_numpy(), df["high"].to_numpy()
    out = {}
    for h in (1, 7):
        span = pd.Timedelta(days=h).value
        end = np.searchsorted(ts, ts[pos] + span, side="right") - 1
        complete = ts[pos] + span <= ts[-1]
        r = np.log(close[end] / close[pos])
        r[~complete] = np.nan
        out[f"ret_{h}d"] = r
        rv = forward_realized_variance(df, h).to_numpy()[pos]
        out[f"rv_{h}d"] = rv
        # adverse extremes over the bars (t, t+h days]: min low and max high vs origin close
        mn = np.full(len(pos), np.nan)
        mx = np.full(len(pos), np.nan)
        for i, (a, b) in enumerate(zip(pos, end)):
            if complete[i] and b > a:
                mn[i] = low[a + 1:b + 1].min()
                mx[i] = high[a + 1:b + 1].max()
        out[f"lowret_{h}d"] = np.log(mn / close[pos])
        out[f"highret_{h}d"] = np.log(mx / close[pos])
        out[f"end_{h}d"] = np.where(complete, end, -1)
    t = pd.DataFrame(out, index=df.index[pos])
    t["pos"] = pos
    t["close"] = close[pos]
    return t


def run(asset: str) -> None:
    df = load_dataset(f"{asset}_usdt_1h")
    tgt = daily_targets(df)
    tgt.to_parquet(CACHE / f"{asset}_targets.parquet")
    pos = tgt["pos"].to_numpy()
    names = list(BAR_ONLY)
    implied = None
    if asset in ("btc", "eth"):
        implied = load_implied_vol(f"{asset}_dvol_daily")
        names += IV
    for name in names:
        path = CACHE / f"{asset}_{name}.parquet"
        if path.exists():
            continue
        t0 = time.time()
        if name == "lstm":
            m = make_forecaster("lstm", **LSTM_MODEL[asset])
        elif name == "lstm_iv":
            m = make_forecaster("lstm_iv", model=f"{asset}-1h-iv")
        else:
            m = make_forecaster(name)
        if m.inputs:
            m.set_inputs(implied_vol=implied)
        with np.errstate(over="ignore", invalid="ignore"):
            p = m.fit(df).predict_batch(df)
        f = pd.DataFrame({f"var_{h}d": p[pos, j] for j, h in enumerate(m.horizons) },
                         index=tgt.index)
        f.to_parquet(path)
        print(asset, name, f"{time.time() - t0:.1f}s", "first", f.dropna().index[0].date(), flush=True)


if __name__ == "__main__":
    for a in sys.argv[1:]:
        run(a)
