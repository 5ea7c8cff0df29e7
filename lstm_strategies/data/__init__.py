"""Files to one bar contract: the loader, bar checks, timestamps, calendars, the shipped datasets, fetching.

The loader's public API is importable from here: :func:`load_ohlcv`, :func:`resample_ohlcv`,
:func:`find_gaps`, :func:`validate_ohlcv` ...
"""

from lstm_strategies.data.bars import (
    OHLCV,
    GapReport,
    check_rows,
    find_gaps,
    fingerprint,
    infer_timeframe,
    resample_ohlcv,
    timeframe_label,
    validate_ohlcv,
)
from lstm_strategies.data.load import FORMATS, load_ohlcv

__all__ = ["FORMATS", "OHLCV", "GapReport", "check_rows", "find_gaps", "fingerprint", "infer_timeframe", "load_ohlcv",
           "resample_ohlcv", "timeframe_label", "validate_ohlcv"]
