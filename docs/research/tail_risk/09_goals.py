"""Goal lines from the test-period CSVs (07, 08, 06 test): met / not met with the figures."""
from __future__ import annotations

import pandas as pd

import common as C

d1 = pd.read_csv(C.OUT / "test_risk_1d.csv")
dm = pd.read_csv(C.OUT / "test_fz0_dm.csv")
lev = pd.read_csv(C.OUT / "test_leverage.csv")
fr = pd.read_csv(C.OUT / "test_leverage_frontier.csv")
mg = pd.read_csv(C.OUT / "margin_test.csv")
RECOMMENDED = [("baronly", "log_har"), ("baronly", "lstm"), ("iv", "har_iv"), ("iv", "lstm_iv")]
lines = []


def cov_ok(r) -> tuple[bool, list[str]]:
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


rows = []
for method in ("fhs250", "t5", "fhs250_oos_pool"):
    allok, fails = True, []
    for race, name in RECOMMENDED:
        for asset in ("btc", "eth"):
            sub = d1[(d1.race == race) & (d1.forecaster == name) & (d1.asset == asset) & (d1.method == method)]
            for r in sub.itertuples():
                ok, why = cov_ok(r)
                rows.append({"method": method, "race": race, "forecaster": name, "asset": asset, "side": r.side,
                             "rate": r.rate, "kupiec_p": r.kupiec_p, "cc_p": r.cc_p, "zones": r.zones,
                             "es_ratio": r.es_ratio, "ok": ok})
                if not ok:
                    allok = False
                    fails.append(f"{race}/{name}/{asset}/{r.side}: " + ", ".join(why))
    if method == "fhs250" or fails or True:
        n = sum(1 for r in rows if r["method"] == method)
        if n:
            lines.append(f"goal coverage [{method}]: {'met' if allok else 'not met'}"
                         + ("" if allok else " (" + "; ".join(fails) + ")"))
pd.DataFrame(rows).to_csv(C.OUT / "test_goal_coverage.csv", index=False)

g = dm[(dm.race == "iv") & (dm.h == 1) & (dm.forecaster == "lstm_iv")].set_index(["asset", "vs"])
b = [g.loc[("btc", ref)] for ref in ("log_har", "har_iv")]
ok_btc = all(r["diff"] <= -0.04 and r["dm_p"] < 0.05 for r in b)
e = [g.loc[("eth", ref)] for ref in ("log_har", "har_iv")]
ok_eth = all(r["diff"] <= 0 for r in e)
lines.append("goal FZ0: " + ("met" if ok_btc and ok_eth else "not met") + " (BTC LSTM-IV minus log-HAR "
             f"{b[0]['diff']:+.4f} p {b[0]['dm_p']:.4f}, minus HAR-IV {b[1]['diff']:+.4f} p {b[1]['dm_p']:.4f}; "
             f"ETH minus log-HAR {e[0]['diff']:+.4f} p {e[0]['dm_p']:.3f}, minus HAR-IV {e[1]['diff']:+.4f} "
             f"p {e[1]['dm_p']:.3f}; needs BTC <= -0.04 with p < 0.05 against both, ETH <= 0)")

L = lev[(lev.race == "iv") & (lev.rule == "lstm_iv") & (lev.side == "long")].set_index("asset")
budget_ok = all(L.loc[a, "liq_per_year"] <= 1.5 for a in ("btc", "eth"))
fixed_ok = all(L.loc[a, "lev_ratio_vs_fixed"] >= 1.3 for a in ("btc", "eth"))
lh_ok = all(L.loc[a, "lev_ratio_vs_loghar"] >= 1.1 for a in ("btc", "eth"))
desc = "; ".join(f"{a}: {int(L.loc[a, 'liquidations'])} liquidations = {L.loc[a, 'liq_per_year']:.2f}/yr, mean "
                 f"leverage {L.loc[a, 'mean_leverage']:.2f} vs fixed {L.loc[a, 'fixed_same_liq_leverage']:.2f} "
                 f"({L.loc[a, 'lev_ratio_vs_fixed']:.3f}x) vs log-HAR's rule "
                 f"{L.loc[a, 'loghar_same_liq_mean_leverage']:.2f} ({L.loc[a, 'lev_ratio_vs_loghar']:.3f}x)"
                 for a in ("btc", "eth"))
lines.append(f"goal leverage budget (<= 1.5/yr): {'met' if budget_ok else 'not met'}; "
             f">= 30% over fixed: {'met' if fixed_ok else 'not met'}; stretch >= 10% over log-HAR: "
             f"{'met' if lh_ok else 'not met'} ({desc})")
# descriptive: frontier against frontier at the same k
f = fr[(fr.race == "iv") & (fr.side == "long")].pivot_table(index=["asset", "k"], columns="rule",
                                                              values="mean_leverage")
for a in ("btc", "eth"):
    for k in (2, 3):
        r = f.loc[(a, k)]
        lines.append(f"  (descriptive) frontier at {k} liquidations, {a}: LSTM-IV {r['lstm_iv']:.2f}, log-HAR "
                     f"{r['log_har']:.2f} ({r['lstm_iv'] / r['log_har']:.2f}x), fixed {r['fixed']:.2f} "
                     f"({r['lstm_iv'] / r['fixed']:.2f}x)")

m = mg[(mg.margin == "es7d_975@equal_mean") & (mg.forecaster == "lstm_iv")]
sh = mg[mg.margin == "shock_1.5x"].set_index(["asset", "book"])
ok = (m.exceed_days == 0).all()
lines.append("goal variance-book collateral (LSTM-IV 7-day ES at equal mean margin, no day over): "
             + ("met" if ok else "not met") + " (" + "; ".join(
                 f"{r.asset} {r.book}: {r.exceed_days} days, worst {r.worst_ratio:.2f}x "
                 f"[shock: {sh.loc[(r.asset, r.book), 'exceed_days']} days, "
                 f"{sh.loc[(r.asset, r.book), 'worst_ratio']:.2f}x]" for r in m.itertuples()) + ")")
text = "\n".join(lines)
print(text)
open(C.OUT / "test_goals.txt", "w").write(text + "\n")
