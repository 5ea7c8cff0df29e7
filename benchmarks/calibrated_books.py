"""Issue #29's books in the variance race (``decision_race.py --part variance``) and their goal lines, with power.

Every parameter was frozen on the selection period (docs/research/calibration/REPORT.md, "Frozen choices"):

* the calibrated forecasters (``lstm_strategies.forecasters.calibrated``) and ``implied_anchor``;
* short, flat or long by ``x = F / DVOL^2`` (``rule = "band"``): straddles short when ``x <= 0.8`` (margin 0.25)
  and long when ``x >= 1.5`` (long_margin 0.5), variance swaps short when ``x <= 0.8`` and long when ``x >= 1.2``
  (long_margin 0.2), one unit per decision, the calibrated log-HAR's forecast (the others for reference);
* the new hedge: Whalley-Wilmott at the calibrated log-HAR's 30-day forecast vol, gamma_r 34, checked every bar;
* the sized short-variance book: premium rule with the calibrated log-HAR, normalisers BTC 4.68734, ETH 6.84490.

Goal lines (2023-01-01 .. 2026-03-07 decisions, settled by 2026-04-06), each with the minimum detectable effect at
80% power for its sample and the sample that would detect the observed effect (``lstm_strategies.stats.power``):

3. per-straddle P&L sd >= 15% lower than today's daily 5% band at equal hedge cost;
4. the straddle rule lifts mean P&L per straddle by >= 0.5% of spot over always-short, 95% CI excluding 0, with a
   book sd <= 1.05x always-short's;
5. the sized book's worst 30 days over its annual P&L <= 0.5x always-sell's (BTC), at a Sharpe >= always-sell's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SFL_STRADDLE = {"rule": "band", "margin": 0.25, "long_margin": 0.5}
SFL_SWAP = {"rule": "band", "margin": 0.25, "long_margin": 0.2}
NEW_HEDGE = {"hedge_band": "ww", "risk_aversion": 34.0, "hedge_check": "bar", "hedge_vol": "forecast"}
SIZED_CAL = {"btc": 4.68734, "eth": 6.84490}
#: book -> (strategy, parameters, modes), as variance_race.BOOKS
BOOKS = {
    "sfl": ("variance_swap", SFL_SWAP, ("ladder",)),
    "premium_cal": ("variance_swap", {"rule": "premium", "cap": 2.0, "max_multiple": 3.0}, ("ladder",)),
    "straddle_always_ww": ("hedged_straddle", {"rule": "always", **NEW_HEDGE}, ("ladder",)),
    "straddle_sfl": ("hedged_straddle", SFL_STRADDLE, ("ladder",)),
    "straddle_sfl_ww": ("hedged_straddle", {**SFL_STRADDLE, **NEW_HEDGE}, ("ladder",)),
}
#: the forecasters each of these books runs with (labels: a registered name or a calibrated variant)
FORECASTERS = {
    "sfl": ["log_har_cal", "lstm_iv_cal", "log_har"],
    "premium_cal": ["log_har_cal"],
    "straddle_always_ww": ["log_har_cal"],
    "straddle_sfl": ["log_har_cal", "lstm_iv_cal", "log_har", "lstm_cal", "har_iv_cal", "implied_anchor"],
    "straddle_sfl_ww": ["log_har_cal"],
}
GOAL_FC = "log_har_cal"


def forecaster_spec(label: str, asset: str) -> tuple[str, dict, bool]:
    """``(registry name, forecaster_params, in-sample allowed)`` of a label. The LSTM-IV's correction reads its
    forecasts of the 210 days before 2023-01-01, inside its training window (to 2022-12-31), as the research's
    did: its books are run and marked in-sample."""
    from lstm_strategies.forecasters.calibrated import CALIBRATED, calibrated

    if label in CALIBRATED:
        name, params = calibrated(label, asset)
        return name, params, label == "lstm_iv_cal"
    return label, ({"model": f"{asset}-1h"} if label == "lstm" else {}), False


# ----------------------------------------------------------------------------------------------
# goal lines
# ----------------------------------------------------------------------------------------------
def _boot(n: int, reps: int, block: float, seed: int):
    from lstm_strategies.stats.power import stationary_bootstrap_indices

    rng = np.random.default_rng(seed)
    for _ in range(reps):
        yield stationary_bootstrap_indices(n, block, rng)


def sd_ratio(a: np.ndarray, b: np.ndarray, reps: int = 2000, block: float = 30.0) -> dict:
    """sd(a)/sd(b) over paired days, stationary-bootstrap 95% interval and the ratio detectable at 80% power."""
    from lstm_strategies.stats.power import mde_from_se

    draws = np.array([a[i].std(ddof=1) / b[i].std(ddof=1) for i in _boot(len(a), reps, block, 1)])
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"ratio": a.std(ddof=1) / b.std(ddof=1), "lo": lo, "hi": hi,
            "detectable": math.exp(-mde_from_se(np.log(draws).std(ddof=1)))}


def _per_day(straddles: pd.DataFrame, asset: str, book: str, fc: str) -> pd.DataFrame:
    s = straddles[(straddles["asset"] == asset) & (straddles["book"] == book) & (straddles["forecaster"] == fc)]
    return s.assign(day=pd.to_datetime(s["day"], utc=True)).set_index("day")


def hedge_goal(books: pd.DataFrame, daily: dict, straddles: pd.DataFrame, assets: list[str],
               frontier: list[str]) -> list[str]:
    """Goal 3 on the strategy's books (netted orders, fills at the next open), the research simulator's frontier as
    reference."""
    parts, met = [], True
    for asset in assets:
        old = _per_day(straddles, asset, "straddle_always", "-")
        new = _per_day(straddles, asset, "straddle_always_ww", GOAL_FC)
        both = old[["net", "hedge_cost"]].join(new[["net", "hedge_cost"]], rsuffix="_new", how="inner").dropna()
        r = sd_ratio(both["net_new"].to_numpy(), both["net"].to_numpy())
        d = pd.DataFrame({"old": daily[asset]["straddle_always|-|ladder"],
                          "new": daily[asset][f"straddle_always_ww|{GOAL_FC}|ladder"]}).dropna()
        b = sd_ratio(d["new"].to_numpy(), d["old"].to_numpy())
        met &= bool(1 - r["ratio"] >= 0.15 and both["hedge_cost_new"].mean() <= both["hedge_cost"].mean())
        parts.append(f"{asset}: sd {100 * both['net_new'].std():.2f}% vs {100 * both['net'].std():.2f}% = "
                     f"{1 - r['ratio']:+.1%} lower (95% CI of the ratio {r['lo']:.3f}-{r['hi']:.3f}; detectable at "
                     f"80%: ratio <= {r['detectable']:.3f}), hedge cost {100 * both['hedge_cost_new'].mean():.3f}% vs "
                     f"{100 * both['hedge_cost'].mean():.3f}%, {len(both)} straddles; daily book sd "
                     f"{1 - b['ratio']:+.1%} (CI {1 - b['hi']:+.1%}..{1 - b['lo']:+.1%})")
    lines = [f"goal hedge (WW at the calibrated log-HAR's forecast, gamma_r 34, every bar; the strategy's books): "
             f"{'met' if met else 'not met'} ({'; '.join(parts)})"]
    ref = "  reference, the research simulator (each straddle alone, fills at the close):"
    return lines + [f"{ref} {x}" for x in frontier]


def rule_lift(straddles: pd.DataFrame, asset: str, book: str, fc: str, always: str = "straddle_always",
              always_fc: str = "-") -> dict:
    """Mean net P&L per traded straddle minus always-short's per straddle on the same days; stationary bootstrap of
    the decision days (mean block 30, 2,000 draws); MDE and the days that would detect the observed lift."""
    from lstm_strategies.stats.power import mde_from_se, required_n

    base = _per_day(straddles, asset, always, always_fc)["net"].dropna()   # the last, unwound after the data: out
    rule = _per_day(straddles, asset, book, fc)
    w = rule["w"].reindex(base.index).fillna(0.0).to_numpy()
    signed = rule["net"].where(rule["w"] != 0).reindex(base.index).to_numpy()
    short = base.to_numpy()
    lift = np.nanmean(signed) - short.mean()
    draws = np.array([np.nanmean(signed[i]) - short[i].mean() for i in _boot(len(short), 2000, 30.0, 2)
                      if np.isfinite(signed[i]).any()])
    se = draws.std(ddof=1)
    return {"rule_mean": np.nanmean(signed), "always_mean": short.mean(), "lift": lift,
            "lo": np.quantile(draws, 0.025), "hi": np.quantile(draws, 0.975), "mde": mde_from_se(se),
            "days_needed": required_n(lift, len(short) * se**2), "n": int((w != 0).sum()),
            "share": float((w != 0).mean()), "share_long": float((w < 0).mean())}


def straddle_rule_goal(daily: dict, straddles: pd.DataFrame, assets: list[str]) -> list[str]:
    lines = []
    hedges = [("straddle_sfl", "straddle_always", "-", "today")] + \
        [("straddle_sfl_ww", "straddle_always_ww", GOAL_FC, "new")]
    for book, always, always_fc, hedge in hedges:
        for fc in FORECASTERS[book]:
            parts, met = [], True
            for asset in assets:
                r = rule_lift(straddles, asset, book, fc, always, always_fc)
                sd = daily[asset][f"{book}|{fc}|ladder"].std() / daily[asset][f"{always}|{always_fc}|ladder"].std()
                met &= bool(r["lift"] >= 0.005 and r["lo"] > 0 and sd <= 1.05)
                parts.append(f"{asset}: {100 * r['rule_mean']:+.2f}% vs always {100 * r['always_mean']:+.2f}%, lift "
                             f"{100 * r['lift']:+.2f} (95% CI {100 * r['lo']:+.2f}..{100 * r['hi']:+.2f}; MDE "
                             f"{100 * r['mde']:.2f}; days needed for this lift {r['days_needed']:,.0f}), {r['n']} "
                             f"straddles ({r['share']:.0%} of days, {r['share_long']:.0%} long), book sd {sd:.2f}x")
            tag = "goal" if (fc == GOAL_FC and hedge == "today") else "reported"
            lines.append(f"{tag} straddle rule {fc} (hedge {hedge}): {'met' if met else 'not met'} ("
                         + "; ".join(parts) + ")")
    return lines


def swap_lines(books: pd.DataFrame, daily: dict, assets: list[str]) -> list[str]:
    """The short/flat/long swap ladders and the sized book against always-sell, with the Sharpe difference's
    bootstrap p-value, its MDE (HAC) and the years that would detect it; then goal 5."""
    from lstm_strategies.stats.power import sharpe_diff_power

    idx = books.set_index(["asset", "book", "forecaster", "mode"])
    lines, rows = [], {}
    for asset in assets:
        always = idx.loc[(asset, "always", "-", "ladder")]
        for book, fc in [("always", "-")] + [("sfl", f) for f in FORECASTERS["sfl"]] + [("premium_cal", GOAL_FC),
                                                                                        ("premium", "log_har")]:
            if (asset, book, fc, "ladder") not in idx.index:
                continue
            r = idx.loc[(asset, book, fc, "ladder")]
            ratio = r["worst_30d_over_annual_pnl"]
            rel = ratio / always["worst_30d_over_annual_pnl"] if always["pnl_per_year"] > 0 else math.nan
            shown = f"{ratio:.3f}" if r["pnl_per_year"] > 0 else "undefined (P&L < 0)"
            text = (f"  {asset} {book} {fc}: Sharpe {r['sharpe_mtm']:.2f}, P&L/yr {r['pnl_per_year']:,.0f}, worst30 "
                    f"{r['worst_30d']:,.0f}, worst30/annual {shown}"
                    + (f" ({rel:.2f}x always)" if rel == rel and book != "always" else "")
                    + f", days traded {r['days_traded']:.0%}")
            if book != "always":
                x = daily[asset][f"{book}|{fc}|ladder"]
                y = daily[asset]["always|-|ladder"].reindex(x.index)
                p = sharpe_diff_power(x.to_numpy(), y.to_numpy(), 365, method="hac")
                text += (f", dSharpe vs always {r['d_vs_always']:+.2f} (p {r['p_vs_always']:.2f}, MDE {p['mde']:.2f}, "
                         f"years needed {p['years_required']:.0f})")
                rows[(asset, book, fc)] = (r, rel, p)
            lines.append(text)
    r, rel, p = rows[("btc", "premium_cal", GOAL_FC)]
    a = idx.loc[("btc", "always", "-", "ladder")]
    met = rel <= 0.5 and r["sharpe_mtm"] >= a["sharpe_mtm"]
    lines.append(f"goal sized short-variance book (log-HAR cal, c = {SIZED_CAL['btc']}): {'met' if met else 'not met'} "
                 f"(btc: worst30/annual P&L {r['worst_30d_over_annual_pnl']:.3f} = {rel:.2f}x always-sell's "
                 f"{a['worst_30d_over_annual_pnl']:.3f} (needs <= 0.5x); Sharpe {r['sharpe_mtm']:.2f} vs "
                 f"{a['sharpe_mtm']:.2f} (p {r['p_vs_always']:.2f}; MDE {p['mde']:.2f} Sharpe points; years to detect "
                 f"this difference {p['years_required']:.0f}); {r['days_traded']:.0%} of days traded, P&L/yr "
                 f"{r['pnl_per_year']:,.0f})")
    return lines
