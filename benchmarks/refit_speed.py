"""A full backtest with the self-refitting LSTM on its shipped folds against the frozen LSTM, one process.

``backtests/btc_vol_target_lstm.toml`` (vol targeting at 40% on BTC/USDT hourly, traded 2022-01-01 ..
2026-06-30) run end to end through ``lstm_strategies.api.run`` (data, forecasts, Backtrader, metrics;
no files written), once with the frozen ``btc-1h`` and once with ``lstm_refit`` as README's race runs it
(6-month folds from 2021-12-31), both on the shipped bars from their first bar (2019-01-01: the bars the
shipped folds were trained on, so no fold trains). One untimed run of each first (imports, caches), then
alternating runs, median of ``--repeats``; the goal line: the self-refitting run in at most 1.5x the frozen
one's time.

    python benchmarks/refit_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from lstm_strategies.api import load_config, run

CONFIG = Path(__file__).resolve().parent.parent / "backtests" / "btc_vol_target_lstm.toml"
RUNS = {"frozen LSTM (btc-1h)": {"strategy.forecaster": "lstm", "strategy.forecaster_params": {"model": "btc-1h"}},
        "self-refitting LSTM (shipped folds)": {
            "strategy.forecaster": "lstm_refit",
            "strategy.forecaster_params": {"refit_every": "6M", "first_train_end": "2021-12-31"}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    configs = {name: load_config(str(CONFIG), **{"data.start": "2019-01-01", **overrides})
               for name, overrides in RUNS.items()}
    seconds: dict[str, list[float]] = {name: [] for name in RUNS}
    for config in configs.values():
        run(config)                                   # warm-up: imports, data and model caches
    for _ in range(args.repeats):
        for name, config in configs.items():
            started = time.perf_counter()
            result = run(config)
            seconds[name].append(time.perf_counter() - started)
            folds = result.provenance.get("refit_folds") or []
            if folds:
                found = sum(bool(f.get("cached")) for f in folds)
                print(f"{name}: {len(folds)} folds, {found} found (shipped), Sharpe {result.metrics['sharpe']:.2f}")
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, value in medians.items():
        print(f"{name}: median {value:.1f} s over {args.repeats} runs ({', '.join(f'{s:.1f}' for s in seconds[name])})")
    frozen, refit = medians.values()
    ratio = refit / frozen
    print(f"goal lstm_refit backtest <= 1.5x the frozen model's time: {'met' if ratio <= 1.5 else 'not met'} "
          f"({ratio:.2f}x)")


if __name__ == "__main__":
    main()
