"""Stage 1 summary: the frozen design retrained to 2021-12-31 and scored on 2022 with every other forecaster.

Reproduces the chosen row of out/val_lstm_epochs.csv from scratch and adds DM-HLN p-values (2022 only).
    python validation_summary.py   ->  out/val_summary.csv
"""
import json

import torch

torch.set_num_threads(1)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import ivfeatures as F  # noqa: E402
import train_iv as T  # noqa: E402
from lstm_strategies.evaluation import diebold_mariano  # noqa: E402
from lstm_strategies.forecasters import make_forecaster  # noqa: E402


def main():
    design = json.loads((F.OUT / "frozen_design.json").read_text())
    spec = design["networks"][0]
    v = T.Variant(**{k: tuple(x) if isinstance(x, list) else x for k, x in spec["variant"].items()})
    rows = []
    for asset in ("btc", "eth"):
        prep = T.prepare(asset, F.VAL_END, design["implied_level"]["window_days"])
        df = prep["df"]
        pos = F.origins(df, F.VAL_START, F.VAL_END)
        res = T.train(prep, v, F.TRAIN_END_1, spec["epochs"], log=lambda *_: None)
        fc = {k: prep["heads"][k] for k in ("har", "har_iv", "implied_raw", "implied_level")}
        fc["log_har"] = fc.pop("har")
        fc["lstm_bundled"] = make_forecaster("lstm", model=f"{asset}-1h").fit(df).predict_batch(df)
        lstm_iv = fc["log_har"].copy()
        lstm_iv[pos] = fc["log_har"][pos] * np.exp(T.correction(res, prep, v, pos))
        fc["lstm_iv"] = lstm_iv
        Y = prep["Y"]
        for j, h in enumerate(F.HORIZONS):
            y = Y[pos, j]
            ok = np.isfinite(y)
            q = {k: F.qlike_table(Y, pos[ok], {k: f, "log_har": fc["log_har"]}).loc[k, f"q{h}"] for k, f in fc.items()}
            for k, f in fc.items():
                r = {"asset": asset, "h": h, "forecaster": k, "qlike": q[k], "ratio_log_har": q[k] / q["log_har"]}
                for ref in ("log_har", "har_iv", "implied_raw"):
                    if k != ref:
                        r[f"dm_p_vs_{ref}"] = diebold_mariano(y[ok], f[pos[ok], j], fc[ref][pos[ok], j], h)["pvalue"]
                rows.append(r)
    out = pd.DataFrame(rows)
    out.to_csv(F.OUT / "val_summary.csv", index=False)
    with pd.option_context("display.width", 200):
        print(out.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
