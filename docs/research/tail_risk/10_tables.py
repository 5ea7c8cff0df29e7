"""Markdown tables of the test-period results for REPORT.md (from the CSVs)."""
import pandas as pd

import common as C

d1 = pd.read_csv(C.OUT / "test_risk_1d.csv")
d7 = pd.read_csv(C.OUT / "test_risk_7d.csv")
dm = pd.read_csv(C.OUT / "test_fz0_dm.csv")
out = []
for race in ("baronly", "iv"):
    out.append(f"\n#### {race}: 1-day 99% VaR / 97.5% ES (FHS 250), long | short\n")
    out.append("| asset | forecaster | breach rate | Kupiec p | CC p | yellow/red years | ES ratio | MF p | Z2 p | FZ0 2-tail (Δ vs log-HAR, DM p) |")
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    s = d1[(d1.race == race) & (d1.method == "fhs250")]
    for (asset, name), g in s.groupby(["asset", "forecaster"], sort=False):
        lo, hi = g[g.side == "long"].iloc[0], g[g.side == "short"].iloc[0]
        f = dm[(dm.race == race) & (dm.asset == asset) & (dm.h == 1) & (dm.forecaster == name) & (dm.vs == "log_har")]
        if len(f):
            fz = f"{f.iloc[0].fz0:.3f} ({f.iloc[0]['diff']:+.3f}, {f.iloc[0].dm_p:.3f})"
        else:
            fz = f"{dm[(dm.race == race) & (dm.asset == asset) & (dm.h == 1) & (dm.vs == 'log_har')].iloc[0].fz0_ref:.3f}"
        out.append(f"| {asset} | {name} | {lo.rate:.2%} \\| {hi.rate:.2%} | {lo.kupiec_p:.2f} \\| {hi.kupiec_p:.2f} | "
                   f"{lo.cc_p:.2f} \\| {hi.cc_p:.2f} | {lo.yellow_years}/{lo.red_years} \\| {hi.yellow_years}/{hi.red_years} | "
                   f"{lo.es_ratio:.3f} \\| {hi.es_ratio:.3f} | {lo.mf_p:.2f} \\| {hi.mf_p:.2f} | {lo.z2_p:.2f} \\| {hi.z2_p:.2f} | {fz} |")
    out.append(f"\n#### {race}: 7 days (FHS 500), breach rate at 97.5% / 95%, long | short; HAC p (97.5%); ES ratio; FZ0 Δ vs log-HAR (DM p)\n")
    out.append("| asset | forecaster | 97.5% | 95% | HAC p 97.5% | non-overlap Bonferroni p 97.5% | ES ratio | FZ0 Δ (p) |")
    out.append("|---|---|---|---|---|---|---|---|")
    s = d7[d7.race == race]
    for (asset, name), g in s.groupby(["asset", "forecaster"], sort=False):
        a = g[g.level == 0.975].set_index("side"); b = g[g.level == 0.95].set_index("side")
        f = dm[(dm.race == race) & (dm.asset == asset) & (dm.h == 7) & (dm.forecaster == name) & (dm.vs == "log_har")]
        fz = f"{f.iloc[0]['diff']:+.3f} ({f.iloc[0].dm_p:.2f})" if len(f) and pd.notna(f.iloc[0].dm_p) else "—"
        out.append(f"| {asset} | {name} | {a.loc['long','rate']:.1%} \\| {a.loc['short','rate']:.1%} | "
                   f"{b.loc['long','rate']:.1%} \\| {b.loc['short','rate']:.1%} | {a.loc['long','hac_p']:.2f} \\| {a.loc['short','hac_p']:.2f} | "
                   f"{a.loc['long','nonoverlap_bonf_p']:.2f} \\| {a.loc['short','nonoverlap_bonf_p']:.2f} | "
                   f"{a.loc['long','es_ratio']:.2f} \\| {a.loc['short','es_ratio']:.2f} | {fz} |")
text = "\n".join(out)
open(C.OUT / "test_tables.md", "w").write(text)
print(text)
