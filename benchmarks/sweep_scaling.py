"""Sweep scaling: 24 short backtests on 1 and on 2 local workers, and on Ray, side by side.

Prints the local speed-up (goal >= 1.7x on 2 cores) and the per-task overhead of the Ray executor
against the local pool. The tasks are the S&P 500 demo backtest (data from the `arch` package)
over a 6 x 4 grid of target volatility and rebalance band.

    python benchmarks/sweep_scaling.py [--no-ray]
"""

from __future__ import annotations

import argparse
import itertools
import time

from lstm_strategies.backtest.runner import BacktestConfig
from lstm_strategies.core.executors import run_tasks
from lstm_strategies.research.sweep import run_sweep_task, task_id


def timed(tasks, executor: str, workers: int) -> tuple[float, list]:
    began = time.perf_counter()
    rows = [row for _, row in run_tasks(run_sweep_task, tasks, executor, workers)]
    return time.perf_counter() - began, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    base = BacktestConfig.from_toml("backtests/spx_vol_target_demo.toml").model_dump()
    grid = itertools.product([0.08, 0.10, 0.12, 0.14, 0.16, 0.18], [0.02, 0.05, 0.1, 0.2])
    overrides = [{"params.target_vol": t, "params.band": b} for t, b in grid]
    tasks = [{"base": base, "overrides": o, "task": task_id(o)} for o in overrides]
    one, rows1 = timed(tasks, "local", 1)
    cold, _ = timed(tasks, "local", 2)          # includes starting the pool (imports, once per process)
    two, rows2 = timed(tasks, "local", 2)       # the pool is kept: what every later sweep pays
    same = sorted(r["sharpe"] for r in rows1) == sorted(r["sharpe"] for r in rows2)
    print(f"{len(tasks)} backtests: 1 worker {one:.1f} s; 2 workers {two:.1f} s, speed-up {one / two:.2f}x "
          f"(first call, starting the pool: {cold:.1f} s, {one / cold:.2f}x); identical results: {same}")
    if not args.no_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            timed(tasks[:2], "ray", 2)  # start the workers and import the library once
            on_ray, rows3 = timed(tasks, "ray", 2)
        finally:
            ray.shutdown()
        same = sorted(r["sharpe"] for r in rows3) == sorted(r["sharpe"] for r in rows2)
        print(f"Ray, 2 CPUs: {on_ray:.1f} s; overhead per task against the local pool "
              f"{(on_ray - two) / len(tasks) * 1000:+.0f} ms (identical results: {same})")


if __name__ == "__main__":
    main()
