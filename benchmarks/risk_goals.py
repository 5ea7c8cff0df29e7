"""Tables and goal lines of the risk race (benchmarks/risk_race.py) from its CSVs (``--report-only``).

The goals (issue #30), evaluated as the research froze them (docs/research/tail_risk/REPORT.md, section 2):

* coverage: every recommended model (log-HAR and the bundled LSTM on the bar-only race, HAR-IV and the
  LSTM-IV on the IV race), 1-day 99% VaR, both tails, BTC and ETH: breach rate 0.6-1.5%, Kupiec and
  Christoffersen-CC p > 0.05, no red year, at most one yellow year, loss/ES on breach days 0.9-1.1;
* FZ0: the LSTM-IV's two-tail 1-day FZ0 at least 0.04 below log-HAR's and HAR-IV's with DM p < 0.05 on
  BTC, not worse on ETH;
* leverage: the LSTM-IV long rule's realised liquidations at most 1.5x the budget (1 a year), at least 30%
  more mean leverage than a fixed leverage with the same liquidations (stretch: 10% over log-HAR's rule);
* variance books: no day whose loss beats the LSTM-IV's 7-day ES collateral at equal mean margin.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

RECOMMENDED = [("baronly", "log_har"), ("baronly", "lstm"), ("iv", "har_iv"), ("iv", "lstm_iv")]


def coverage_ok(r) -> tuple[bool, list[str]]:
    why = []
    if not 0.006 <= r.rate <= 0.015:
        why.append(f"rate {r.rate:.2%}")
    if r.kupiec_p <= 0.05:
        why.append(f"Kupiec p {r.kupiec_p:.3f}")
    if r.cc_p <= 0.05:
        why.append(f"CC p {r.cc_p:.3f}")
    if r.red_years > 0:
        why.append(f"{r.red_years} red")
    if r.yellow_years > 1:
        why.append(f"{r.yellow_years} yellow years")
    if not 0.9 <= r.es_ratio <= 1.1:
        why.append(f"ES ratio {r.es_ratio:.3f}")
    return not why, why


def coverage_lines(d1: pd.DataFrame) -> list[str]:
    lines = []
    for method in ("fhs250", "t5", "fhs250_oos_pool"):
        fails, n = [], 0
        for race, name in RECOMMENDED:
            sub = d1[(d1.race == race) & (d1.forecaster == name) & d1.asset.isin(["btc", "eth"])
                     & (d1.method == method)]
            for r in sub.itertuples():
                n += 1
                ok, why = coverage_ok(r)
                if not ok:
                    fails.append(f"{race}/{name}/{r.asset}/{r.side}: " + ", ".join(why))
        if n:
            lines.append(f"goal coverage [{method}]: {'met' if not fails else 'not met'}"
                         + ("" if not fails else " (" + "; ".join(fails) + ")"))
    return lines


def fz0_line(dm: pd.DataFrame) -> str:
    g = dm[(dm.race == "iv") & (dm.h == 1) & (dm.forecaster == "lstm_iv")].set_index(["asset", "vs"])
    b = [g.loc[("btc", ref)] for ref in ("log_har", "har_iv")]
    e = [g.loc[("eth", ref)] for ref in ("log_har", "har_iv")]
    ok = all(r["diff"] <= -0.04 and r["dm_p"] < 0.05 for r in b) and all(r["diff"] <= 0 for r in e)
    return ("goal FZ0: " + ("met" if ok else "not met") + " (BTC LSTM-IV minus log-HAR "
            f"{b[0]['diff']:+.4f} p {b[0]['dm_p']:.4f}, minus HAR-IV {b[1]['diff']:+.4f} p {b[1]['dm_p']:.4f}; "
            f"ETH minus log-HAR {e[0]['diff']:+.4f} p {e[0]['dm_p']:.3f}, minus HAR-IV {e[1]['diff']:+.4f} "
            f"p {e[1]['dm_p']:.3f}; needs BTC <= -0.04 with p < 0.05 against both, ETH <= 0)")


def leverage_lines(lev: pd.DataFrame, fr: pd.DataFrame) -> list[str]:
    L = lev[(lev.race == "iv") & (lev.rule == "lstm_iv") & (lev.side == "long")].set_index("asset")
    budget_ok = all(L.loc[a, "liq_per_year"] <= 1.5 for a in ("btc", "eth"))
    fixed_ok = all(L.loc[a, "lev_ratio_vs_fixed"] >= 1.3 for a in ("btc", "eth"))
    lh_ok = all(L.loc[a, "lev_ratio_vs_loghar"] >= 1.1 for a in ("btc", "eth"))
    desc = "; ".join(f"{a}: {int(L.loc[a, 'liquidations'])} liquidations = {L.loc[a, 'liq_per_year']:.2f}/yr, mean "
                     f"leverage {L.loc[a, 'mean_leverage']:.2f} vs fixed {L.loc[a, 'fixed_same_liq_leverage']:.2f} "
                     f"({L.loc[a, 'lev_ratio_vs_fixed']:.3f}x) vs log-HAR's rule "
                     f"{L.loc[a, 'loghar_same_liq_mean_leverage']:.2f} ({L.loc[a, 'lev_ratio_vs_loghar']:.3f}x)"
                     for a in ("btc", "eth"))
    lines = [f"goal leverage budget (<= 1.5/yr): {'met' if budget_ok else 'not met'}; >= 30% over fixed: "
             f"{'met' if fixed_ok else 'not met'}; stretch >= 10% over log-HAR: {'met' if lh_ok else 'not met'} "
             f"({desc})"]
    f = fr[(fr.race == "iv") & (fr.side == "long")].pivot_table(index=["asset", "k"], columns="rule",
                                                                  values="mean_leverage")
    for a in ("btc", "eth"):
        for k in (2, 3):
            r = f.loc[(a, k)]
            lines.append(f"  (descriptive) frontier at {k} liquidations, {a}: LSTM-IV {r['lstm_iv']:.2f}, log-HAR "
                         f"{r['log_har']:.2f} ({r['lstm_iv'] / r['log_har']:.2f}x), fixed {r['fixed']:.2f} "
                         f"({r['lstm_iv'] / r['fixed']:.2f}x)")
    return lines


def margin_line(mg: pd.DataFrame) -> str:
    m = mg[(mg.margin == "es7d_975@equal_mean") & (mg.forecaster == "lstm_iv")]
    sh = mg[mg.margin == "shock_1.5x"].set_index(["asset", "book"])
    ok = (m.exceed_days == 0).all()
    return ("goal variance-book collateral (LSTM-IV 7-day ES at equal mean margin, no day over): "
            + ("met" if ok else "not met") + " (" + "; ".join(
                f"{r.asset} {r.book}: {r.exceed_days} days, worst {r.worst_ratio:.2f}x "
                f"[shock: {sh.loc[(r.asset, r.book), 'exceed_days']} days, "
                f"{sh.loc[(r.asset, r.book), 'worst_ratio']:.2f}x]" for r in m.itertuples()) + ")")


def check_lines(out: Path, lev: pd.DataFrame) -> list[str]:
    """The calibration re-derived, and the Backtrader books against the vectorised ones (not goals)."""
    lines = []
    cal = out / "leverage_calibration.csv"
    if cal.exists():
        c = pd.read_csv(cal)
        worst = (c["constant"] - c["frozen"]).abs().max()
        lines.append(f"check: budget constants re-derived on the calibration periods, largest gap to the frozen "
                     f"ones {worst:.1e} ({len(c)} constants; the frozen ones are rounded to 6 decimals)")
    bt = out / "leverage_backtrader.csv"
    if bt.exists():
        b = pd.read_csv(bt).set_index("asset")
        vec = lev[(lev.race == "iv") & (lev.rule == "lstm_iv") & (lev.side == "long")].set_index("asset")
        parts = [f"{a}: {int(b.loc[a, 'liquidations'])} liquidations ({b.loc[a, 'liq_dates']}), mean leverage "
                 f"{b.loc[a, 'mean_leverage']:.4f} (vectorised {vec.loc[a, 'mean_leverage']:.4f}), CAGR "
                 f"{b.loc[a, 'cagr']:.2%} ({vec.loc[a, 'cagr']:.2%})" for a in b.index]
        lines.append("check: leveraged_perp through Backtrader, LSTM-IV long: " + "; ".join(parts))
    return lines


def tables(out: Path) -> str:
    d1, d7 = pd.read_csv(out / "risk_1d.csv"), pd.read_csv(out / "risk_7d.csv")
    dm = pd.read_csv(out / "risk_fz0_dm.csv")
    text = []
    for race in ("baronly", "iv"):
        text += [f"\n#### {race}: 1-day 99% VaR / 97.5% ES (FHS 250), long | short\n",
                 "| asset | forecaster | breach rate | Kupiec p | CC p | yellow/red years | ES ratio | MF p | Z2 p | "
                 "FZ0 2-tail (Δ vs log-HAR, DM p) |", "|---|---|---|---|---|---|---|---|---|---|"]
        s = d1[(d1.race == race) & (d1.method == "fhs250")]
        for (asset, name), g in s.groupby(["asset", "forecaster"], sort=False):
            lo, hi = g[g.side == "long"].iloc[0], g[g.side == "short"].iloc[0]
            ref = dm[(dm.race == race) & (dm.asset == asset) & (dm.h == 1) & (dm.vs == "log_har")]
            f = ref[ref.forecaster == name]
            fz = (f"{f.iloc[0].fz0:.3f} ({f.iloc[0]['diff']:+.3f}, {f.iloc[0].dm_p:.3f})" if len(f)
                  else f"{ref.iloc[0].fz0_ref:.3f}")
            text.append(f"| {asset} | {name} | {lo.rate:.2%} \\| {hi.rate:.2%} | {lo.kupiec_p:.2f} \\| "
                        f"{hi.kupiec_p:.2f} | {lo.cc_p:.2f} \\| {hi.cc_p:.2f} | {lo.yellow_years}/{lo.red_years} \\| "
                        f"{hi.yellow_years}/{hi.red_years} | {lo.es_ratio:.3f} \\| {hi.es_ratio:.3f} | "
                        f"{lo.mf_p:.2f} \\| {hi.mf_p:.2f} | {lo.z2_p:.2f} \\| {hi.z2_p:.2f} | {fz} |")
        text += [f"\n#### {race}: 7 days (FHS 500), breach rate at 97.5% / 95%, long | short; HAC p (97.5%); "
                 "ES ratio; FZ0 Δ vs log-HAR (DM p)\n",
                 "| asset | forecaster | 97.5% | 95% | HAC p 97.5% | non-overlap Bonferroni p 97.5% | ES ratio | "
                 "FZ0 Δ (p) |", "|---|---|---|---|---|---|---|---|"]
        for (asset, name), g in d7[d7.race == race].groupby(["asset", "forecaster"], sort=False):
            a, b = g[g.level == 0.975].set_index("side"), g[g.level == 0.95].set_index("side")
            f = dm[(dm.race == race) & (dm.asset == asset) & (dm.h == 7) & (dm.forecaster == name)
                   & (dm.vs == "log_har")]
            fz = f"{f.iloc[0]['diff']:+.3f} ({f.iloc[0].dm_p:.2f})" if len(f) and pd.notna(f.iloc[0].dm_p) else "—"
            text.append(f"| {asset} | {name} | {a.loc['long', 'rate']:.1%} \\| {a.loc['short', 'rate']:.1%} | "
                        f"{b.loc['long', 'rate']:.1%} \\| {b.loc['short', 'rate']:.1%} | "
                        f"{a.loc['long', 'hac_p']:.2f} \\| {a.loc['short', 'hac_p']:.2f} | "
                        f"{a.loc['long', 'nonoverlap_bonf_p']:.2f} \\| "
                        f"{a.loc['short', 'nonoverlap_bonf_p']:.2f} | {a.loc['long', 'es_ratio']:.2f} \\| "
                        f"{a.loc['short', 'es_ratio']:.2f} | {fz} |")
    return "\n".join(text)


def leverage_table(lev: pd.DataFrame) -> str:
    cols = ["race", "asset", "side", "rule", "liquidations", "liq_per_year", "mean_leverage", "lev_ratio_vs_fixed",
            "lev_ratio_vs_loghar", "cagr", "sharpe", "worst_day"]
    show = lev[cols].copy()
    for c in ("cagr", "worst_day"):
        show[c] = (100 * show[c]).map("{:.1f}%".format)
    with pd.option_context("display.width", 220, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        return show.to_string(index=False)


def report(out: Path) -> None:
    md = tables(out)
    (out / "tables.md").write_text(md)
    print(md)
    lev = pd.read_csv(out / "leverage.csv")
    print("\nleverage race (long and short; fixed_calibrated: one liquidation a year on its calibration window)")
    print(leverage_table(lev))
    lines = coverage_lines(pd.read_csv(out / "risk_1d.csv"))
    lines.append(fz0_line(pd.read_csv(out / "risk_fz0_dm.csv")))
    lines += leverage_lines(lev, pd.read_csv(out / "leverage_frontier.csv"))
    lines.append(margin_line(pd.read_csv(out / "margin.csv")))
    lines += check_lines(out, lev)
    (out / "goals.txt").write_text("\n".join(lines) + "\n")
    print()
    print("\n".join(lines))
