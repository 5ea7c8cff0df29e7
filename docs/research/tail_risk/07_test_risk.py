"""THE test-period risk race, run once with the frozen choices (out/frozen.json).

Bar-only race: origins 2022-01-01 .. 2026-06-29 (7-day: .. 2026-06-23), BTC, ETH, SOL; log-HAR, HAR,
EWMA, GARCH, the bundled LSTM (SOL: crypto-1h, shrink head).  IV race: origins 2023-01-01 ..
2026-04-06, BTC and ETH; every forecaster plus HAR-IV and the LSTM-IV.
Outputs: out/test_risk_1d.csv, out/test_risk_7d.csv, out/test_fz0_dm.csv, out/test_goals.txt
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

import common as C
import risk as R
import risk_backtests as B

FR = json.load(open(C.OUT / "frozen.json"))
S1 = R.RiskSpec(**{k: v for k, v in FR["risk_1d"].items()})
S7 = {lvl: R.RiskSpec(horizon=7, var_level=lvl, window=500, min_residuals=250) for lvl in (0.975, 0.95)}
T5 = R.RiskSpec(method="t", dof=5.0)
RACES = {"baronly": (("btc", "eth", "sol"), C.BAR_ONLY, "2022-01-01", "2026-06-29", "2026-06-23"),
         "iv": (("btc", "eth"), C.BAR_ONLY + C.IV_AWARE, "2023-01-01", "2026-04-06", "2026-03-31")}


def main() -> None:
    rows1, rows7, dms = [], [], []
    for race, (assets, names, start, end, end7) in RACES.items():
        for asset in assets:
            t, fcs = C.load(asset, names)
            fz = {}
            for name, fc in fcs.items():
                variants = {"fhs250": (S1, None), "t5": (T5, None)}
                if name in C.TRAIN_END:
                    oos = (pd.Timestamp(C.TRAIN_END[name]) + pd.Timedelta("1D")).date().isoformat()
                    variants["fhs250_oos_pool"] = (R.RiskSpec(**{**FR["risk_1d"], "pool_from": oos}), None)
                for var_name, (spec, ref) in variants.items():
                    rk = C.risk_for(t, fc, spec, ref)
                    for row in C.evaluate(t, rk, start, end, sims=1000 if var_name != "t5" else 1000):
                        rows1.append({"race": race, "asset": asset, "forecaster": name, "method": var_name, **row})
                    if var_name == "fhs250":
                        fz[name] = C.fz0_series(t, rk, start, end)
                for lvl, spec in S7.items():
                    rk = C.risk_for(t, fc, spec)
                    for row in C.evaluate(t, rk, start, end7, horizon=7, var_level=lvl):
                        rows7.append({"race": race, "asset": asset, "forecaster": name, "level": lvl, **row})
                    if lvl == 0.975:
                        fz[name + "@7d"] = C.fz0_series(t, rk, start, end7, horizon=7)
            refs = ["log_har"] + (["har_iv"] if race == "iv" else [])
            for h, suffix in ((1, ""), (7, "@7d")):
                frame = pd.DataFrame({n: fz[n + suffix] for n in fcs}).dropna()
                for name in fcs:
                    for ref in refs:
                        if name == ref:
                            continue
                        d = B.dm_test(frame[name], frame[ref], horizon=h)
                        dms.append({"race": race, "asset": asset, "h": h, "forecaster": name, "vs": ref,
                                    "fz0": frame[name].mean(), "fz0_ref": frame[ref].mean(),
                                    "diff": d["mean_diff"], "dm_stat": d["stat"], "dm_p": d["pvalue"],
                                    "n": d["n"]})
            print(race, asset, "done", flush=True)
    d1, d7, dm = pd.DataFrame(rows1), pd.DataFrame(rows7), pd.DataFrame(dms)
    d1.to_csv(C.OUT / "test_risk_1d.csv", index=False)
    d7.to_csv(C.OUT / "test_risk_7d.csv", index=False)
    dm.to_csv(C.OUT / "test_fz0_dm.csv", index=False)


if __name__ == "__main__":
    main()
