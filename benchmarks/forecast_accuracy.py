"""Out-of-sample accuracy of the bundled LSTMs against EWMA, GARCH(1,1)-t, HAR and log-HAR, per horizon.

The realized variance of the next 1, 7 and 30 days (sums of squared hourly log returns) at each
UTC day's last bar from 2022-01-01 on; the models' corrections were trained on data up to
2021-12-31 only. The same protocol as `lstm-strategies evaluate`, for both assets at once.

    python benchmarks/forecast_accuracy.py [--assets btc eth] [--refit-every 6M]
"""

from __future__ import annotations

import argparse

import pandas as pd

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.research.evaluation import MCSSettings, evaluate_forecasters


def p_value(p: float) -> str:
    """A p-value as people read it: 0.002, 4e-07, never 0.0000."""
    return "" if p != p else (f"{p:.3f}" if p >= 0.001 else f"{p:.0e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth"])
    parser.add_argument("--start", default="2022-01-01")
    parser.add_argument("--refit-every", default=None, help="also score the self-refitting LSTM (e.g. 6M)")
    args = parser.parse_args()
    for asset in args.assets:
        df = load_dataset(f"{asset}_usdt_1h")
        ev = evaluate_forecasters(df, f"{asset}-1h", args.start, refit_every=args.refit_every, mcs=MCSSettings())
        for h, table in ev.overall.items():
            shown = table[["qlike", "ratio_vs_log_har", "dm_pvalue_vs_log_har", "mz_r2", "mcs_pvalue"]].copy()
            shown["dm_pvalue_vs_log_har"] = [p_value(p) for p in shown["dm_pvalue_vs_log_har"]]
            shown["mcs_pvalue"] = [p_value(p) for p in shown["mcs_pvalue"]]
            with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
                print(f"\n{asset.upper()}/USDT, {h}-day horizon, {len(ev.forecasts[h])} origins "
                      f"{ev.forecasts[h].index[0].date()} .. {ev.forecasts[h].index[-1].date()}")
                print(shown)
        print("\n1-day QLIKE by year")
        print(ev.by_year.round(4))


if __name__ == "__main__":
    main()
