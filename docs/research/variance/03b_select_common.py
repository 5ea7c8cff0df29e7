"""Step 3b (table): chosen rules on the COMMON selection window (origins 2021-08-20 .. 2022-12-01, where
all four forecasters exist), to pick the best forecaster for the headline rule without the window
confound; plus the ladder/roll and long/short-band rows on the full selection window.
Reads nothing after 2022-12-31. Writes out/selection_common.csv.
"""
import json
import numpy as np, pandas as pd
from varswap import FORECASTERS, SELECTION, capital_for, load_panel, metrics, run_book, sized_weights

choice = json.load(open("out/selection_choice.json"))
choice = {k: {kk: (np.inf if v is None else v) for kk, v in d.items()} for k, d in choice.items()}
choice["band"] = {"margin": choice["gate"]["margin"], "band": choice["long"]["band"]}
rows = []
for asset in ["btc", "eth"]:
    p = load_panel(asset)
    cap = capital_for(p, SELECTION[0], "2022-12-31")
    common = max(str(p.loc[SELECTION[0]:SELECTION[1], f"F_{fc}"].first_valid_index().date()) for fc in FORECASTERS)
    for fc in FORECASTERS:
        own = str(p.loc[SELECTION[0]:SELECTION[1], f"F_{fc}"].first_valid_index().date())
        for win, start in [("common", common), ("own", own)]:
            for rule in ["always", "gate", "ratio", "premium", "voltarget", "ratio_vt", "band", "long"]:
                for mode in (["ladder", "roll"] if rule in ("always", "premium") else ["ladder"]):
                    w, norm = sized_weights(p, rule, fc, choice.get(rule, {}), (start, SELECTION[1]))
                    b = run_book(p, w, start, SELECTION[1], mode=mode)
                    assert b.daily.index[-1] <= pd.Timestamp("2022-12-31")
                    rows.append({"asset": asset, "fc": fc, "window": win, "start": start, "rule": rule,
                                 "mode": mode, "norm": norm, **metrics(b, cap)})
t = pd.DataFrame(rows)
t.to_csv("out/selection_common.csv", index=False)
pd.set_option("display.width", 250)
cols = ["asset", "fc", "window", "start", "rule", "mode", "sharpe", "pnl_yr", "loss_ratio", "worst30", "trade_share",
        "hit", "worst_trade", "worst30_cap", "peak_margin_cap"]
print(t[cols].to_string(float_format=lambda x: f"{x:.3f}"))
c = t[(t.window == "common") & (t["mode"] == "ladder")]
print(c.pivot_table(index="rule", columns=["fc"], values="sharpe", aggfunc="mean").round(3))
