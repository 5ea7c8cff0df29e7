"""Step 6 (selection only, decision days 2021-03-24 .. 2022-12-01, every position settled by 2022-12-31):
short, flat or long gamma/variance by the forecast-to-implied ratio, and the sized short-variance book.

``x = F / DVOL^2`` (the forecaster's 30-day variance over implied variance, both annualised). Rule:
short (sell one straddle or swap) when ``x <= a``, long (buy one) when ``x >= b``, flat otherwise
(``a = inf``: always short; ``b = inf``: never long).

Straddles: 0.3.0's hedge (daily, 5% band, at implied), so the decision is judged apart from the hedge. The
lift is the mean net P&L per traded straddle (a short's or a long's, % of S0) minus always-short's mean per
straddle on the same days. Rule fixed before looking: over forecasters x (a, b), the largest mean lift over
BTC and ETH subject to, on each asset, at least 25% of days traded and a daily book standard deviation at
most 1.05x always-short's.

Variance swaps (``varswap.run_book``, ladder, net of spread and fees): the same rule, chosen by the largest
mean MTM Sharpe over BTC and ETH under the same constraints. The sized book (premium rule
``w = min(c (DVOL^2/F - 1)+, 3)``, ``c`` normalising the mean multiple to 1 on these days): its forecaster is
the one with the best mean Sharpe over the two assets (the 0.3.0 research's rule).

Forecasters: log-HAR (0.3.0), log-HAR calibrated, HAR-IV (0.3.0), HAR-IV calibrated, the market-anchored
forecast, EWMA, GARCH calibrated. (The LSTMs are in-sample on these days and are not candidates.)
"""

from __future__ import annotations

import itertools
import json
import sys

import numpy as np
import pandas as pd

from bands import BandPolicy
from common import ASSETS, CACHE, DECISION_SELECTION, OUT, daily_panel, load_cache
from designs import anchored, calibrated
from straddle_sim import book_daily, hourly_grid, simulate

sys.path.insert(0, "/work/frozen/docs/research/variance")
import varswap  # noqa: E402

A_GRID = [0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, np.inf]
B_GRID = [1.2, 1.5, 2.0, np.inf]
TODAY_HEDGE = BandPolicy("fixed", band=0.05)


def decision_forecasts(asset: str) -> tuple[dict, dict]:
    c = load_cache(asset)
    wins = dict(np.load(CACHE / f"windows_{asset}.npz"))
    f = {"log_har": c["log_har"], "log_har_cal": calibrated(asset, "log_har", c, wins),
         "har_iv": c["har_iv"], "har_iv_cal": calibrated(asset, "har_iv", c, wins),
         "anchor": anchored(asset, c), "ewma": c["ewma"], "garch_cal": calibrated(asset, "garch", c, wins)}
    return c, f


def rule_w(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return np.where(x <= a, 1.0, np.where(x >= b, -1.0, 0.0))


def straddle_rows(tr: pd.DataFrame, d: np.ndarray, dl: np.ndarray, x: np.ndarray, days, a: float, b: float) -> dict:
    w = rule_w(x, a, b)
    w[~np.isfinite(x)] = 0.0
    signed = np.where(w > 0, tr["net"], np.where(w < 0, tr["net_long"], np.nan))
    book = book_daily(d, dl, w, days)
    always = book_daily(d, dl, np.ones(len(days)), days)
    return {"share": float((w != 0).mean()), "share_long": float((w < 0).mean()),
            "mean_per_straddle": float(np.nanmean(signed)) * 100,
            "lift": (float(np.nanmean(signed)) - float(tr["net"].mean())) * 100,
            "book_sd_ratio": float(book.std() / always.std()), "book_mean_ratio": float(book.mean() / always.mean())}


def swap_metrics(p: pd.DataFrame, w: pd.Series, start: str, end: str) -> dict:
    m = varswap.metrics(varswap.run_book(p, w, start, end))
    return {k: m[k] for k in ("sharpe", "pnl_yr", "worst30", "loss_ratio", "trade_share")}


def main(start: str = DECISION_SELECTION[0], end: str = DECISION_SELECTION[1]) -> None:
    days = pd.date_range(start, end)
    rows, swap_rows, sized = [], [], []
    for asset in ASSETS:
        c, fc = decision_forecasts(asset)
        g = hourly_grid(c)
        tr, d, dl = simulate(g, days, TODAY_HEDGE)
        p = daily_panel(c, fc)
        always_sw = swap_metrics(p, varswap.rule_always(p), start, end)
        swap_rows.append({"asset": asset, "fc": "-", "a": np.inf, "b": np.inf, **always_sw})
        for name in fc:
            x = (p[f"F_{name}"] / p["iv2"]).reindex(days).to_numpy()
            for a, b in itertools.product(A_GRID, B_GRID):
                if b <= a:
                    continue
                rows.append({"asset": asset, "fc": name, "a": a, "b": b, **straddle_rows(tr, d, dl, x, days, a, b)})
                w = pd.Series(rule_w(p[f"F_{name}"] / p["iv2"], a, b), index=p.index).where(p[f"F_{name}"].notna())
                swap_rows.append({"asset": asset, "fc": name, "a": a, "b": b, **swap_metrics(p, w, start, end)})
            raw = varswap.rule_premium(p, name, cap=2.0)
            norm = varswap.normaliser(raw, start, end)
            w = (raw * norm).clip(upper=varswap.LEV_CAP)
            sized.append({"asset": asset, "fc": name, "norm": norm, **swap_metrics(p, w, start, end),
                          "always_sharpe": always_sw["sharpe"], "always_loss_ratio": always_sw["loss_ratio"]})
    st = pd.DataFrame(rows)
    sw = pd.DataFrame(swap_rows)
    sz = pd.DataFrame(sized)
    st.to_csv(OUT / "decision_straddle_grid.csv", index=False)
    sw.to_csv(OUT / "decision_swap_grid.csv", index=False)
    sz.to_csv(OUT / "sized_selection.csv", index=False)

    # straddle choice
    ok = st.groupby(["fc", "a", "b"]).apply(
        lambda g: pd.Series({"lift": g["lift"].mean(), "ok": bool((g["share"] >= 0.25).all() and
                                                                  (g["book_sd_ratio"] <= 1.05).all()),
                             "lift_btc": g[g.asset == "btc"]["lift"].iloc[0], "lift_eth": g[g.asset == "eth"]["lift"].iloc[0],
                             "share_btc": g[g.asset == "btc"]["share"].iloc[0], "share_eth": g[g.asset == "eth"]["share"].iloc[0],
                             "sd_btc": g[g.asset == "btc"]["book_sd_ratio"].iloc[0],
                             "sd_eth": g[g.asset == "eth"]["book_sd_ratio"].iloc[0]}), include_groups=False)
    ok = ok.reset_index().sort_values("lift", ascending=False)
    ok.to_csv(OUT / "decision_straddle_summary.csv", index=False)
    pd.set_option("display.width", 220)
    print(ok[ok["ok"]].head(20).round(3).to_string(index=False))
    best_st = ok[ok["ok"]].iloc[0]
    # swap choice
    sw_f = sw[sw["fc"] != "-"]
    sok = sw_f.groupby(["fc", "a", "b"]).apply(
        lambda g: pd.Series({"sharpe": g["sharpe"].mean(), "ok": bool((g["trade_share"] >= 0.25).all()),
                             "sharpe_btc": g[g.asset == "btc"]["sharpe"].iloc[0],
                             "sharpe_eth": g[g.asset == "eth"]["sharpe"].iloc[0],
                             "share_btc": g[g.asset == "btc"]["trade_share"].iloc[0],
                             "share_eth": g[g.asset == "eth"]["trade_share"].iloc[0]}), include_groups=False)
    sok = sok.reset_index().sort_values("sharpe", ascending=False)
    sok.to_csv(OUT / "decision_swap_summary.csv", index=False)
    print(sw[sw["fc"] == "-"].round(3).to_string(index=False))
    print(sok[sok["ok"]].head(12).round(3).to_string(index=False))
    best_sw = sok[sok["ok"]].iloc[0]
    print(sz.round(3).to_string(index=False))
    best_sz = sz.groupby("fc")["sharpe"].mean().sort_values(ascending=False)
    print(best_sz.round(3))
    choice = {"straddle": {"fc": best_st["fc"], "a": float(best_st["a"]), "b": float(best_st["b"])},
              "swap": {"fc": best_sw["fc"], "a": float(best_sw["a"]), "b": float(best_sw["b"])},
              "sized": {"fc": best_sz.index[0],
                        "norm": {r["asset"]: r["norm"] for _, r in sz[sz["fc"] == best_sz.index[0]].iterrows()}}}
    print(choice)
    json.dump(choice, open(OUT / "decision_choice.json", "w"), indent=1, default=str)


if __name__ == "__main__":
    main()
