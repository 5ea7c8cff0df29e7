"""Step 1: cache the hourly inputs and the library's (0.3.0) forecasts, all bars 2019 -> 2026-06.

Per asset, ``cache/hourly_<asset>.npz``: ts (ns), close, Y (targets 1/7/30 d), ends (bar at which each target
is known), har_x (log RV day/week/month, the HAR regressors), iv (DVOL fraction known at the bar's close),
and forecasts of the shipped forecasters with their defaults (predict_batch, causal):
log_har, har_iv, ewma, lstm (bundled <asset>-1h, refit head), lstm_iv (bundled <asset>-1h-iv), implied,
implied_level. ``net_lstm`` / ``net_lstm_iv`` are the networks' multiplicative corrections
(forecast / default log-HAR head), which a new head multiplies.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)

from common import CACHE, HORIZONS, implied_at_bars, load_bars  # noqa: E402
from lstm_strategies.features import (FEATURE_NAMES, HAR_FEATURES, feature_matrix,  # noqa: E402
                                      forward_variance_matrix, target_ends)
from lstm_strategies.forecasters import make_forecaster  # noqa: E402
from lstm_strategies.implied import load_implied_vol  # noqa: E402

HAR_COLS = [FEATURE_NAMES.index(c) for c in HAR_FEATURES]


def build(asset: str) -> None:
    t0 = time.time()
    df = load_bars(asset)
    ivs = load_implied_vol(f"{asset}_dvol_daily")
    out = {"ts": df.index.asi8, "close": df["close"].to_numpy(float)}
    out["Y"] = forward_variance_matrix(df, HORIZONS)
    out["ends"] = target_ends(df, HORIZONS)
    out["har_x"] = feature_matrix(df)[:, HAR_COLS]
    out["iv"] = implied_at_bars(asset, df)
    specs = [("log_har", "log_har", {}), ("ewma", "ewma", {}), ("har_iv", "har_iv", {}),
             ("implied", "implied", {}), ("implied_level", "implied_level", {}),
             ("lstm", "lstm", {"model": f"{asset}-1h"}), ("lstm_iv", "lstm_iv", {"model": f"{asset}-1h-iv"})]
    for key, name, kw in specs:
        t1 = time.time()
        fc = make_forecaster(name, **kw)
        if fc.inputs:
            fc.set_inputs(implied_vol=ivs)
        fc.fit(df)
        if name == "implied":   # refuses bars without a value: forecast only where DVOL is known
            f = np.full((len(df), len(HORIZONS)), np.nan)
            have = np.isfinite(out["iv"])
            f[have] = np.stack([out["iv"][have] ** 2 * h / 365.0 for h in HORIZONS], axis=1)
        elif name == "implied_level":
            have = np.flatnonzero(np.isfinite(out["iv"]))
            start, stop = int(have[0]), int(have[-1]) + 1
            f = np.full((len(df), len(HORIZONS)), np.nan)
            f[start:stop] = fc.predict_batch(df.iloc[start:stop])
        else:
            f = fc.predict_batch(df)
        out[key] = np.asarray(f, float)
        print(f"  {asset} {key}: {time.time() - t1:.0f}s", flush=True)
    out["net_lstm"] = out["lstm"] / out["log_har"]
    out["net_lstm_iv"] = out["lstm_iv"] / out["log_har"]
    np.savez_compressed(CACHE / f"hourly_{asset}.npz", **out)
    print(f"{asset}: {len(df)} bars, {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    for a in sys.argv[1:] or ["btc", "eth"]:
        build(a)
