"""Streamed bars kept for forecasters that replay their recent history: growing arrays and frames of rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.data.bars import OHLCV

__all__ = ["BarHistory", "rows_to_frame"]


def rows_to_frame(rows: list[tuple], timeframe: str | None) -> pd.DataFrame:
    """An OHLCV frame from streamed ``(timestamp_ns, open, high, low, close, volume)`` tuples."""
    frame = pd.DataFrame([r[1:] for r in rows], columns=OHLCV,
                         index=pd.DatetimeIndex([r[0] for r in rows], tz="UTC").as_unit("ns"))
    frame.attrs["timeframe"] = timeframe
    return frame


class BarHistory:
    """Streamed bars kept in growing numpy arrays: appending is O(1), a frame of them is cheap."""

    __slots__ = ("ts", "values", "n")

    def __init__(self, capacity: int = 4096):
        self.ts = np.empty(capacity, dtype="int64")
        self.values = np.empty((capacity, 5))
        self.n = 0

    def append(self, ts_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> None:
        if self.n == len(self.ts):
            self.ts = np.concatenate([self.ts, np.empty_like(self.ts)])
            self.values = np.concatenate([self.values, np.empty_like(self.values)])
        self.ts[self.n] = ts_ns
        self.values[self.n] = (open_, high, low, close, volume)
        self.n += 1

    def __len__(self) -> int:
        return self.n

    def column(self, name: str, last: int | None = None) -> np.ndarray:
        """The last ``last`` values (all when None) of one OHLCV column, as a view."""
        j = OHLCV.index(name)
        start = 0 if last is None else max(self.n - last, 0)
        return self.values[start: self.n, j]

    def rows(self, last: int | None = None) -> list[tuple]:
        """The last bars as ``(timestamp_ns, open, high, low, close, volume)`` tuples."""
        start = 0 if last is None else max(self.n - last, 0)
        return [(int(t), *v) for t, v in zip(self.ts[start: self.n], self.values[start: self.n].tolist(), strict=True)]

    def frame(self, timeframe: str | None) -> pd.DataFrame:
        frame = pd.DataFrame(self.values[: self.n].copy(), columns=OHLCV,
                             index=pd.DatetimeIndex(self.ts[: self.n].copy(), tz="UTC").as_unit("ns"))
        frame.attrs["timeframe"] = timeframe
        return frame
