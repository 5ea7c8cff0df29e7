"""IV-aware selection on 2022 (data to 2022-12-31): the same candidates for HAR-IV (causal; before 90
days of DVOL it is log-HAR); the LSTM-IV is in-sample in 2022 and only reported (flagged).
Nothing after 2022-12-31 is read; the bar-only forecasters' 2022 rows are not looked at."""
from __future__ import annotations

import pandas as pd

import common as C
import risk as R

START, END = "2022-01-01", "2022-12-30"
CANDS = {"fhs_w250": R.RiskSpec(window=250), "fhs_w500": R.RiskSpec(window=500),
         "fhs_w1000": R.RiskSpec(window=1000), "t5": R.RiskSpec(method="t", dof=5.0),
         "t_fit": R.RiskSpec(method="t", dof="fit")}


def main() -> None:
    rows = []
    for asset in ("btc", "eth"):
        t, fcs = C.load(asset, ["har_iv", "lstm_iv"])
        t = t[t.index <= pd.Timestamp("2022-12-31 23:00", tz="UTC")].copy()
        for name, fc in fcs.items():
            fc = fc[fc.index <= t.index[-1]]
            for cand, spec in CANDS.items():
                rk = C.risk_for(t, fc, spec)
                for row in C.evaluate(t, rk, START, END, sims=1000):
                    rows.append({"asset": asset, "forecaster": name, "method": cand,
                                 "in_sample": name == "lstm_iv", **row})
            for cand, spec in {"fhs_w500": R.RiskSpec(horizon=7, var_level=0.975, window=500),
                               "fhs_w250": R.RiskSpec(horizon=7, var_level=0.975, window=250),
                               "t5": R.RiskSpec(horizon=7, var_level=0.975, method="t", dof=5.0)}.items():
                tt = t.copy()
                tt.loc[tt.index > pd.Timestamp("2022-12-24 23:00", tz="UTC"), "ret_7d"] = float("nan")
                rk = C.risk_for(tt, fc, spec)
                for row in C.evaluate(tt, rk, START, "2022-12-24", horizon=7, var_level=0.975):
                    rows.append({"asset": asset, "forecaster": name, "method": cand + "_7d",
                                 "in_sample": name == "lstm_iv", **row})
    df = pd.DataFrame(rows)
    df.to_csv(C.OUT / "select_iv.csv", index=False)
    pd.set_option("display.width", 250)
    cols = ["rate", "kupiec_p", "cc_p", "hac_p", "yellow_years", "red_years", "es_ratio", "mf_p", "z2_p", "fz0"]
    print(df.set_index(["asset", "forecaster", "method", "side"])[cols].round(3).to_string())


if __name__ == "__main__":
    main()
