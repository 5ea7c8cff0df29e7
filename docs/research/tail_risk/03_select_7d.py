"""7-day VaR/ES selection on data to 2021-12-31 (bar-only baselines).  Origins 2020-07-01 .. 2021-12-24
(7-day returns end by 2021-12-31).  Levels with enough breaches: VaR 97.5% and 95% (ES 97.5%);
overlap-robust tests (Hansen-Hodrick HAC coverage, non-overlapping Kupiec with Bonferroni)."""
from __future__ import annotations

import pandas as pd

import common as C
import risk as R

START, END = "2020-07-01", "2021-12-24"
BASE = ["log_har", "har", "ewma", "garch"]


def main() -> None:
    rows = []
    for asset in ("btc", "eth"):
        t, fcs = C.load(asset, BASE)
        t = t[t.index <= pd.Timestamp("2021-12-31 23:00", tz="UTC")].copy()
        # a 7-day return is only "known" 7 days later; forecast_risk enforces it, and no return
        # ending after 2021-12-31 exists in the truncated frame (ret_7d of the last 6 origins -> NaN)
        late = t.index > pd.Timestamp("2021-12-24 23:00", tz="UTC")
        t.loc[late, "ret_7d"] = float("nan")
        for name, fc in fcs.items():
            fc = fc[fc.index <= t.index[-1]]
            for lvl in (0.975, 0.95):
                for cand, spec in {"fhs_w250": R.RiskSpec(horizon=7, var_level=lvl, window=250),
                                   "fhs_w500": R.RiskSpec(horizon=7, var_level=lvl, window=500),
                                   "fhs_w1000": R.RiskSpec(horizon=7, var_level=lvl, window=1000),
                                   "t5": R.RiskSpec(horizon=7, var_level=lvl, method="t", dof=5.0),
                                   "normal": R.RiskSpec(horizon=7, var_level=lvl, method="normal")}.items():
                    rk = C.risk_for(t, fc, spec)
                    for row in C.evaluate(t, rk, START, END, horizon=7, var_level=lvl):
                        rows.append({"asset": asset, "forecaster": name, "method": cand, "level": lvl, **row})
    df = pd.DataFrame(rows)
    df.to_csv(C.OUT / "select_var_7d.csv", index=False)
    pd.set_option("display.width", 250)
    df["ok"] = (df.hac_p > 0.05) & (df.nonoverlap_bonf_p > 0.05)
    print(df.groupby(["level", "method"]).agg(rate=("rate", "mean"), rmin=("rate", "min"), rmax=("rate", "max"),
                                              ok=("ok", "sum"), es=("es_ratio", "mean"), fz0=("fz0", "mean"),
                                              n=("ok", "size")).round(4))


if __name__ == "__main__":
    main()
