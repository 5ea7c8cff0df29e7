"""Step 4 (tables): the ONE out-of-sample run, origins 2023-01-01 .. 2026-03-07 (all settled by 2026-04-06).

Bootstrap p-values use varswap.sharpe_test (the project's sharpe_difference algorithm, with draws in
which a rarely-trading book has zero variance dropped; see its docstring). Rules, parameters, normalisers (selection origins of each forecaster) and capital are those fixed in
REPORT.md Part A. Writes out/oos_<asset>.csv (one row per rule x forecaster x mode) and
out/oos_daily_<asset>.parquet (daily MTM P&L of every book).
"""
import json
import numpy as np, pandas as pd
from varswap import (FORECASTERS, OOS, SELECTION, capital_for, load_panel, metrics, run_book, sharpe_test,
                     sized_weights)

choice = json.load(open("out/selection_choice.json"))
choice = {k: {kk: (np.inf if v is None else v) for kk, v in d.items()} for k, d in choice.items()}
choice["band"] = {"margin": choice["gate"]["margin"], "band": choice["long"]["band"]}
RULES = ["always", "gate", "ratio", "premium", "voltarget", "ratio_vt", "band", "long", "long_b0"]
START, END = OOS

for asset in ["btc", "eth"]:
    p = load_panel(asset)
    cap = capital_for(p, SELECTION[0], "2022-12-31")
    books, rows = {}, []
    for fc in FORECASTERS:
        first = str(p.loc[SELECTION[0]:SELECTION[1], f"F_{fc}"].first_valid_index().date())
        assert p.loc[START:END, f"F_{fc}"].notna().all()
        for rule in RULES:
            name, params = (("long", {"band": 0.0}) if rule == "long_b0" else (rule, choice.get(rule, {})))
            w, norm = sized_weights(p, name, fc, params, (first, SELECTION[1]))  # normaliser: selection only
            for mode in (["ladder", "roll"] if rule in ("always", "premium") else ["ladder"]):
                b = run_book(p, w, START, END, mode=mode)
                assert b.daily.index[-1] == pd.Timestamp("2026-04-06")
                books[(fc, rule, mode)] = b.daily["pnl"]
                rows.append({"asset": asset, "fc": fc, "rule": rule, "mode": mode, "param": json.dumps(params),
                             "norm": norm, **metrics(b, cap)})
    t = pd.DataFrame(rows)
    # bootstrap: vs always-sell (same mode), and LSTM vs each other forecaster for the same rule
    pv, dv, pl, dl, nv = [], [], [], [], []
    for _, r in t.iterrows():
        x = books[(r.fc, r.rule, r["mode"])]
        if r.rule == "always":
            pv.append(np.nan); dv.append(np.nan); nv.append(np.nan)
        else:
            s = sharpe_test(x, books[("lstm", "always", r["mode"])])
            pv.append(s["pvalue"]); dv.append(s["diff"]); nv.append(s["n_valid"])
        if r.fc == "lstm" or r.rule == "always":
            pl.append(np.nan); dl.append(np.nan)
        else:
            s = sharpe_test(books[("lstm", r.rule, r["mode"])], x)
            pl.append(s["pvalue"]); dl.append(s["diff"])
    t["d_vs_always"], t["p_vs_always"], t["lstm_minus_this"], t["p_vs_lstm"] = dv, pv, dl, pl
    t["boot_valid_vs_always"] = nv
    t.to_csv(f"out/oos_{asset}.csv", index=False)
    pd.DataFrame({"|".join(k): v for k, v in books.items()}).to_parquet(f"out/oos_daily_{asset}.parquet")
    pd.set_option("display.width", 300)
    print(asset, "capital", cap)
    print(t[["fc", "rule", "mode", "sharpe", "sortino", "pnl_yr", "pnl_trade", "hit", "trade_share", "worst30",
             "loss_ratio", "worst_trade", "cvar95", "d_vs_always", "p_vs_always", "lstm_minus_this", "p_vs_lstm", "boot_valid_vs_always"]]
          .to_string(float_format=lambda v: f"{v:.3f}"))
