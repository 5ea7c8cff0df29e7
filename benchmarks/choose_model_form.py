"""Choose the LSTM's form on data up to 2021 only: LSTM inputs (raw or scale-free) and head (frozen or refit).

Two networks are trained to 2020-12-31 (early stopping on 2020, as the bundled models use their last
year), one on raw features and one on the scale-free relative form, and each is scored with its
log-HAR heads frozen at training and with the heads refit monthly on the expanding window (as the
log-HAR baseline is), on 2021, a year none of them saw, against log-HAR and EWMA.
Nothing after 2021-12-31 is read: the frame is cut before anything is computed, and 2021's
30-day targets end by 2021-12-31.

    python benchmarks/choose_model_form.py [--assets btc eth]

Prints QLIKE per horizon and form, and the ratio to log-HAR; README quotes the result.
"""

from __future__ import annotations

import argparse

import pandas as pd

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.lstm import LSTMForecaster
from lstm_strategies.models.training import TrainConfig, train_ensemble
from lstm_strategies.research.evaluation import daily_targets, qlike

HORIZONS = [1, 7, 30]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth"])
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for asset in args.assets:
        full = load_dataset(f"{asset}_usdt_1h")
        df = full[full.index <= pd.Timestamp("2021-12-31 23:00", tz="UTC")]  # nothing after 2021 exists here
        df.attrs = dict(full.attrs)
        models = {}
        for relative in (False, True):
            res = train_ensemble(df, "2020-12-31", TrainConfig(relative=relative), members=args.members,
                                 progress=False)
            for head in ("frozen", "refit"):
                name = f"lstm_{'relative' if relative else 'raw'}_{head}"
                models[name] = LSTMForecaster.from_network(res.model, res.card, head=head).fit(df)
        for name in ("log_har", "ewma"):
            models[name] = make_forecaster(name, "crypto", horizons=HORIZONS).fit(df)
        preds = {name: m.predict_batch(df) for name, m in models.items()}
        for j, h in enumerate(HORIZONS):
            rv, pos = daily_targets(df, "2021-01-01", "2021-12-31", days=h)
            scores = {name: float(qlike(rv, p[pos, j]).mean()) for name, p in preds.items()}
            for name, score in scores.items():
                rows.append({"asset": asset, "horizon": h, "model": name, "qlike_2021": score,
                             "vs_log_har": score / scores["log_har"], "days": len(rv)})
    table = pd.DataFrame(rows).pivot_table(index=["asset", "horizon"], columns="model", values="vs_log_har")
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).pivot_table(index=["asset", "horizon"], columns="model", values="qlike_2021"))
        print("\nQLIKE relative to log-HAR, 2021 (lower is better):")
        print(table)
    forms = [c for c in table.columns if c.startswith("lstm_")]
    mean = table[forms].mean(axis=1).unstack()  # noqa: F841  (kept for the printout below)
    overall = table[forms].mean()
    print("\nmean ratio to log-HAR over assets and horizons:")
    print(overall.sort_values().to_string(float_format="{:.3f}".format))
    print(f"chosen form (lowest mean ratio, 2021 only): {overall.idxmin()}")


if __name__ == "__main__":
    main()
