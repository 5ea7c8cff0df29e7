"""A :class:`backtrader.feeds.PandasData` that reads plain lists instead of ``DataFrame.iloc``."""

from __future__ import annotations

import backtrader as bt
from backtrader.utils import date2num


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
