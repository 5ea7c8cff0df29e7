"""Download OHLCV bars from an exchange with ccxt (``lstm-strategies data fetch``).

:func:`fetch_ohlcv` pages through ``exchange.fetch_ohlcv`` from ``since`` until the exchange has
no newer closed bar (or ``until``), drops the bar that is still forming, checks the result with
the loader's checks and writes the shared layout ``timestamp,open,high,low,close,volume``
(ISO ``Z`` times) atomically. An existing output file is validated and continued after its last
bar, so an interrupted download resumes where it stopped; bars are never duplicated.

ccxt is optional: ``pip install 'lstm-strategies[fetch]'``.
"""

from __future__ import annotations

import sys
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from lstm_strategies.core.atomic import atomic_write
from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.data.bars import OHLCV, timeframe_label, validate_ohlcv
from lstm_strategies.data.load import load_ohlcv

INSTALL_HINT = "pip install 'lstm-strategies[fetch]'"


class FetchError(DataError):
    """The exchange could not be reached or refused the request; re-running resumes."""


def _ccxt():
    try:
        import ccxt
    except ImportError:
        raise ConfigError(f"downloading bars needs the ccxt package: {INSTALL_HINT}") from None
    return ccxt


def _exchange(exchange: Any) -> Any:
    """A ccxt exchange object from an id such as ``"binance"``, or the object itself."""
    if not isinstance(exchange, str):
        return exchange
    ccxt = _ccxt()
    if exchange not in ccxt.exchanges:
        raise ConfigError(f"exchange {exchange!r} is not a ccxt exchange id; use e.g. binance, kraken, "
                          f"coinbase, okx, bybit ({len(ccxt.exchanges)} known)")
    return getattr(ccxt, exchange)({"enableRateLimit": True})


def _error_classes() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(``BadSymbol``-like errors, network or exchange errors); empty when ccxt is not installed."""
    try:
        import ccxt
    except ImportError:
        return (), ()
    return (ccxt.BadSymbol,), (ccxt.NetworkError, ccxt.ExchangeError)


def _to_ms(value: str | pd.Timestamp | int, what: str) -> int:
    """Epoch milliseconds of a date (naive dates are UTC) or of an int already in ms."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{what}={value!r} is not a date; use e.g. 2024-01-01 or 2024-01-01T12:00Z") from None
    if pd.isna(ts):
        raise ConfigError(f"{what}={value!r} is not a date; use e.g. 2024-01-01")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def _step_ms(ex: Any, timeframe: str) -> int:
    if (getattr(ex, "has", None) or {}).get("fetchOHLCV") is False:
        raise ConfigError(f"{getattr(ex, 'id', ex)} does not serve OHLCV bars (ccxt has['fetchOHLCV'] is False); "
                          "pick another exchange")
    known = getattr(ex, "timeframes", None) or {}
    if known and timeframe not in known:
        raise ConfigError(f"{getattr(ex, 'id', ex)} has no timeframe {timeframe!r}; it offers {', '.join(known)}")
    return int(ex.parse_timeframe(timeframe) * 1000)


def _frame(rows: list[list], name: str) -> pd.DataFrame:
    """Exchange rows ``[ms, open, high, low, close, volume]`` as an OHLCV frame (not yet validated)."""
    if not rows:
        return pd.DataFrame({c: np.array([], dtype="float64") for c in OHLCV},
                            index=pd.DatetimeIndex([], tz="UTC", name="timestamp").as_unit("ns"))
    arr = np.array([[np.nan if v is None else v for v in r[:6]] for r in rows], dtype="float64")
    index = pd.DatetimeIndex(arr[:, 0].astype("int64") * 1_000_000, tz="UTC", name="timestamp").as_unit("ns")
    return pd.DataFrame(arr[:, 1:6], columns=OHLCV, index=index)


def _pages(ex: Any, symbol: str, timeframe: str, start_ms: int, end_ms: int | None, step_ms: int, limit: int):
    """Yield lists of closed bars, oldest first, until the exchange has nothing newer or ``end_ms``."""
    last = start_ms - 1
    while end_ms is None or last + 1 < end_ms:
        now = ex.milliseconds()
        batch = ex.fetch_ohlcv(symbol, timeframe, since=last + 1, limit=limit) or []
        fresh: list[list] = []
        for bar in sorted((b for b in batch if b and b[0] is not None and b[0] > last), key=lambda b: b[0]):
            if not fresh or bar[0] > fresh[-1][0]:
                fresh.append(list(bar))
        if not fresh:
            return
        closed = [b for b in fresh if b[0] + step_ms <= now and (end_ms is None or b[0] < end_ms)]
        if closed:
            yield closed
            last = closed[-1][0]
        if len(closed) < len(fresh):  # the forming bar, or past `until`: nothing more to fetch
            return


def _write(df: pd.DataFrame, out: Path) -> None:
    table = df[OHLCV].copy()
    table.index = df.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    gz = out.name.lower().endswith(".gz")
    compression = {"method": "gzip", "mtime": 0} if gz else None
    atomic_write(out, lambda tmp: table.to_csv(tmp, index_label="timestamp", compression=compression))


def _window_ms(since, until, limit: int) -> tuple[int, int | None]:
    """``since`` and ``until`` in epoch milliseconds, checked (and ``limit``)."""
    start_ms = _to_ms(since, "since")
    end_ms = None if until is None else _to_ms(until, "until")
    if end_ms is not None and end_ms <= start_ms:
        raise ConfigError(f"until={until!r} is not after since={since!r}")
    if limit < 1:
        raise ConfigError(f"limit={limit} must be at least 1")
    return start_ms, end_ms


def _download(ex, symbol: str, timeframe: str, window: tuple, rows: list, save, shown: tuple) -> None:
    """Page through the exchange into ``rows``; on an interruption or a failure, ``save()`` what came first."""
    start_ms, end_ms, step_ms, limit = window
    label, out, total, progress = shown
    bad_symbol, failures = _error_classes()
    try:
        with tqdm(total=total, unit="bar", desc=label, disable=not progress, file=sys.stderr) as bar:
            for page in _pages(ex, symbol, timeframe, start_ms, end_ms, step_ms, limit):
                rows.extend(page)
                bar.update(len(page))
    except KeyboardInterrupt:
        save()
        raise
    except bad_symbol as exc:
        raise ConfigError(f"{label}: the exchange does not list {symbol!r} ({str(exc)[:200]}); "
                          "check the symbol, e.g. BTC/USDT") from None
    except failures as exc:
        save()
        kept = f"; the {len(rows)} bars fetched before it were saved to {out}" if out is not None and rows else ""
        resume = "re-running the same command resumes after the last saved bar" if out is not None else \
            "pass --out to keep what was fetched and resume later"
        raise FetchError(f"{label}: download failed ({type(exc).__name__}: {str(exc)[:200]}){kept}. Fetching needs "
                         f"network access to the exchange; check the connection, then {resume}") from None


def fetch_ohlcv(exchange: Any, symbol: str, timeframe: str, since: str | pd.Timestamp | int,
                until: str | pd.Timestamp | int | None = None, out: str | PathLike | None = None,
                limit: int = 1000, progress: bool = True) -> pd.DataFrame:
    """Download closed OHLCV bars, paginating, and optionally write or extend a CSV file.

    Parameters
    ----------
    exchange : str or ccxt exchange
        A ccxt exchange id (``"binance"``; ccxt is imported lazily) or an exchange object.
    symbol : str
        Unified market symbol, e.g. ``"BTC/USDT"``.
    timeframe : str
        ccxt timeframe, e.g. ``"1h"`` or ``"1d"``.
    since : str, Timestamp or int
        First bar open time (a date, UTC when naive, or epoch milliseconds).
    until : str, Timestamp or int, optional
        Stop before bars opening at or after this time; by default fetch up to the last closed bar.
    out : path, optional
        ``.csv`` or ``.csv.gz`` output. If it exists it is validated with
        :func:`~lstm_strategies.data.load_ohlcv` and extended after its last bar (never backwards:
        ``since`` only matters for a new file, or when it is later than the file's last bar).
    limit : int
        Bars asked per request.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    DataFrame
        The validated bars (those of an existing ``out`` first), UTC index, float64 OHLCV;
        ``attrs["fetched_rows"]`` holds how many bars this call added.

    Raises
    ------
    ConfigError
        ccxt missing, unknown exchange or timeframe, bad dates.
    FetchError
        Network or exchange failure (bars fetched before it are saved to ``out`` first).
    DataError
        An existing ``out`` file or the downloaded bars fail validation.
    """
    ex = _exchange(exchange)
    label = f"{getattr(ex, 'id', type(ex).__name__)} {symbol} {timeframe}"
    step_ms = _step_ms(ex, timeframe)
    start_ms, end_ms = _window_ms(since, until, limit)
    out = Path(out) if out is not None else None
    existing = _frame([], label)
    if out is not None and out.exists():
        existing = load_ohlcv(out, timeframe=timeframe_label(pd.Timedelta(step_ms, unit="ms")), min_rows=1)
        start_ms = max(start_ms, int(existing.index[-1].value // 1_000_000) + step_ms)
    rows: list[list] = []

    def combined() -> pd.DataFrame:
        new = _frame(rows, label)
        df = pd.concat([existing[OHLCV], new]) if len(existing) else new
        validate_ohlcv(df, label, min_rows=0)
        return df

    def save() -> None:
        if out is not None and rows:
            _write(combined(), out)

    horizon = end_ms if end_ms is not None else int(ex.milliseconds())
    _download(ex, symbol, timeframe, (start_ms, end_ms, step_ms, limit), rows, save,
              (label, out, max(0, (horizon - start_ms) // step_ms), progress))
    df = combined()
    if out is not None and (rows or not out.exists()):
        if not len(df):
            raise DataError(f"{label}: the exchange returned no closed bars from {pd.Timestamp(start_ms, unit='ms')}"
                            f"; nothing written to {out}")
        _write(df, out)
    df.attrs.update(source=str(out or label), timeframe=timeframe_label(pd.Timedelta(step_ms, unit="ms")),
                    ignored_columns=[], fetched_rows=len(rows))
    return df
