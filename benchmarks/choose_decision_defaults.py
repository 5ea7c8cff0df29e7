"""Choose the strategies' defaults on 2021 only: the vol-target horizon, band and partial adjustment,
and the replicated put's rebalance band.

Every forecaster of the race (EWMA, GARCH-t, log-HAR, and an LSTM that never saw 2021: the
self-refitting LSTM's first fold, trained to 2020-12-31) trades BTC and ETH hourly in 2021, the
data cut at 2021-12-31 before anything is read. Rules, fixed before the runs:

* vol targeting at 40%: over the grid horizon x band x adjust, the configuration with the lowest
  mean TE30 (over forecasters and assets) among those whose mean turnover stays at or under 12
  books a year (about 1.8% of capital a year at 0.15% a trade);
* synthetic 90% put rolled every 30 days: the band with the lowest mean root-mean-square hedging
  error per roll (costs included, so trading too often is penalised).

    python benchmarks/choose_decision_defaults.py [--workers 2]

Writes benchmarks/output/decision_defaults_2021.csv and prints the tables and the choice.
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import pandas as pd

from lstm_strategies.backtest.config import validate_config
from lstm_strategies.core.executors import run_tasks
from lstm_strategies.research.sweep import run_sweep_task

ASSETS = ["btc", "eth"]
FORECASTERS = {
    "ewma": {},
    "garch": {},
    "log_har": {},
    "lstm_refit": {"refit_every": "12M", "first_train_end": "2020-12-31"},
}
HORIZONS, BANDS, ADJUSTS = [1, 7, 30], [0.0, 0.05, 0.1, 0.2, 0.35, 0.5], [1.0, 0.5]
PUT_BANDS = [0.0, 0.02, 0.05, 0.1, 0.2]
MAX_TURNOVER = 12.0


def base(asset: str, strategy: str, params: dict) -> dict:
    raw = {"name": f"{asset}_{strategy}_2021",
           "data": {"dataset": f"{asset}_usdt_1h", "start": "2019-01-01", "end": "2021-12-31"},
           "backtest": {"start": "2021-01-01", "cash": 100_000, "commission": 0.001, "slippage": 0.0005},
           "strategy": {"name": strategy, "forecaster": "ewma", "params": params},
           "report": {"baselines": False, "tearsheet": False}}
    return validate_config(raw, "choose_decision_defaults").model_dump()


def warm_fold_cache() -> None:
    """Train the LSTM's 2020 fold once, here, so that the workers only read it from the cache."""
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.forecasters import make_forecaster

    for asset in ASSETS:
        df = load_dataset(f"{asset}_usdt_1h")
        df = df[df.index <= pd.Timestamp("2021-12-31 23:00", tz="UTC")]
        make_forecaster("lstm_refit", "crypto", **FORECASTERS["lstm_refit"]).fit(df).predict_batch(df)


def tasks() -> list[dict]:
    out = []
    for asset, (name, fparams) in itertools.product(ASSETS, FORECASTERS.items()):
        vt = base(asset, "vol_target", {"target_vol": 0.4, "rebalance": "daily"})
        for h, band, adjust in itertools.product(HORIZONS, BANDS, ADJUSTS):
            out.append({"base": vt, "task": f"{asset}/{name}/vt/{h}/{band}/{adjust}",
                        "overrides": {"forecaster": name, "forecaster_params": fparams, "params.horizon": h,
                                      "params.band": band, "params.adjust": adjust}})
        put = base(asset, "synthetic_put", {"moneyness": 0.9, "maturity_days": 30, "rebalance": "daily"})
        for band in PUT_BANDS:
            out.append({"base": put, "task": f"{asset}/{name}/put/{band}",
                        "overrides": {"forecaster": name, "forecaster_params": fparams, "params.band": band}})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default="benchmarks/output")
    args = parser.parse_args()
    warm_fold_cache()
    rows = []
    for task, row in run_tasks(run_sweep_task, tasks(), "local", args.workers):
        asset, name, kind, *rest = task["task"].split("/")
        rows.append({"asset": asset, "forecaster": name, "kind": kind, **row})
    frame = pd.DataFrame(rows)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    frame.to_csv(Path(args.out) / "decision_defaults_2021.csv", index=False)

    vt = frame[frame["kind"] == "vt"]
    grid = vt.groupby(["params.horizon", "params.band", "params.adjust"])[["te30", "turnover_per_year"]].mean()
    with pd.option_context("display.width", 200, "display.max_rows", 100, "display.float_format", "{:.3f}".format):
        print("vol targeting at 40%, 2021, mean over forecasters and assets:")
        print(grid)
        ok = grid[grid["turnover_per_year"] <= MAX_TURNOVER]
        best = ok["te30"].idxmin()
        print(f"\nchosen (lowest mean TE30 with mean turnover <= {MAX_TURNOVER:g}/yr): horizon {best[0]} days, "
              f"band {best[1]}, adjust {best[2]}: TE30 {ok.loc[best, 'te30']:.3f}, "
              f"turnover {ok.loc[best, 'turnover_per_year']:.1f}/yr")
        by_h = vt.groupby("params.horizon")[["te30", "turnover_per_year"]].mean()
        print("\nby horizon (mean over bands, adjustments, forecasters, assets):")
        print(by_h)
        put = frame[frame["kind"] == "put"].copy()
        put["hedge_error_rms"] = [math.sqrt(m * m + s * s) for m, s in zip(put["hedge_error_mean"],
                                                                             put["hedge_error_std"], strict=True)]
        table = put.groupby("params.band")[["hedge_error_rms", "hedge_error_std", "turnover_per_year"]].mean()
        print("\nsynthetic 90% put, 2021, mean over forecasters and assets:")
        print(table)
        print(f"chosen put band (lowest mean RMS hedging error): {table['hedge_error_rms'].idxmin()}")


if __name__ == "__main__":
    main()
