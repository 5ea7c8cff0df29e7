"""Train the self-refitting LSTM's folds that ship with the package (maintainers).

``lstm_refit`` with the defaults README's decision race uses (``refit_every = "6M"``, ``first_train_end =
"2021-12-31"``, the library's TrainConfig, 3 seeds, one torch thread) on the shipped BTC and ETH hourly bars
from their first bar (2019-01-01): one fold every 6 months up to the data's end, each trained on the bars up
to its fold end only, sealed, and written to ``lstm_strategies/folds/<key>/`` under the key the forecaster
looks up (:func:`~lstm_strategies.forecasters.lstm_refit.fold_key`). Folds already there are kept. A run of
``lstm_refit`` on the same bars then loads them instead of training, and its forecasts are those of a run
that trains them (bit for bit: training is deterministic at a fixed thread count; tested on one fold).

    python benchmarks/ship_folds.py [--assets btc eth]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.checkpoint import save_checkpoint
from lstm_strategies.models.lstm_refit import SHIPPED_FOLDS, fold_key, train_fold

REFIT = {"refit_every": "6M", "first_train_end": "2021-12-31"}


def ship(asset: str) -> list[dict]:
    df = load_dataset(f"{asset}_usdt_1h")
    forecaster = make_forecaster("lstm_refit", "crypto", **REFIT).fit(df)
    config, rows = forecaster._train_config(), []
    for end in forecaster._ends(df.index):
        key = fold_key(df[df.index <= end], end, config, forecaster.members)
        started = time.perf_counter()
        network, card, found = train_fold(df, end, config, forecaster.members, cache_dir=None)
        if not found:
            save_checkpoint(network, card, SHIPPED_FOLDS / key)
        rows.append({"dataset": f"{asset}_usdt_1h", "train_end": str(end.date()), "key": key,
                     "val_qlike": round(card.metrics["val_qlike"], 4), "trained_now": not found,
                     "seconds": round(time.perf_counter() - started, 1)})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth"])
    args = parser.parse_args()
    rows = [row for asset in args.assets for row in ship(asset)]
    table = pd.DataFrame(rows).drop(columns=["trained_now", "seconds"])
    (SHIPPED_FOLDS / "README.md").write_text(
        "# Shipped folds of the self-refitting LSTM\n\nWritten by `python benchmarks/ship_folds.py`: `lstm_refit` "
        "with `refit_every = \"6M\"`, `first_train_end = \"2021-12-31\"` and its other defaults, on the shipped "
        "hourly bars from their first bar; one folder per fold, named by its key.\n\n" + table.to_markdown(index=False)
        + "\n")


if __name__ == "__main__":
    main()
