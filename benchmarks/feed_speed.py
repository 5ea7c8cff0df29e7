"""The list-based feed against Backtrader's stock PandasData: same bars, wall-time ratio.

    python benchmarks/feed_speed.py
"""

from __future__ import annotations

import statistics
import time

import backtrader as bt

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.trading.feed import to_bt_feed


class Sma(bt.Strategy):
    def __init__(self):
        self.cross = bt.indicators.CrossOver(bt.indicators.SMA(period=20), bt.indicators.SMA(period=50))

    def next(self):
        if self.cross[0] > 0:
            self.buy()
        elif self.cross[0] < 0:
            self.close()


def run(feed) -> float:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(Sma)
    began = time.perf_counter()
    cerebro.run()
    return time.perf_counter() - began


def main() -> None:
    df = load_dataset("btc_usdt_1h")
    naive = df.copy()
    naive.index = naive.index.tz_localize(None)
    stock, fast = [], []
    for _ in range(3):
        stock.append(run(bt.feeds.PandasData(dataname=naive, openinterest=None)))
        fast.append(run(to_bt_feed(df)))
    s, f = statistics.median(stock), statistics.median(fast)
    print(f"{len(df):,} bars, SMA(20/50) cross: PandasData {s:.2f} s ({len(df) / s:,.0f} bars/s), "
          f"FastPandasData {f:.2f} s ({len(df) / f:,.0f} bars/s), speed-up {s / f:.2f}x")


if __name__ == "__main__":
    main()
