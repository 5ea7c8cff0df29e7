"""Backtrader glue: a fast PandasData feed, date numbers to timestamps, feed timeframes."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
from backtrader.utils import date2num

from lstm_strategies.data import OHLCV, infer_timeframe, timeframe_label
from lstm_strategies.errors import DataError

BT_EPOCH = 719163.0  # Backtrader's date number of 1970-01-01


def bt_dates_to_index(nums) -> pd.DatetimeIndex:
    """Backtrader date numbers (naive UTC) to a UTC index, rounded to the second."""
    seconds = np.round((np.asarray(nums, dtype="float64") - BT_EPOCH) * 86400.0)
    return pd.DatetimeIndex(seconds.astype("int64") * 1_000_000_000, tz="UTC").as_unit("ns")


def bt_timeframe(step: pd.Timedelta) -> tuple[int, int]:
    """Backtrader ``(timeframe, compression)`` of a bar spacing."""
    minutes = step / pd.Timedelta("1min")
    if step >= pd.Timedelta("1D") and step % pd.Timedelta("1D") == pd.Timedelta(0):
        return bt.TimeFrame.Days, int(step / pd.Timedelta("1D"))
    if minutes >= 1 and minutes == int(minutes):
        return bt.TimeFrame.Minutes, int(minutes)
    return bt.TimeFrame.Seconds, int(step / pd.Timedelta("1s"))


def feed_timeframe(data) -> str:
    """A feed's bar size as a label (``"1h"``, ``"1D"``)."""
    tf, comp = data._timeframe, data._compression
    unit = {bt.TimeFrame.Minutes: "min", bt.TimeFrame.Days: "D", bt.TimeFrame.Seconds: "s"}.get(tf)
    if unit is None:
        raise DataError(f"feed {data._name!r}: timeframe {bt.TimeFrame.getname(tf, comp)} is not supported; "
                        "use minute, hour or daily bars")
    return timeframe_label(pd.Timedelta(f"{comp}{unit}"))


class FractionalCommission(bt.CommissionInfo):
    """Percentage commission with fractional sizes.

    Backtrader's default sizing rounds orders down to whole units, so ``order_target_percent`` on
    a 10,000 account never buys a 40,000 BTC. Pass ``commission`` as a fraction of traded value.
    """

    params = (("stocklike", True), ("commtype", bt.CommInfoBase.COMM_PERC), ("percabs", True))

    def getsize(self, price, cash):
        return self.p.leverage * (cash / price)


class FastPandasData(bt.feeds.PandasData):
    """Same bars as ``PandasData``, about twice as fast to load.

    The stock feed spends roughly half of a run in ``DataFrame.iloc[i, j]``; this one converts each
    mapped column and the timestamps to Python lists once in :meth:`start`.
    """

    def start(self):
        super().start()
        frame = self.p.dataname
        self._columns = []
        for field in self.getlinealiases():
            if field == "datetime":
                continue
            colindex = self._colmapping[field]
            if colindex is None:
                continue
            self._columns.append((getattr(self.lines, field), frame.iloc[:, colindex].tolist()))
        self._dtnums = [date2num(ts) for ts in frame.index.to_pydatetime()]
        self._nrows = len(frame)

    def _load(self):
        self._idx += 1
        i = self._idx
        if i >= self._nrows:
            return False
        for line, values in self._columns:
            line[0] = values[i]
        self.lines.datetime[0] = self._dtnums[i]
        return True


def to_bt_feed(df: pd.DataFrame, name: str | None = None, **kwargs) -> FastPandasData:
    """Wrap an OHLCV frame as a Backtrader feed with the right timeframe and compression.

    The feed is a :class:`backtrader.feeds.PandasData` subclass that converts the columns to plain
    lists once, instead of calling ``DataFrame.iloc`` per cell (about 2x faster, same bars).
    """
    step = pd.Timedelta(df.attrs.get("timeframe") or infer_timeframe(df.index))
    timeframe, compression = bt_timeframe(step)
    naive = df[OHLCV].copy()
    naive.index = df.index.tz_convert("UTC").tz_localize(None) if df.index.tz is not None else df.index
    feed = FastPandasData(dataname=naive, timeframe=timeframe, compression=compression,
                          name=name or df.attrs.get("source", "data"), openinterest=None, **kwargs)
    feed.ohlcv_attrs = dict(df.attrs)
    return feed
