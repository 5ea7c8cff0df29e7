"""Step 6 (POST-HOC sensitivity, not part of the protocol): what if the forecasts had been rescaled
by their <=2022 variance bias? b = mean(RV)/mean(F) over each forecaster's selection origins
(targets ending by 2022-12-31 only); F' = b F; normalisers refit on the selection origins with F'.
Same rules and parameters. Written AFTER the out-of-sample run, so it cannot count as a result;
it shows how much the no-correction decision of Part A section 3 mattered. Writes out/posthoc_bias.csv.
"""
import json
import numpy as np, pandas as pd
from varswap import FORECASTERS, OOS, SELECTION, load_panel, metrics, run_book, sized_weights

choice = json.load(open("out/selection_choice.json"))
choice = {k: {kk: (np.inf if v is None else v) for kk, v in d.items()} for k, d in choice.items()}
rows = []
for asset in ["btc", "eth"]:
    p0 = load_panel(asset)
    base = metrics(run_book(p0, sized_weights(p0, "always", None)[0], *OOS))
    for fc in FORECASTERS:
        p = p0.copy()
        sel = p.loc[SELECTION[0]:SELECTION[1]]
        ok = sel[f"F_{fc}"].notna()
        b = sel.loc[ok, "rv"].mean() / sel.loc[ok, f"F_{fc}"].mean()
        p[f"F_{fc}"] = p[f"F_{fc}"] * b
        first = str(sel[f"F_{fc}"].first_valid_index().date())
        for rule in ["gate", "premium", "ratio"]:
            w, norm = sized_weights(p, rule, fc, choice.get(rule, {}), (first, SELECTION[1]))
            m = metrics(run_book(p, w, *OOS))
            rows.append({"asset": asset, "fc": fc, "b": b, "rule": rule, "sharpe": m["sharpe"],
                         "always_sharpe": base["sharpe"], "loss_ratio": m["loss_ratio"],
                         "always_loss_ratio": base["loss_ratio"], "pnl_yr": m["pnl_yr"],
                         "trade_share": m["trade_share"], "mean_w": m["mean_w"]})
t = pd.DataFrame(rows)
t.to_csv("out/posthoc_bias.csv", index=False)
print(t.to_string(float_format=lambda v: f"{v:.3f}"))
