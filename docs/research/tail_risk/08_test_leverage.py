"""THE test-period leverage race, run once with the frozen rule (fhs_ext) and constants (out/frozen.json).

For each race / asset / forecaster / side: the rule's leverage on the test origins, the account
(leverage.simulate with the venue defaults), and the equal-liquidation comparisons on the test
period: the most mean leverage a fixed leverage (and log-HAR's rule) reaches with at most the rule's
realised liquidations.  Outputs: out/test_leverage.csv, out/test_leverage_frontier.csv
"""
from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd

import common as C
import leverage as LV

cal = importlib.import_module("05_leverage_calibrate")
FR = json.load(open(C.OUT / "frozen.json"))
K = FR["leverage"]["constants"]
RACES = {"baronly": (("btc", "eth", "sol"), C.BAR_ONLY, "2022-01-01", "2026-06-29"),
         "iv": (("btc", "eth"), C.BAR_ONLY + C.IV_AWARE, "2023-01-01", "2026-04-06")}


def constant(name: str, side: str) -> float:
    src = {"lstm": "log_har", "lstm_iv": "har_iv"}.get(name, name)
    group = "iv" if src == "har_iv" else "baronly"
    return K[side][group][f"{src}|fhs_ext"]


def main() -> None:
    rows, fr_rows = [], []
    for race, (assets, names, start, end) in RACES.items():
        s, e = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end + " 23:00", tz="UTC")
        for asset in assets:
            venue = LV.venue_defaults(asset)
            ext_all = cal.extremes(asset)
            for side in ("long", "short"):
                frames = {n: cal.scales(asset, n, side) for n in names
                          if (C.CACHE / f"{asset}_{n}.parquet").exists()}
                ref = frames["log_har"]
                days = ref.index[(ref.index >= s) & (ref.index <= e)]
                ext = ext_all.reindex(days)
                x = ext[f"x_{side}"].to_numpy()
                v_fix = K[side]["iv" if race == "iv" else "baronly"]["log_har|fixed" if race == "baronly"
                                                                      else "har_iv|fixed"]
                L_fix_cal = float(LV.leverage_for_distance(v_fix, venue, side))
                sims = {"fixed_calibrated": np.full(len(days), L_fix_cal)}
                qs = {}
                for n, f in frames.items():
                    q = f["fhs_ext"].reindex(days).to_numpy()
                    qs[n] = q
                    sims[n] = LV.rule_leverage(q, constant(n, side), venue, side)
                k_of = {}
                for label, L in sims.items():
                    sm = LV.simulate(ext, L, venue, side)
                    summ = LV.summary(sm)
                    k_of[label] = summ["liquidations"]
                    row = {"race": race, "asset": asset, "side": side, "rule": label, **summ,
                           "liq_dates": " ".join(str(d.date()) for d in sm.index[sm["liquidated"]])}
                    if label != "fixed_calibrated":
                        k = summ["liquidations"]
                        ones = np.ones(len(days))
                        c_fix, m_fix = LV.max_leverage_with(x, ones, k, venue, side)
                        L_fix_eq = float(LV.leverage_for_distance(c_fix, venue, side))
                        sm_fix = LV.simulate(ext, np.full(len(days), L_fix_eq), venue, side)
                        sf = LV.summary(sm_fix)
                        c_lh, m_lh = LV.max_leverage_with(x, qs["log_har"], k, venue, side)
                        row.update({"fixed_same_liq_leverage": L_fix_eq, "fixed_same_liq_cagr": sf["cagr"],
                                    "fixed_same_liq_sharpe": sf["sharpe"],
                                    "lev_ratio_vs_fixed": summ["mean_leverage"] / L_fix_eq,
                                    "loghar_same_liq_mean_leverage": m_lh,
                                    "lev_ratio_vs_loghar": summ["mean_leverage"] / m_lh})
                    rows.append(row)
                # frontiers on the test period (mean leverage at k liquidations), for the record
                for n in ["fixed"] + list(qs):
                    q = np.ones(len(days)) if n == "fixed" else qs[n]
                    fr = LV.frontier(x, q, venue, range(0, 9), side)
                    for k, r in fr.iterrows():
                        fr_rows.append({"race": race, "asset": asset, "side": side, "rule": n, "k": k,
                                        "per_year": k / (len(days) / 365), "mean_leverage": r["mean_leverage"]})
            print(race, asset, "done", flush=True)
    pd.DataFrame(rows).to_csv(C.OUT / "test_leverage.csv", index=False)
    pd.DataFrame(fr_rows).to_csv(C.OUT / "test_leverage_frontier.csv", index=False)


if __name__ == "__main__":
    main()
