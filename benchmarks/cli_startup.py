"""How fast the command answers: ``lstm-strategies --version`` and ``--help`` against a bare Python start.

    python benchmarks/cli_startup.py [--runs 10]

Each command runs ``--runs`` times as a fresh process (what a user waits for); the baseline is
``python -c pass`` run the same way in the same session. The goal is under 1 s for both commands:
heavy modules (torch, pandas, QuantStats, Backtrader) are imported only by the commands that use them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def timed(cmd: list[str], runs: int) -> float:
    """Median wall-clock seconds of ``runs`` fresh runs of ``cmd``."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    exe = shutil.which("lstm-strategies") or sys.exit("lstm-strategies is not installed in this environment")
    base = timed([sys.executable, "-c", "pass"], args.runs)
    print(f"python -c pass: {base * 1000:.0f} ms (median of {args.runs})")
    for flag in ("--version", "--help"):
        t = timed([exe, flag], args.runs)
        print(f"lstm-strategies {flag}: {t * 1000:.0f} ms, {t / base:.1f}x a bare Python start "
              f"({'under' if t < 1.0 else 'OVER'} the 1 s goal)")


if __name__ == "__main__":
    main()
