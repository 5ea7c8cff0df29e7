"""Table 1: pooled pretraining against single-coin models, 2021 (models trained to 2020-12-31).

Each model's LSTM correction on top of the log-HAR head refit monthly on the target coin's full
history (the library's default ``head="refit"``: the ratio to log-HAR is the correction's value),
on BTC and on ETH: in-domain (a model that saw the coin before 2021) and zero-shot (BTC's model on
ETH and vice versa). With ``--shrink`` (after Table 2 has chosen the constants) the same with the
shrinkage head. QLIKE ratio to log-HAR, DM-HLN p-value.

    python t1_pooled.py [--shrink]    # results/t1_pooled.csv, t1_pooled.md
"""

from __future__ import annotations

import json
import sys

import pandas as pd

from common import RESULTS, Panel, load_coin, score
from shrink import shrink_head
from train_selection_models import SPECS, selection_model

START, END = "2021-01-01", "2021-12-31"


def main(with_shrink: bool) -> None:
    design = json.loads((RESULTS / "design_shrink.json").read_text()) if with_shrink else None
    models = {name: selection_model(name) for name in SPECS}
    rows = []
    for coin in ("btc", "eth"):
        df = load_coin(coin)
        panel = Panel(df)
        log_har = shrink_head(panel, None, 0.0, min_train_days=180)
        fc = {"log_har": log_har}
        for name, model in models.items():
            corr = model.correction(panel.feats)
            fc[f"{name} x log-HAR refit"] = log_har * corr
            if design:
                k = [design["k_days"][str(h)] for h in (1, 7, 30)]
                prior = model.prior_ols if design["prior"] == "ols" else model.prior
                head = shrink_head(panel, prior, k, design["form"])
                fc[f"{name} x shrink head"] = head * corr
                fc[f"shrink head alone ({name} prior)"] = head
        table = score(df, fc, START, END)
        table["coin"] = coin
        rows.append(table)
    table = pd.concat(rows, ignore_index=True)
    table.to_csv(RESULTS / "t1_pooled.csv", index=False)
    wide = table.assign(cell=table.apply(lambda r: f"{r['ratio']:.3f}" + (f" ({r['dm_p']:.2g})"
                                                                         if pd.notna(r.get("dm_p")) else ""), axis=1))
    wide = wide.pivot_table(index="model", columns=["coin", "horizon"], values="cell", aggfunc="first")
    mean = table.pivot_table(index="model", columns=["coin", "horizon"], values="ratio").mean(axis=1)
    wide["mean"] = mean.map("{:.3f}".format)
    text = ("# Table 1: pooled against single-coin pretraining, 2021 (trained to 2020-12-31)\n\n"
            "QLIKE ratio to log-HAR refit monthly on the coin's full history (DM-HLN p); "
            f"{int(table['days'].min())}-{int(table['days'].max())} daily origins.\n\n"
            + wide.sort_values("mean").to_markdown() + "\n")
    (RESULTS / "t1_pooled.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main("--shrink" in sys.argv)
