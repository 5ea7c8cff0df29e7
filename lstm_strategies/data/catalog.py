"""The catalog of real market data that ships with the package: names, files, digests (no loader here).

``btc_usdt_1h`` and ``eth_usdt_1h`` (Binance spot, hourly, 2019-01 .. 2026-06), ``btc_dvol_daily`` and
``eth_dvol_daily`` (Deribit's BTC and ETH DVOL implied-volatility indices, daily closes, 2021-03 ..
2026-04) and ``btc_dvol_1d`` (the earlier, shorter BTC DVOL file) are byte-identical copies
of the project's shared data; ``PROVENANCE.md`` in this folder says where they come from. Each
file's SHA-256 is checked when it is first loaded.

Loading is :func:`lstm_strategies.data.datasets.load_dataset` (OHLCV) and
:func:`lstm_strategies.market.implied.load_implied_vol` (implied volatility); both resolve names here.
Extra files are looked up in ``$LSTM_STRATEGIES_DATA`` (by default ``../shared/data`` next to the
working folder), where the benchmarks find the data that does not ship (SOL).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lstm_strategies.core.errors import DataError

HERE = Path(__file__).parent / "shipped"
DATA_ENV = "LSTM_STRATEGIES_DATA"


@dataclass(frozen=True)
class Dataset:
    """One shipped file: its name, what it holds and its SHA-256."""

    name: str
    file: str
    kind: str  # "ohlcv" or "implied_vol"
    description: str
    sha256: str

    @property
    def path(self) -> Path:
        return HERE / self.file


SHIPPED: dict[str, Dataset] = {d.name: d for d in (
    Dataset("btc_usdt_1h", "btc_usdt_1h.csv.gz", "ohlcv",
            "Binance spot BTC/USDT hourly, 2019-01-01 .. 2026-06-30 (65,653 bars, 20 gaps)",
            "d19e7bd016dfa14beab31b7a2965019cb972ea938ae6505e4ae74fe1aa96f5e4"),
    Dataset("eth_usdt_1h", "eth_usdt_1h.csv.gz", "ohlcv",
            "Binance spot ETH/USDT hourly, 2019-01-01 .. 2026-06-30 (65,653 bars, 20 gaps)",
            "262dc6f9d12d3453f7b5ebb43dbd3748321c988022f75c297e2b6ddbfa276777"),
    Dataset("btc_dvol_1d", "btc_dvol_1d.csv", "implied_vol",
            "Deribit BTC DVOL (30-day implied volatility, %), daily, 2022-11-06 .. 2025-11-12 (superseded by "
            "btc_dvol_daily, whose last seven days are the final closes)",
            "fcec2d77e6cd96f4357389e555875b86fd3e6b98ffd4b14d88a549833959d52d"),
    Dataset("btc_dvol_daily", "btc_dvol_daily.csv", "implied_vol",
            "Deribit BTC DVOL (30-day implied volatility, %), daily closes, 2021-03-24 .. 2026-04-06, no gaps",
            "cb1918a6390f3164bb2451fa55e894e6b5eddda2ac36f4bd7823c14f4a385227"),
    Dataset("eth_dvol_daily", "eth_dvol_daily.csv", "implied_vol",
            "Deribit ETH DVOL (30-day implied volatility, %), daily closes, 2021-03-24 .. 2026-04-06, no gaps",
            "97fb4889b7962e2dc4fc1387bbf78bf3ad0a06ee8ad957c35a00862c687d75bb"),
)}
BUILTIN = {"arch:sp500": "S&P 500 daily OHLCV, 1999-2018 (ships with the arch package)"}


def names() -> list[str]:
    """Names :func:`load_dataset` accepts without a path: shipped files and built-ins."""
    return sorted(SHIPPED) + sorted(BUILTIN)


def ohlcv_names() -> list[str]:
    """The shipped and built-in names that hold OHLCV bars (not implied-volatility series)."""
    return sorted(n for n, d in SHIPPED.items() if d.kind == "ohlcv") + sorted(BUILTIN)


def data_dir() -> Path:
    """Folder of extra (non-shipped) data: ``$LSTM_STRATEGIES_DATA``, else ``../shared/data``."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    return Path.cwd().parent / "shared" / "data"


@cache
def _verified(name: str) -> Path:
    ds = SHIPPED[name]
    digest = hashlib.sha256(ds.path.read_bytes()).hexdigest()
    if digest != ds.sha256:
        raise DataError(f"{ds.path}: SHA-256 {digest[:12]}... differs from the shipped file's "
                        f"{ds.sha256[:12]}...; the package data was modified; reinstall lstm-strategies")
    return ds.path


def dataset_path(name: str) -> Path:
    """Path of a shipped file (verified) or of an extra file in :func:`data_dir`."""
    if name in SHIPPED:
        return _verified(name)
    folder = data_dir()
    for suffix in (".csv.gz", ".csv", ".parquet"):
        if (folder / f"{name}{suffix}").exists():
            return folder / f"{name}{suffix}"
    raise DataError(f"dataset {name!r} is not shipped (OHLCV: {', '.join(ohlcv_names())}; implied volatility: "
                    f"{', '.join(n for n, d in SHIPPED.items() if d.kind == 'implied_vol')}) and not in {folder}; "
                    f"give a file path, or set ${DATA_ENV} to the folder that holds {name}.*")
