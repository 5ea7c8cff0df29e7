"""Markdown formatting helpers for the report tables."""
import numpy as np
import pandas as pd

FMT = {"sharpe": "{:.2f}", "sortino": "{:.2f}", "d_sharpe": "{:+.2f}", "pnl_yr": "{:,.0f}", "pnl_trade": "{:,.0f}",
       "hit": "{:.0%}", "trade_share": "{:.0%}", "in_market": "{:.0%}", "mean_w": "{:.2f}", "worst30": "{:,.0f}",
       "loss_ratio": "{:.3f}", "loss_ratio_rel": "{:.2f}", "worst_trade": "{:,.0f}", "cvar95": "{:,.0f}",
       "ret_yr_cap": "{:.0%}", "worst30_cap": "{:.1%}", "maxdd_cap": "{:.1%}", "peak_margin_cap": "{:.0%}",
       "norm": "{:.4g}", "lstm_minus_this": "{:+.2f}", "hedge_trades_per_straddle": "{:.1f}", "n_traded": "{:d}", "p_vs_always": "{:.3f}", "p_vs_lstm": "{:.3f}", "d_vs_always": "{:+.2f}"}


def fmt(v, col):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "inf" if isinstance(v, float) and np.isinf(v) else "-"
    if col.startswith("stress"):
        return f"{v:,.0f}"
    f = FMT.get(col)
    if f is None and (col.endswith("_pct_yr") or col.endswith("_pct_trade")):
        f = "{:.2f}"
    try:
        return f.format(v) if f else str(v)
    except (ValueError, TypeError):
        return str(v)


def md(df: pd.DataFrame, cols: list[str], rename: dict | None = None) -> str:
    rename = rename or {}
    head = "| " + " | ".join(rename.get(c, c) for c in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    lines = [head, sep]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(fmt(r[c], c) for c in cols) + " |")
    return "\n".join(lines)
