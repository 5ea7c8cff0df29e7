"""Step 3 (table): the selection grid on 2021-03-24 -> 2022-12-31 only (origins 2021-03-24 .. 2022-12-01).

Every rule x parameter x forecaster x asset, ladder book, net of costs. Reads no data after
2022-12-31: run_book's last marked day is 2022-12-31, normalisers use selection origins only.
Each forecaster's books start at its first forecast (HAR-IV: 2021-08-20; the others 2021-03-24),
and its sized rules are normalised on those origins, so a rule never "avoids" days on which its
forecaster did not exist. One parameter per rule family, common to every forecaster and both
assets, is chosen by the mean over the 8 (asset, forecaster) series of the net Sharpe minus
always-sell's on the same window (short rules), or of the net Sharpe (long-only rule; a rule that
never trades has Sharpe 0). Writes out/selection_grid.csv and
out/selection_choice.json.
"""
import json
import numpy as np, pandas as pd
from varswap import (FORECASTERS, SELECTION, capital_for, load_panel, metrics, run_book, sized_weights)

GRID = {"always": [{}],
        "gate": [{"margin": m} for m in (-0.1, 0.0, 0.1, 0.2, 0.3, 0.5)],
        "ratio": [{}],
        "premium": [{"cap": c} for c in (0.25, 0.5, 1.0, 2.0, np.inf)],
        "voltarget": [{}],
        "ratio_vt": [{}],
        "long": [{"band": b} for b in (0.0, 0.1, 0.25, 0.5)]}
START, END = SELECTION
assert END <= "2022-12-01"

rows = []
for asset in ["btc", "eth"]:
    p = load_panel(asset)
    cap = capital_for(p, START, "2022-12-31")
    for fc in FORECASTERS:
        first = str(p.loc[START:END, f"F_{fc}"].first_valid_index().date())
        for rule, plist in GRID.items():
            for params in plist:
                w, norm = sized_weights(p, rule, fc, params, (first, END))
                b = run_book(p, w, first, END)
                assert b.daily.index[-1] <= pd.Timestamp("2022-12-31")
                m = metrics(b, cap)
                rows.append({"asset": asset, "fc": fc, "rule": rule, "param": json.dumps(params),
                             "start": first, "norm": norm, "capital": cap, **m})
grid = pd.DataFrame(rows)
grid["sharpe"] = grid["sharpe"].fillna(0.0)  # never traded: flat
base = grid[grid.rule == "always"].set_index(["asset", "fc"])
grid["d_sharpe"] = grid["sharpe"] - base.loc[list(zip(grid.asset, grid.fc)), "sharpe"].to_numpy()
grid["loss_ratio_rel"] = grid["loss_ratio"] / base.loc[list(zip(grid.asset, grid.fc)), "loss_ratio"].to_numpy()
grid.to_csv("out/selection_grid.csv", index=False)

# pooled choice per family
pooled = grid.groupby(["rule", "param"])[["sharpe", "d_sharpe", "loss_ratio", "loss_ratio_rel", "pnl_yr",
                                          "trade_share", "hit"]].mean()
print(pooled.to_string(float_format=lambda x: f"{x:.3f}"))
choice = {}
for rule in GRID:
    sub = pooled.loc[rule]
    choice[rule] = json.loads(sub["sharpe" if rule == "long" else "d_sharpe"].idxmax())
print("chosen:", choice)
json.dump({k: {kk: (None if (isinstance(v, float) and np.isinf(v)) else v) for kk, v in d.items()}
           for k, d in choice.items()}, open("out/selection_choice.json", "w"), indent=1)
pd.set_option("display.width", 250)
cols = ["start", "sharpe", "d_sharpe", "loss_ratio_rel", "sortino", "pnl_yr", "pnl_trade", "hit", "trade_share", "worst30", "loss_ratio",
        "worst_trade", "cvar95", "ret_yr_cap", "worst30_cap", "peak_margin_cap", "norm"]
print(grid[["asset", "fc", "rule", "param"] + cols].to_string(float_format=lambda x: f"{x:.3f}"))
