"""The hyper-parameter grid behind the bundled LSTMs, selected on the 2021 validation year only.

24 configurations (learning rate x hidden size x window x weight decay), 3 seeds each, trained on
BTC/USDT hourly up to 2021-12-31. For each it prints the QLIKE of day-end forecasts on 2021
(validation: the selection criterion) for the 3-seed ensemble and for seed 0, and the
out-of-sample QLIKE on 2022+ (reported, never used to choose). About 15 minutes on 2 cores.

    python benchmarks/lstm_grid.py [--data ../shared/data/btc_usdt_1h.csv.gz]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import torch

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.features.realized import forward_realized_variance
from lstm_strategies.models.lstm import LSTMForecaster
from lstm_strategies.models.training import TrainConfig, train_lstm
from lstm_strategies.research.evaluation import qlike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="btc_usdt_1h")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the README numbers were measured single-threaded
    df = load_dataset(args.data)
    y = forward_realized_variance(df, 1)
    day_end = (df.index.hour == 23) & y.notna().to_numpy()
    val = day_end & (df.index >= "2021-01-01") & (df.index < "2021-12-31")
    oos = day_end & (df.index >= "2022-01-01")
    rows = []
    for lr, hidden, window, wd in itertools.product([1e-3, 3e-4], [8, 16, 32], [24, 48], [0.0, 1e-3]):
        logs = []
        for seed in range(3):
            # the grid was run on the first, single-horizon model (raw inputs, heads as trained)
            cfg = TrainConfig(lr=lr, hidden_size=hidden, window=window, weight_decay=wd, seed=seed, horizons=[1],
                              relative=False)
            res = train_lstm(df, "2021-12-31", cfg, progress=False)
            forecaster = LSTMForecaster.from_network(res.model, res.card, head="frozen")
            logs.append(np.log(forecaster.predict_batch(df)[:, 0]))
        ens, seed0 = np.exp(np.mean(logs, axis=0)), np.exp(logs[0])
        row = (lr, hidden, window, wd, qlike(y[val], ens[val]).mean(), qlike(y[val], seed0[val]).mean(),
               qlike(y[oos], ens[oos]).mean(), qlike(y[oos], seed0[oos]).mean())
        rows.append(row)
        print("lr {} hidden {} window {} wd {}: val ensemble {:.4f} seed0 {:.4f} | oos ensemble {:.4f} "
              "seed0 {:.4f}".format(*row), flush=True)
    best = min(rows, key=lambda r: r[4])
    print(f"chosen on validation: lr {best[0]}, hidden {best[1]}, window {best[2]}, weight decay {best[3]}")


if __name__ == "__main__":
    main()
