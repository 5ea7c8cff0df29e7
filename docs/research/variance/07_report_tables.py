"""Formats the out-of-sample (and straddle / context) tables of REPORT.md Part B from out/*.csv."""
import pandas as pd
from tables import md

ORDER = ["always", "gate", "ratio", "premium", "voltarget", "ratio_vt", "band", "long", "long_b0"]
parts = []
for asset in ["btc", "eth"]:
    t = pd.read_csv(f"out/oos_{asset}.csv")
    t = t[~((t.rule == "always") & (t.fc != "lstm"))].copy()
    t.loc[t.rule == "always", "fc"] = "-"
    t["rule"] = pd.Categorical(t["rule"], ORDER)
    t = t.sort_values(["rule", "fc", "mode"])
    t["rule"] = t["rule"].astype(str)
    t["rule"] = t["rule"].replace({"long_b0": "long (band 0, descriptive)"})
    stress = [c for c in t.columns if c.startswith("stress")]
    parts.append(f"### {asset.upper()}: performance (net of costs, variance points per unit notional)\n\n" + md(
        t, ["rule", "fc", "mode", "sharpe", "sortino", "pnl_yr", "pnl_trade", "hit", "trade_share", "in_market",
            "mean_w", "d_vs_always", "p_vs_always", "lstm_minus_this", "p_vs_lstm"],
        {"trade_share": "days traded", "in_market": "days in mkt", "mean_w": "mean notional",
         "d_vs_always": "dSharpe vs always", "p_vs_always": "p vs always", "lstm_minus_this": "LSTM minus this",
         "p_vs_lstm": "p LSTM vs this"}))
    parts.append(f"### {asset.upper()}: risk, capital, stress windows\n\n" + md(
        t, ["rule", "fc", "mode", "worst30", "loss_ratio", "worst_trade", "cvar95", "ret_yr_cap", "worst30_cap",
            "maxdd_cap", "peak_margin_cap"] + stress,
        {"loss_ratio": "worst30 / annual P&L", "ret_yr_cap": "P&L/yr % cap", "worst30_cap": "worst30 % cap",
         "maxdd_cap": "max DD % cap", "peak_margin_cap": "peak margin % cap"}))
open("out/oos_tables.md", "w").write("\n\n".join(parts) + "\n")

s = pd.read_csv("out/straddle.csv")
comp = ["premium", "option_fees", "payoff", "hedge_gain", "hedge_cost", "delivery_fee", "net"]
a = md(s, ["asset", "window", "rule", "fc"] + [f"{c}_pct_yr" for c in comp] + ["n_traded"])
b = md(s, ["asset", "window", "rule", "fc"] + [f"{c}_pct_trade" for c in comp] + ["hit", "hedge_trades_per_straddle"])
open("out/straddle_tables.md", "w").write(a + "\n\n" + b + "\n")
print(open("out/oos_tables.md").read()[:3000])
