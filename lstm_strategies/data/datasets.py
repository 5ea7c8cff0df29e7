"""Real market data that ships with the package, found by name: :func:`load_dataset`.

``btc_usdt_1h`` and ``eth_usdt_1h`` (Binance spot, hourly, 2019-01 .. 2026-06), ``btc_dvol_daily`` and
``eth_dvol_daily`` (Deribit's BTC and ETH DVOL implied-volatility indices, daily closes, 2021-03 ..
2026-04) and ``btc_dvol_1d`` (the earlier, shorter BTC DVOL file) are byte-identical copies
of the project's shared data (:mod:`lstm_strategies.data.catalog`; ``shipped/PROVENANCE.md`` says where
they come from). Each file's SHA-256 is checked when it is first loaded.

:func:`load_dataset` is the one entry point used by configs and the CLI: a shipped name, a
built-in such as ``arch:sp500`` (installed with ``arch``), a file path, or the name of an extra
file in ``$LSTM_STRATEGIES_DATA`` (by default ``../shared/data`` next to the working folder), where
the benchmarks find the data that does not ship (SOL).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from lstm_strategies.core.errors import DataError
from lstm_strategies.data.catalog import (  # noqa: F401  (the catalog, importable from here as before)
    BUILTIN,
    DATA_ENV,
    HERE,
    SHIPPED,
    Dataset,
    _verified,
    data_dir,
    dataset_path,
    names,
    ohlcv_names,
)
from lstm_strategies.data.load import load_ohlcv


def load_sp500() -> pd.DataFrame:
    """S&P 500 daily OHLCV 1999-2018, as shipped by the ``arch`` package."""
    from arch.data import sp500

    raw = sp500.load()
    frame = raw[["Open", "High", "Low", "Close", "Volume"]].rename(columns=str.lower)
    frame.index = pd.DatetimeIndex(frame.index).rename("timestamp")
    df = load_ohlcv(frame)
    df.attrs["source"] = "arch:sp500"
    return df


def load_dataset(spec: str | os.PathLike, tz: str | None = None) -> pd.DataFrame:
    """OHLCV bars from a shipped name, a built-in (``arch:sp500``), a file path or an extra name.

    ``tz`` is the zone of a file's naive intraday times (see :func:`~lstm_strategies.data.load.load_ohlcv`);
    the shipped and built-in sets carry their zone.

    Raises
    ------
    DataError
        Unknown name, missing file, or a file that fails validation (see
        :func:`~lstm_strategies.data.load_ohlcv`).
    """
    spec = str(spec)
    if spec in BUILTIN:
        return load_sp500()
    if spec in SHIPPED:
        if SHIPPED[spec].kind != "ohlcv":
            raise DataError(f"dataset {spec!r} is an implied-volatility series, not OHLCV bars; "
                            "load it with load_implied_vol")
        df = load_ohlcv(_verified(spec))
        df.attrs["source"] = spec
        return df
    from lstm_strategies.core.readers import path_kind

    path = Path(spec)
    kind = path_kind(path, "OHLCV file", DataError)
    if kind == "missing" and (path.suffix or os.sep in spec):
        raise DataError(f"{spec}: file not found; give an existing OHLCV file (CSV, CSV.gz, parquet, JSON) or a "
                        f"shipped dataset: {', '.join(ohlcv_names())}")
    if path.suffix or os.sep in spec or kind != "missing":
        return load_ohlcv(path, tz=tz)
    return load_ohlcv(dataset_path(spec), tz=tz)
