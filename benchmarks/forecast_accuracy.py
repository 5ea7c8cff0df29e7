"""Out-of-sample accuracy of the bundled LSTMs against EWMA, GARCH(1,1)-t, HAR and log-HAR.

Next-day realized variance (sum of squared hourly log returns of each UTC day) from
2022-01-01 on; models were trained on data up to 2021-12-31 only.

    python benchmarks/forecast_accuracy.py [--assets btc eth]
"""

from __future__ import annotations

import argparse

import pandas as pd

from lstm_strategies.data import load_ohlcv
from lstm_strategies.datasets import data_dir
from lstm_strategies.evaluation import evaluate_forecasters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth"])
    parser.add_argument("--start", default="2022-01-01")
    args = parser.parse_args()
    for asset in args.assets:
        df = load_ohlcv(data_dir() / f"{asset}_usdt_1h.csv.gz")
        overall, by_year, forecasts = evaluate_forecasters(df, f"{asset}-1h", args.start)
        cols = ["qlike", "lstm_qlike_ratio", "dm_stat_vs_lstm", "dm_pvalue", "mz_r2", "mae_log", "mcs_pvalue"]
        with pd.option_context("display.width", 160, "display.max_columns", 12, "display.float_format",
                               "{:.4f}".format):
            print(f"\n{asset.upper()}/USDT, {len(forecasts)} days {forecasts.index[0].date()} .. "
                  f"{forecasts.index[-1].date()}")
            print(overall[cols])
            print("QLIKE by year")
            print(by_year)


if __name__ == "__main__":
    main()
