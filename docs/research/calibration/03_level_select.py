"""Step 3 (selection only): estimation window x causal level correction, per forecaster family.

Scored on daily origins whose targets end by the selection end: bar-only forecasters (log-HAR, GARCH) on
2020 and 2021 (data up to 2021-12-31); HAR-IV on 2022 (data up to 2022-12-31; its first forecasts with implied
vol are mid-2021). Every forecast is causal (refits and corrections use completed targets only), so each
year is scored walk-forward.

Metrics per candidate (both assets):
* ``cal``: mean over (asset, year, h in {7, 30}) of |log(mean RV / mean F)| (calibration; 0 = unbiased),
* ``cal_max``: the worst such cell, and ``in_band``: share of cells with the ratio in [0.9, 1.1],
* ``ql``: mean over (asset, year, h in {1, 7, 30}) of QLIKE(candidate) / QLIKE(0.3.0 default: expanding,
  no correction).
Rule fixed before looking: the lowest ``cal`` among candidates with ``ql <= 1.00``; within 0.01 of it, the
simplest (no correction < correction; expanding < rolling < EW; longer windows < shorter).

Writes out/level_grid_<model>.csv and prints the top of each table.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from common import ASSETS, CACHE, OUT, bias_and_qlike, level_factor, load_cache

CORRECTIONS = {"none": None}
for L, s in itertools.product([90, 180, 365, 730], [0.5, 1.0]):
    CORRECTIONS[f"rom{L}_s{s:g}"] = dict(window_days=L, shrink=s, form="ratio_of_means")
for L in [365]:
    CORRECTIONS[f"mr{L}_s1"] = dict(window_days=L, shrink=1.0, form="mean_ratio")
for L in [365, 730]:
    CORRECTIONS[f"rom{L}_s0.25"] = dict(window_days=L, shrink=0.25, form="ratio_of_means")
# the 1-day horizon's bias (known a day after each forecast) applied to every horizon
for L, s in itertools.product([30, 90, 180], [0.5, 1.0]):
    CORRECTIONS[f"h1rom{L}_s{s:g}"] = dict(window_days=L, shrink=s, form="ratio_of_means", source="h1")

SCOPES = {"log_har": ("2020-01-01", "2021-12-31", [2020, 2021]),
          "garch": ("2020-01-01", "2021-12-31", [2020, 2021]),
          "har_iv": ("2022-01-01", "2022-12-31", [2022])}


def candidates(model: str, wins: dict) -> list[str]:
    return sorted({k.split("|")[1] for k in wins if k.startswith(model + "|")})


def corrected(c: dict, F: np.ndarray, corr: dict | None) -> np.ndarray:
    if corr is None:
        return F
    return F * level_factor(c["ts"], c["Y"], F, c["ends"], **corr)


def grid(model: str) -> pd.DataFrame:
    start, end, years = SCOPES[model]
    rows = []
    per_asset = {}
    for asset in ASSETS:
        c = load_cache(asset)
        wins = dict(np.load(CACHE / f"windows_{asset}.npz"))
        per_asset[asset] = (c, wins)
    for wname in candidates(model, per_asset[ASSETS[0]][1]):
        for cname, corr in CORRECTIONS.items():
            cells = []
            for asset, (c, wins) in per_asset.items():
                F = corrected(c, wins[f"{model}|{wname}"], corr)
                t = bias_and_qlike(c, F, start, end, target_end=end)
                t["asset"] = asset
                cells.append(t[t["year"].isin(years)])
            rows.append(pd.concat(cells).assign(window=wname, corr=cname))
    allc = pd.concat(rows)
    base = allc[(allc["window"] == "expanding") & (allc["corr"] == "none")].set_index(["asset", "year", "h"])["qlike"]
    allc["ql_ratio"] = allc["qlike"].to_numpy() / base.reindex(
        pd.MultiIndex.from_frame(allc[["asset", "year", "h"]])).to_numpy()
    allc.to_csv(OUT / f"level_cells_{model}.csv", index=False)
    summ = []
    for (w, cn), g in allc.groupby(["window", "corr"]):
        g730 = g[g["h"].isin([7, 30])]
        lb = np.abs(np.log(g730["bias"]))
        summ.append({"window": w, "corr": cn, "cal": lb.mean(), "cal_max": lb.max(),
                     "in_band": ((g730["bias"] >= 0.9) & (g730["bias"] <= 1.1)).mean(),
                     "ql": g["ql_ratio"].mean(),
                     "ql30": g[g["h"] == 30]["ql_ratio"].mean(), "ql1": g[g["h"] == 1]["ql_ratio"].mean()})
    s = pd.DataFrame(summ).sort_values("cal")
    s.to_csv(OUT / f"level_grid_{model}.csv", index=False)
    return s


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    for model in SCOPES:
        s = grid(model)
        print(f"\n== {model} ({SCOPES[model][2]}) ==")
        print(s.head(15).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(s[s["corr"] == "none"].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
