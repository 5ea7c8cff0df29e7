"""Table 2: the shrinkage head's form and constants, chosen on 2021 with simulated short histories.

BTC and ETH (cut at 2021-12-31) are made to "start" N months before 2021-01-01 (N = 1, 2, 3, 6, 9,
12, 24; 24 is the whole file). Each simulated coin is forecast through 2021 with a prior from a
model trained to 2020-12-31: the other coin's model (``cross``: the coin is unseen, as SOL) or the
pooled BTC+ETH model (``pooled``: its pre-2021 bars were in the pretraining). Heads: the blend
(g-prior) and the Bayesian update with the prior's precision, each for k in a grid of days;
forecasts = head x the prior model's LSTM correction (and the head alone). Scored on 2021 against
log-HAR refit monthly on the coin's *full* history (a fixed denominator: the cost of a short
history) and against log-HAR on the truncated history where it exists (it needs 180 days).

The constants are chosen per horizon on the cross-coin prior with the correction: the k with the
lowest mean QLIKE ratio over coins and N.

    python t2_shrinkage.py     # results/t2_shrinkage_raw.csv, t2_shrinkage.md, design_shrink.json
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common import HORIZONS, RESULTS, Panel, load_coin, log, score, write_json
from lstm_strategies.training import TrainConfig
from pooled import CoinRows
from shrink import ols_prior, pretraining_information, shrink_head
from train_selection_models import selection_model

MONTHS = [1, 2, 3, 6, 9, 12, 24]
K_GRID = [0.0, 10.0, 30.0, 60.0, 120.0, 240.0, 480.0, 1000.0, np.inf]
FORMS = ["blend", "bayes"]
KINDS = ["head", "ols"]
START, END = "2021-01-01", "2021-12-31"


def prior_with_information(model, coins):
    """The model's prior plus the information of its pretraining rows (for the Bayesian form)."""
    cfg = TrainConfig()
    panels, rows = [], {}
    for c in coins:
        df = load_coin(c)
        p = Panel(df)
        rows[id(p)] = CoinRows(c, df, model.meta["train_end"], cfg).train_rows
        panels.append(p)
    return pretraining_information(panels, lambda p: rows[id(p)], model.prior)


def main() -> None:
    models = {"btc": selection_model("sel_btc"), "eth": selection_model("sel_eth"),
              "pooled": selection_model("sel_pooled")}
    priors = {(name, "head"): prior_with_information(m, m.meta["coins"]) for name, m in models.items()}
    panels = {c: Panel(load_coin(c)) for c in ("btc", "eth")}
    for name, m in models.items():
        coins = m.meta["coins"]
        priors[(name, "ols")] = ols_prior([panels[c] for c in coins],
                                          [panels[c].index_of(START) - 1 for c in coins])
    raw = []
    for coin in ("btc", "eth"):
        full = load_coin(coin)
        full_panel = Panel(full)
        ref_full = pd.DataFrame(shrink_head(full_panel, None, 0.0, min_train_days=180), index=full.index)
        for months in MONTHS:
            start = pd.Timestamp(START, tz="UTC") - pd.DateOffset(months=months)
            df = load_coin(coin, start=str(start.date()))
            panel = Panel(df)
            fc = {"log_har_full": ref_full.reindex(df.index).to_numpy(),
                  "log_har_own": shrink_head(panel, None, 0.0, min_train_days=180)}
            for source in ("cross", "pooled"):
                model_name = ("eth" if coin == "btc" else "btc") if source == "cross" else "pooled"
                corr = models[model_name].correction(panel.feats)
                if source == "cross":
                    fc["log_har_own x corr_cross"] = fc["log_har_own"] * corr
                for kind in KINDS:
                    for form in FORMS:
                        for k in K_GRID:
                            head = shrink_head(panel, priors[(model_name, kind)], k, form)
                            fc[f"{source}|{kind}|{form}|{k}|head"] = head
                            fc[f"{source}|{kind}|{form}|{k}|corr"] = head * corr
            own = {k: v for k, v in fc.items() if k != "log_har_own" and not k.startswith("log_har_own x")}
            table = score(df, own, START, END, reference="log_har_full", dm=False)
            if months >= 6:  # log-HAR on the truncated history forecasts all of 2021 only from 6 months on
                extra = score(df, {k: fc[k] for k in ("log_har_full", "log_har_own", "log_har_own x corr_cross")},
                              START, END, reference="log_har_full", dm=False)
                table = pd.concat([table, extra[extra["model"] != "log_har_full"]])
            table["coin"], table["months"] = coin, months
            raw.append(table)
            log(f"{coin} N={months}: {len(fc)} forecasters, {int(table['days'].max())} days")
    raw = pd.concat(raw, ignore_index=True)
    parts = raw["model"].str.split("|", expand=True)
    raw["source"], raw["prior"], raw["form"], raw["k"], raw["with"] = parts[0], parts[1], parts[2], parts[3], parts[4]
    RESULTS.mkdir(exist_ok=True)
    raw.to_csv(RESULTS / "t2_shrinkage_raw.csv", index=False)
    summarize(raw)


def summarize(raw: pd.DataFrame) -> None:
    grid = raw[raw["form"].notna()].copy()
    grid["k"] = grid["k"].astype(float)
    grid["log_ratio"] = np.log(grid["ratio"])
    gmean = np.exp(grid.groupby(["source", "prior", "form", "with", "horizon", "k"])["log_ratio"].mean()).unstack("k")
    lines = ["# Table 2: shrinkage head, 2021, simulated short histories", "",
             "Geometric mean over BTC and ETH and N = " + ", ".join(map(str, MONTHS)) + " months of history at "
             "2021-01-01 of QLIKE / QLIKE(log-HAR refit monthly on the coin's full history). Prior `head`: the "
             "trained heads (training rows: 2019 only); `ols`: the level-free log-HAR on every pretraining row to "
             "2020-12-31. Source `cross`: the other coin's model (the coin is unseen); `pooled`: BTC+ETH. k in "
             "days; k = 0 is the coin's own refit (from 7 days of rows), k = inf the prior moved to the coin's "
             "level. `corr`: head x the model's LSTM correction; `head`: the head alone.", "",
             gmean.to_markdown(floatfmt=".3f"), ""]
    cands = {}
    for kind in KINDS:
        for form in FORMS:
            sel = gmean.loc[("cross", kind, form, "corr")]
            k = {int(h): float(sel.loc[h].idxmin()) for h in HORIZONS}
            cands[(kind, form)] = (k, float(np.exp(np.mean([np.log(sel.loc[h].min()) for h in HORIZONS]))))
    kind, form = min(cands, key=lambda c: cands[c][1])
    chosen = {"prior": kind, "form": form, "k_days": cands[(kind, form)][0],
              "scores": {f"{a}|{b}": v[1] for (a, b), v in cands.items()},
              "k_by_candidate": {f"{a}|{b}": v[0] for (a, b), v in cands.items()},
              "min_train_days": 31, "every_days": 30, "min_own_days": 7}
    lines += ["Candidates (cross-coin source, with the correction; k per horizon at the lowest geometric mean; "
              "score = geometric mean over horizons):", ""]
    lines += [f"* prior {a}, form {b}: k = {v[0]}, score {v[1]:.4f}" for (a, b), v in cands.items()]
    lines += ["", f"**chosen: prior {kind}, form {form}, k = {chosen['k_days']} days**", ""]
    rows = []
    for (coin, months), g in raw.groupby(["coin", "months"]):
        for h in HORIZONS:
            gh = g[g["horizon"] == h].set_index("model")["ratio"]
            kk = chosen["k_days"][h]
            kk = "inf" if np.isinf(kk) else str(float(kk))
            pick = lambda src, k, w, gh=gh: gh.get(f"{src}|{kind}|{form}|{k}|{w}", np.nan)  # noqa: E731
            rows.append({"coin": coin, "months": months, "horizon": h,
                         "prior only x corr (k=inf)": pick("cross", "inf", "corr"),
                         "own refit x corr (k=0)": pick("cross", "0.0", "corr"),
                         "log-HAR own (180 d)": gh.get("log_har_own", np.nan),
                         "log-HAR own x corr": gh.get("log_har_own x corr_cross", np.nan),
                         "shrink head alone": pick("cross", kk, "head"),
                         "shrink x corr (cross)": pick("cross", kk, "corr"),
                         "shrink x corr (pooled)": pick("pooled", kk, "corr")})
    per_n = pd.DataFrame(rows).set_index(["coin", "months", "horizon"])
    lines += ["## At the chosen constants, per simulated history (ratio to log-HAR on the full history)", "",
              per_n.to_markdown(floatfmt=".3f"), ""]
    (RESULTS / "t2_shrinkage.md").write_text("\n".join(lines))
    write_json(RESULTS / "design_shrink.json", chosen)
    print("\n".join(lines))


if __name__ == "__main__":
    import sys

    if "--summary" in sys.argv:
        summarize(pd.read_csv(RESULTS / "t2_shrinkage_raw.csv"))
    else:
        main()
