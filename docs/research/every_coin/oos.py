"""Table 4: the out-of-sample measurement, run once after the design was frozen (REPORT.md).

2022-01-01 -> 2026-06-30, forecasts at each UTC day's last bar, QLIKE ratio to log-HAR refit monthly
on the coin's own expanding history (the library's baseline), DM-HLN p-values, per horizon, on BTC,
ETH (from 2019-01-01) and SOL (from its listing, 2020-08-11):

* ``bundled``: the current bundled frozen model (btc-1h / eth-1h; SOL uses btc-1h), head refit;
* ``crypto-1h zero-shot``: the pooled BTC+ETH model trained to 2021-12-31 (the frozen recipe), with
  the shrinkage head (SOL never seen);
* ``crypto-1h refitting``: the self-refitting LSTM fine-tuned from the pooled weights on each fold's
  bars (6-month folds from 2021-12-31; SOL on SOL's own bars from its listing);
* decomposition rows: the shrinkage head alone, and the pooled correction on the library's refit head.

The design is read from results/design_shrink.json and results/design_finetune.json (frozen by
t2_shrinkage.py and t3_finetune.py on data to 2021-12-31); nothing here is chosen.

    python oos.py      # results/oos.csv, oos_folds.json, oos.md
"""

from __future__ import annotations

import json
import time

import pandas as pd

from common import RESULTS, Panel, load_coin, log, score, write_json
from finetune import FineTuneConfig
from forecast import head_forecast, refitting
from lstm_strategies.forecasters import make_forecaster
from pooled import pretrained

TRAIN_END, START, END = "2021-12-31", "2022-01-01", "2026-06-30"
COINS = ("btc", "eth", "sol")


def load_design() -> tuple[dict, FineTuneConfig]:
    design = json.loads((RESULTS / "design_shrink.json").read_text())
    ft = json.loads((RESULTS / "design_finetune.json").read_text())
    cfg = FineTuneConfig(**{k: v for k, v in ft.items() if k in FineTuneConfig.__dataclass_fields__})
    return design, cfg


def main() -> None:
    design, ft_cfg = load_design()
    pre = pretrained("crypto-1h", lambda: {c: load_coin(c, cut=TRAIN_END) for c in ("btc", "eth")}, TRAIN_END,
                     heads="per_coin")
    log(f"crypto-1h: kept {pre.keep}, prior S = {pre.prior_ols.b.sum(axis=1).round(3).tolist()}")
    tables, folds = [], []
    for coin in COINS:
        df = load_coin(coin, cut=END)
        if coin != "sol":
            df = df[df.index >= pd.Timestamp("2019-01-01", tz="UTC")]
        panel = Panel(df)
        fc = {"log_har": make_forecaster("log_har", "crypto", horizons=[1, 7, 30]).fit(df).predict_batch(df)}
        bundled = "eth-1h" if coin == "eth" else "btc-1h"
        fc[f"bundled {bundled}"] = make_forecaster("lstm", model=bundled).fit(df).predict_batch(df)
        corr = pre.correction(panel.feats)
        head = head_forecast(panel, pre.prior_ols, design)
        fc["crypto-1h zero-shot (shrink head)"] = head * corr
        fc["shrink head alone"] = head
        fc["crypto-1h x log-HAR refit head"] = fc["log_har"] * corr
        flog: list = []
        t0 = time.perf_counter()
        fc["crypto-1h refitting"] = refitting(pre, df, design, ft_cfg, TRAIN_END, fold_log=flog, panel=panel)
        log(f"{coin}: {len(flog)} folds in {time.perf_counter() - t0:.0f} s, "
            f"{sum(not f['trained'] for f in flog)} fell back to the pretrained network")
        folds += [f | {"coin": coin} for f in flog]
        table = score(df, fc, START, END).assign(coin=coin)
        tables.append(table)
        pd.DataFrame({f"{name}|{h}": f[:, j] for name, f in fc.items() for j, h in enumerate([1, 7, 30])},
                     index=df.index).iloc[panel.index_of(START) - 1:].to_csv(RESULTS / f"oos_forecasts_{coin}.csv.gz")
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(RESULTS / "oos.csv", index=False)
    write_json(RESULTS / "oos_folds.json", folds)
    report(table, folds)


def report(table: pd.DataFrame, folds: list) -> None:
    cell = table.apply(lambda r: f"{r['ratio']:.3f}" + (f" ({r['dm_p']:.2g})" if pd.notna(r.get("dm_p")) else ""),
                       axis=1)
    wide = table.assign(cell=cell).pivot_table(index=["coin", "model"], columns="horizon", values="cell",
                                               aggfunc="first")
    days = table.groupby(["coin", "horizon"])["days"].max().unstack()
    lines = ["# Table 4: out of sample, 2022-01-01 -> 2026-06-30", "",
             "QLIKE ratio to log-HAR refit monthly on the coin's own history (DM-HLN p, two-sided).", "",
             wide.to_markdown(), "", "daily origins:", "", days.to_markdown(), ""]
    f = pd.DataFrame(folds)
    lines += ["## Folds of the self-refitting LSTM", "", f.to_markdown(floatfmt=".3g"), ""]
    tr = f[f["trained"]]
    lines += [f"fine-tuning time per fold (3 seeds, 2-core machine shared with other jobs): median "
              f"{tr['seconds'].median():.1f} s, max {tr['seconds'].max():.1f} s", ""]
    lines += goals(table)
    (RESULTS / "oos.md").write_text("\n".join(lines))
    print("\n".join(lines))


def goals(table: pd.DataFrame) -> list[str]:
    t = table.set_index(["coin", "model", "horizon"])
    out = ["## Goals of the issue", ""]
    zs, rf = "crypto-1h zero-shot (shrink head)", "crypto-1h refitting"
    for name in (zs, rf, "bundled btc-1h"):
        misses = []
        for coin in COINS:
            model = name if not name.startswith("bundled") or coin != "eth" else "bundled eth-1h"
            r, p = t.loc[(coin, model, 1), "ratio"], t.loc[(coin, model, 1), "dm_p"]
            if not (r <= 0.95 and p < 0.05):
                misses.append(f"{coin} 1d {r:.3f} (p {p:.2g})")
        out.append(f"* 1 day <= 0.95x, DM p < 0.05, {name}: " + ("met" if not misses else "not met: " + "; ".join(misses)))
    for name in (zs, rf):
        misses = [f"{coin} {h}d {t.loc[(coin, name, h), 'ratio']:.3f}" for coin in COINS for h in (7, 30)
                  if t.loc[(coin, name, h), "ratio"] > 1.0]
        out.append(f"* 7 and 30 days <= 1.0x on every asset, {name}: " + ("met" if not misses else
                                                                            "not met: " + "; ".join(misses)))
    misses = [f"{coin} {h}d {t.loc[(coin, rf, h), 'ratio']:.3f}" for coin in ("btc", "eth") for h in (7, 30)
              if t.loc[(coin, rf, h), "ratio"] > 0.95]
    out.append(f"* 7 and 30 days <= 0.95x on BTC/ETH, {rf}: " + ("met" if not misses else "not met: " + "; ".join(misses)))
    return out + [""]


if __name__ == "__main__":
    import sys

    if "--report" in sys.argv:  # re-print the tables from the saved results
        report(pd.read_csv(RESULTS / "oos.csv"), json.loads((RESULTS / "oos_folds.json").read_text()))
    else:
        main()
