"""Causality check of every race forecaster (no scores computed).

1. Perturb every bar stamped after T (prices and volume) and every DVOL value that becomes known
   after T's close: every forecast at a bar <= T must be bit-identical, and later ones must move.
2. Perturb only the DVOL value that becomes known exactly at T's close (T = a 23:00 bar): forecasts
   at bars < T identical; at T the IV-based forecasts move (the value is used as soon as it is known,
   and not one bar earlier).
Training never sees a bar after its end: ``ivfeatures.load(asset, end)`` truncates before anything
is computed.
    python causality.py
"""
import torch

torch.set_num_threads(1)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import ivfeatures as F  # noqa: E402
import race  # noqa: E402

T = pd.Timestamp("2024-06-15 23:00", tz="UTC")


def perturb_bars(df: pd.DataFrame, after: pd.Timestamp, rng) -> pd.DataFrame:
    out = df.copy()
    late = out.index > after
    k = np.exp(rng.normal(0, 0.03, late.sum()))
    for c in ("open", "high", "low", "close"):
        out.loc[late, c] = out.loc[late, c] * k
    out.loc[late, "volume"] = out.loc[late, "volume"] * rng.uniform(0.5, 2.0, late.sum())
    out.attrs = dict(df.attrs)
    return out


def perturb_iv(iv: pd.Series, mask, rng) -> pd.Series:
    out = iv.copy()
    out[mask] = out[mask] * rng.uniform(0.6, 1.4, int(np.sum(mask)))
    out.attrs = dict(iv.attrs)
    return out


def main():
    rng = np.random.default_rng(0)
    ok_all = True
    for asset in ("btc", "eth"):
        df, iv = F.load(asset)
        ts = df.index
        rows = np.union1d(F.origins(df, F.TEST_START, F.TEST_END),
                          np.flatnonzero((ts >= T - pd.Timedelta("72h")) & (ts <= T + pd.Timedelta("72h"))))
        base = race.forecast_all(df, iv, asset, rows)
        close_T = T + pd.Timedelta("1h")
        # 1. everything after T
        pert = race.forecast_all(perturb_bars(df, T, rng), perturb_iv(iv, iv.index > close_T, rng), asset, rows)
        before, after = rows[ts[rows] <= T], rows[ts[rows] > T]
        for name in race.NAMES:
            same = np.array_equal(base[name][before], pert[name][before], equal_nan=True)
            moved = np.mean(base[name][after] != pert[name][after])
            ok_all &= same and moved > 0.5
            print(f"{asset} {name:14s} after-T perturbation: forecasts <= T identical: {same}; "
                  f"share of later forecasts that moved: {moved:.3f}")
        # 2. only the DVOL value known exactly at T's close
        only = race.forecast_all(df, perturb_iv(iv, iv.index == close_T, rng), asset, rows)
        i_T = int(np.flatnonzero(ts == T)[0])
        earlier = rows[ts[rows] < T]
        for name in ("har_iv", "implied_raw", "implied_level", "lstm_iv", "combo"):
            same = np.array_equal(base[name][earlier], only[name][earlier], equal_nan=True)
            moved_h = base[name][i_T] != only[name][i_T]
            # LSTM-IV: only the horizons with a correction read DVOL (BTC 1d/7d, ETH 1d); 30d is log-HAR
            at_t = bool(moved_h.any())
            ok_all &= same and at_t
            print(f"{asset} {name:14s} DVOL of {T.date()} perturbed: bars < T identical: {same}; "
                  f"bar T moved (1d, 7d, 30d): {moved_h.tolist()}")
    print("CAUSALITY CHECK", "PASSED" if ok_all else "FAILED")


if __name__ == "__main__":
    main()
