"""Step 2: raw forecasts of log-HAR, HAR-IV and GARCH under each estimation window (cached, all bars).

Windows: expanding (0.3.0), rolling 365 / 730 days, exponentially weighted with half-life 180 / 365 / 730 days
(weights by the age of each fit row's target end at the refit; GARCH: arch has no weighted likelihood, so
rolling windows only). Every fit uses only rows whose targets are known at the refit bar (the library's
schedule: first fit after 180 days, 250 for GARCH, then every 30 days). The LSTMs' refit heads are
log-HAR: a new head is ``head_forecast * net`` (``net_lstm``, ``net_lstm_iv`` cached by 01).

Writes cache/windows_<asset>.npz with keys ``<model>|<window>``.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

from common import CACHE, DAY_NS, HORIZONS, HOUR_NS, load_cache, refit_points

WINDOWS = {"expanding": ("expanding",), "roll365": ("rolling", 365), "roll730": ("rolling", 730),
           "ew90": ("ew", 90), "ew180": ("ew", 180), "ew365": ("ew", 365), "ew730": ("ew", 730)}
GARCH_WINDOWS = {"expanding": None, "roll365": 365, "roll730": 730}


def garch_windowed(c: dict, window_days: int | None, min_train_days: int = 250, every_days: int = 30) -> np.ndarray:
    """GARCH(1,1)-t as the library's (daily percent log returns of completed UTC days, refit every 30 days,
    each bar carries the forecast made at the close of the last completed day), fitted on the last
    ``window_days`` daily returns (None: all). The variance recursion runs over the whole history with the
    fitted parameters (as the library's forecast does)."""
    from arch import arch_model
    from arch.utility.exceptions import ConvergenceWarning

    ts, close = c["ts"], c["close"]
    closes_at = ts + HOUR_NS
    day_of_close = (closes_at - 1) // DAY_NS
    last = np.flatnonzero(np.r_[day_of_close[1:] != day_of_close[:-1], True])   # last bar of each day
    dclose = close[last]
    ret = 100.0 * np.diff(np.log(dclose))          # return of day i+1 (completed at last[i+1])
    ret_day = day_of_close[last][1:]
    complete_day = closes_at // DAY_NS - 1          # last completed day at each bar's close
    pos = np.searchsorted(ret_day, complete_day, side="right") - 1   # row of the last completed return
    n, H = len(ts), len(HORIZONS)
    out = np.full((n, H), np.nan)
    pts = refit_points(ts, min_train_days, every_days)
    for j, k in enumerate(pts):
        stop = pts[j + 1] if j + 1 < len(pts) else n
        lastr = pos[k]
        if lastr < 75:
            continue
        lo = 0 if window_days is None else max(0, lastr + 1 - window_days)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = arch_model(ret[lo: lastr + 1], mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
        need = pos[k:stop]
        first, hi = int(need.min()), int(need.max())
        fc = arch_model(ret[: hi + 1], mean="Constant", vol="GARCH", p=1, q=1, dist="t").fix(
            res.params.to_numpy()).forecast(horizon=max(HORIZONS), start=first, reindex=False)
        cum = np.cumsum(fc.variance.to_numpy(), axis=1) / 1e4
        out[k:stop] = cum[need - first][:, np.asarray(HORIZONS) - 1]
    return out


def build(asset: str) -> None:
    from common import log_har_windowed

    c = load_cache(asset)
    res = {}
    for wname, spec in WINDOWS.items():
        t = time.time()
        res[f"log_har|{wname}"] = log_har_windowed(c, spec)
        res[f"har_iv|{wname}"] = log_har_windowed(c, spec, use_iv=True)
        print(f"{asset} HAR {wname} {time.time() - t:.0f}s", flush=True)
    for wname, days in GARCH_WINDOWS.items():
        t = time.time()
        res[f"garch|{wname}"] = garch_windowed(c, days)
        print(f"{asset} GARCH {wname} {time.time() - t:.0f}s", flush=True)
    np.savez_compressed(CACHE / f"windows_{asset}.npz", **res)


if __name__ == "__main__":
    for a in sys.argv[1:] or ["btc", "eth"]:
        build(a)
