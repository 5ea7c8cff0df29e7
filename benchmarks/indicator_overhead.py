"""Cost of the LSTM indicator inside a Backtrader run, against Backtrader's own StdDev.

The same simple strategy (weekly vol-targeting on the indicator's forecast) runs over the BTC/USDT
hourly bars from --start, once on ``LSTMVolatility`` and once on ``StdDev`` of hourly returns
(annualised), side by side in one process, in runonce mode and in next mode (runonce=False).
Prints the wall-time ratios (goal: <= 1.1x in runonce, <= 1.5x in next mode).

    python benchmarks/indicator_overhead.py [--start 2020-06-01] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import backtrader as bt
import torch

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.trading.feed import to_bt_feed
from lstm_strategies.trading.indicators import LSTMVolatility


class Target(bt.Strategy):
    params = (("kind", "lstm"), ("start", "2022-01-01"), ("head", "refit"))

    def __init__(self):
        if self.p.kind == "lstm":
            self.vol = LSTMVolatility(self.data, model="btc-1h", head=self.p.head, start=self.p.start).vol
        else:
            returns = bt.indicators.PctChange(self.data.close, period=1)
            self.vol = bt.indicators.StdDev(returns, period=24) * math.sqrt(24 * 365)
        self.last_week = None

    def next(self):
        vol = self.vol[0]
        week = int(self.data.datetime[0]) // 7
        if vol > 0 and week != self.last_week:
            self.last_week = week
            self.order_target_percent(target=min(0.99, 0.4 / vol))


def run(df, kind: str, runonce: bool, start: str, head: str = "refit") -> float:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(to_bt_feed(df))
    cerebro.addstrategy(Target, kind=kind, start=start, head=head)
    began = time.perf_counter()
    cerebro.run()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2020-06-01", help="first bar (warm-up only before 2022)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for the batched pass (default: torch's, one per core; the "
                             "streaming step is numpy and single-threaded)")
    parser.add_argument("--head", default="refit", choices=["refit", "frozen"], help="the LSTM's log-HAR heads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    df = load_dataset("btc_usdt_1h")
    df = df[df.index >= args.start]
    print(f"{len(df):,} hourly BTC/USDT bars from {df.index[0].date()}; LSTM forecasts published from "
          f"2022-01-01 (out of sample); median of {args.repeats} runs; torch threads {torch.get_num_threads()}; "
          f"head {args.head}")
    for runonce in (True, False):
        times = {"stddev": [], "lstm": []}
        for _ in range(args.repeats):
            for kind in times:  # interleaved, so drift affects both alike
                times[kind].append(run(df, kind, runonce, "2022-01-01", args.head))
        base, lstm = statistics.median(times["stddev"]), statistics.median(times["lstm"])
        mode = "runonce" if runonce else "next   "
        print(f"{mode}  StdDev {base:6.2f} s ({len(df) / base:7,.0f} bars/s)   LSTM {lstm:6.2f} s "
              f"({len(df) / lstm:7,.0f} bars/s)   ratio {lstm / base:.2f}x")


if __name__ == "__main__":
    main()
