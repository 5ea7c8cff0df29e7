"""Selection of the VaR/ES method on data up to 2021-12-31 (bar-only baselines) -- no 2022+ row is read.

Candidates (1-day, 99% VaR / 97.5% ES, both tails): FHS with windows 250 / 500 / 1000 / expanding
(min 250 residuals, t5 fallback), parametric normal, unit-variance t5, t with causally fitted dof, and
t5 rescaled by the pool's RMS.  Also the fallback candidates for a trained network whose in-sample
residuals are excluded: parametric t5, normal, and log-HAR's pool borrowed ("fhs_ref").
Forecasters: log_har, har, ewma, garch (causal, expanding refits); the bundled LSTM is in-sample
before 2022 and is NOT used for any choice (reported separately, flagged).
Evaluation origins: 2020-07-01 .. 2021-12-30 (returns end by 2021-12-31); BTC and ETH (SOL has too
little history before 2022: its log-HAR starts 2021-02).
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

import common as C
import risk as R

START, END = "2020-07-01", "2021-12-30"
BASE = ["log_har", "har", "ewma", "garch"]
CANDS = {
    "fhs_w250": R.RiskSpec(window=250), "fhs_w500": R.RiskSpec(window=500),
    "fhs_w1000": R.RiskSpec(window=1000), "fhs_exp": R.RiskSpec(window=None),
    "normal": R.RiskSpec(method="normal"), "t5": R.RiskSpec(method="t", dof=5.0),
    "t_fit": R.RiskSpec(method="t", dof="fit"), "t5_poolscale": R.RiskSpec(method="t", dof=5.0, scale="pool"),
}


def main() -> None:
    rows = []
    for asset in ("btc", "eth"):
        t, fcs = C.load(asset, BASE + ["lstm"])
        t = t[t.index <= pd.Timestamp("2021-12-31 23:00", tz="UTC")]          # nothing after 2021
        z_ref = R.standardised_returns(t["ret_1d"], fcs["log_har"]["var_1d"].reindex(t.index))
        for name, fc in fcs.items():
            fc = fc[fc.index <= t.index[-1]]
            for cand, spec in CANDS.items():
                if name == "lstm" and cand not in ("fhs_w1000", "t5"):
                    continue
                rk = C.risk_for(t, fc, spec)
                for row in C.evaluate(t, rk, START, END, sims=0 if cand.startswith("t5_pool") else 1000):
                    rows.append({"asset": asset, "forecaster": name, "method": cand,
                                 "in_sample": name == "lstm", **row})
            # fallback candidates: pretend the pool starts at START (no own residual before it)
            if name in ("har", "ewma", "garch"):
                for cand, spec, ref in (("fb_t5", R.RiskSpec(window=1000, pool_from="2030-01-01"), None),
                                        ("fb_normal", R.RiskSpec(window=1000, pool_from="2030-01-01",
                                                                 fallback="normal"), None),
                                        ("fb_ref_loghar", R.RiskSpec(window=1000, pool_from="2030-01-01"), z_ref)):
                    rk = C.risk_for(t, fc, spec, ref)
                    for row in C.evaluate(t, rk, START, END, sims=1000):
                        rows.append({"asset": asset, "forecaster": name, "method": cand, "in_sample": False, **row})
        print(asset, "done", flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(C.OUT / "select_var_1d.csv", index=False)
    cols = ["rate", "kupiec_p", "cc_p", "yellow_years", "red_years", "es_ratio", "mf_p", "z2_p", "fz0"]
    pd.set_option("display.width", 250)
    print(df.groupby(["method"])[["rate", "es_ratio", "fz0"]].mean().round(4))
    print(df[~df.in_sample].assign(fail=lambda d: (d.kupiec_p < 0.05) | (d.cc_p < 0.05)).groupby("method")
          ["fail"].sum())
    print(df.set_index(["asset", "forecaster", "method", "side"])[cols].round(3).to_string())


if __name__ == "__main__":
    main()
