"""Step 4b (descriptive, no choices): context for the out-of-sample results.

DVOL^2/F on selection vs out-of-sample origins, forecast bias in variance out of sample, gross
(no-cost) always-sell and premium books, P&L per calendar year. Writes out/oos_context_*.csv.
"""
import json
import numpy as np, pandas as pd
from varswap import FORECASTERS, OOS, SELECTION, load_panel, metrics, run_book, sized_weights

choice = json.load(open("out/selection_choice.json"))
rows, gross, years = [], [], []
for asset in ["btc", "eth"]:
    p = load_panel(asset)
    for fc in FORECASTERS:
        for win, (a, b) in {"selection": SELECTION, "oos": OOS}.items():
            q = p.loc[a:b]
            x = q["iv2"] / q[f"F_{fc}"]
            rows.append({"asset": asset, "fc": fc, "window": win, "mean x": x.mean(), "median x": x.median(),
                         "share x>1": (x > 1).mean(), "share x>1.3": (x > 1.3).mean(),
                         "mean(RV)/mean(F)": q["rv"].mean() / q[f"F_{fc}"].mean(),
                         "mean(RV/F)": (q["rv"] / q[f"F_{fc}"]).mean(),
                         "mean(RV)/mean(DVOL^2)": q["rv"].mean() / q["iv2"].mean()})
        first = str(p.loc[SELECTION[0]:SELECTION[1], f"F_{fc}"].first_valid_index().date())
        for rule in ["always", "premium"]:
            if rule == "always" and fc != "lstm":
                continue
            w, _ = sized_weights(p, rule, fc, choice.get(rule, {}), (first, SELECTION[1]))
            for costs in [True, False]:
                bk = run_book(p, w, *OOS, fees=costs, spread=1.25 if costs else 0.0)
                m = metrics(bk)
                gross.append({"asset": asset, "fc": "-" if rule == "always" else fc, "rule": rule,
                              "costs": costs, **{k: m[k] for k in ["sharpe", "pnl_yr", "worst30", "loss_ratio",
                                                                  "mean_w", "trade_share"]}})
                if costs:
                    y = bk.daily["pnl"].groupby(bk.daily.index.year).sum()
                    years.append(pd.Series(y, name=(asset, "-" if rule == "always" else fc, rule)))
ctx = pd.DataFrame(rows)
g = pd.DataFrame(gross)
yr = pd.DataFrame(years)
ctx.to_csv("out/oos_context_x.csv", index=False)
g.to_csv("out/oos_context_gross.csv", index=False)
yr.to_csv("out/oos_context_years.csv")
pd.set_option("display.width", 250)
print(ctx.to_string(float_format=lambda v: f"{v:.3f}"))
print(g.to_string(float_format=lambda v: f"{v:.3f}"))
print(yr.round(0).to_string())
