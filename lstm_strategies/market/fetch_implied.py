"""Download Deribit's DVOL implied-volatility index through ccxt (``lstm-strategies data fetch-implied``).

:func:`fetch_implied_vol` asks Deribit's public ``get_volatility_index_data`` (daily candles, resolution
``1D``) for a currency's DVOL, follows its ``continuation`` (each answer covers the newest part of the
window asked; ``continuation`` is the ``end_timestamp`` of the next, older page), keeps each day's
**close**, never writes a day that has not ended on the exchange's clock, validates the series like
:func:`~lstm_strategies.market.implied.load_implied_vol` (percent, range, jumps) and writes the shipped
layout ``timestamp,dvol`` (a UTC day, percent) atomically. An existing file is validated and continued
after its last day, so running the command again brings it up to date; days are never duplicated.

ccxt is optional: ``pip install 'lstm-strategies[fetch]'``. Nothing is written when a download fails
(the pages arrive newest first, so a partial download would leave a hole); re-running starts again
after the file's last day.
"""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lstm_strategies.core.atomic import atomic_write
from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.data.fetch import INSTALL_HINT, FetchError, _ccxt, _error_classes
from lstm_strategies.market.implied import load_implied_vol

#: the first day Deribit published DVOL (BTC and ETH)
FIRST_DAY = "2021-03-24"
DAY_MS = 86_400_000
#: pages asked at most (a daily history of 10 years is 4 pages of 1,000 days)
MAX_PAGES = 100
COLUMNS = ["timestamp", "dvol"]


def _deribit(exchange: Any) -> Any:
    """A ccxt Deribit object (``None``: a new one), or the object given."""
    if exchange is not None:
        return exchange
    return _ccxt().deribit({"enableRateLimit": True})


def _day_ms(value, what: str) -> int:
    """Epoch milliseconds of the UTC day that ``value`` (a date) falls on."""
    from lstm_strategies.core.dates import DateTextError, parse_date

    try:
        ts = parse_date(value, what)
    except DateTextError as exc:
        raise ConfigError(str(exc)) from None
    return int(ts.normalize().value // 1_000_000)


def _existing(out: Path | None) -> pd.Series:
    """The days an existing output file holds (percent, indexed by the day), or an empty series."""
    empty = pd.Series(dtype="float64", index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
    if out is None or not out.exists():
        return empty
    iv = load_implied_vol(out)
    header = pd.read_csv(out, nrows=0).columns.tolist()
    if header != COLUMNS or iv.attrs["unit"] != "percent" or pd.Timedelta(iv.attrs["period"]) != pd.Timedelta("1D"):
        raise DataError(f"{out}: holds {', '.join(map(str, header))} ({iv.attrs['unit']}, one value per "
                        f"{iv.attrs['period']}), not the layout fetch-implied writes (timestamp,dvol: one DVOL close "
                        "a day, in percent); give a new --out or a file this command wrote")
    days = (iv.index - pd.Timedelta("1D")).as_unit("ns")
    values = pd.read_csv(out, dtype={"dvol": "float64"})["dvol"].to_numpy()  # as written, not x100 of a fraction
    return pd.Series(values, index=days.rename("timestamp"))


def _page(answer: Any, label: str) -> tuple[list, int | None]:
    """The candles and the continuation of one answer; anything else is a :class:`FetchError`."""
    result = answer.get("result") if isinstance(answer, dict) else None
    data = result.get("data") if isinstance(result, dict) else None
    ok = isinstance(data, list) and all(isinstance(r, (list, tuple)) and len(r) >= 5 for r in data)
    if not ok:
        raise FetchError(f"{label}: Deribit answered something that is not volatility-index candles "
                         f"({type(answer).__name__}); nothing was written")
    cont = result.get("continuation")
    return data, (int(cont) if isinstance(cont, (int, float)) and not isinstance(cont, bool) else None)


def _download(ex: Any, currency: str, start_ms: int, end_ms: int, label: str) -> dict[int, float]:
    """Every daily close in ``[start_ms, end_ms]``, following ``continuation`` to older pages."""
    closes: dict[int, float] = {}
    end = end_ms
    for _ in range(MAX_PAGES):
        answer = ex.public_get_get_volatility_index_data({"currency": currency, "start_timestamp": start_ms,
                                                          "end_timestamp": end, "resolution": "1D"})
        data, cont = _page(answer, label)
        for row in data:
            try:
                closes[int(row[0])] = float(row[4])
            except (TypeError, ValueError):
                raise FetchError(f"{label}: a candle {row[:1]} holds no number as its close; nothing was "
                                 "written") from None
        if cont is None or not data or cont <= start_ms:
            return closes
        if cont >= end:
            raise FetchError(f"{label}: Deribit's continuation ({cont}) does not move back from {end}; nothing "
                             "was written (re-run later)")
        end = cont
    raise FetchError(f"{label}: more than {MAX_PAGES} pages; nothing was written")


def _ended_days(ex: Any, currency: str, start_ms: int, until_ms: int | None, label: str) -> pd.Series:
    """The closes of the days from ``start_ms`` (before ``until_ms``) that have ended on the exchange's clock."""
    bad_symbol, failures = _error_classes()
    now = int(ex.milliseconds())
    stop = now if until_ms is None else min(now, until_ms)
    closes: dict[int, float] = {}
    if start_ms + DAY_MS <= now:
        try:
            closes = _download(ex, currency, start_ms, stop, label)
        except (*bad_symbol, *failures) as exc:
            raise FetchError(f"{label}: download failed ({type(exc).__name__}: {str(exc)[:200]}); nothing was "
                             "written. Fetching needs network access to Deribit; check the connection (and the "
                             "currency: BTC or ETH), then re-run") from None
    ended = sorted(t for t in closes if t >= start_ms and t + DAY_MS <= now and t < stop and t % DAY_MS == 0)
    return pd.Series([closes[t] for t in ended], dtype="float64",
                     index=pd.DatetimeIndex(np.array(ended, dtype="int64") * 1_000_000, tz="UTC", name="timestamp"))


def fetch_implied_vol(currency: str = "BTC", since: str = FIRST_DAY, until: str | None = None,
                      out: str | PathLike | None = None, exchange: Any = None) -> pd.DataFrame:
    """Download Deribit's daily DVOL closes (percent) and optionally write or extend a CSV file.

    Parameters
    ----------
    currency : str
        ``"BTC"`` or ``"ETH"`` (Deribit's DVOL indices).
    since : str
        First day (``YYYY-MM-DD``); a file's last day takes over when it is later.
    until : str, optional
        Stop before this day; by default up to the last day that has ended.
    out : path, optional
        CSV output (``timestamp,dvol``). An existing one is validated and extended after its last day.
    exchange : ccxt.deribit, optional
        The exchange object (tests give one whose HTTP layer answers from recorded responses).

    Returns
    -------
    DataFrame
        ``dvol`` (percent) indexed by the UTC day, the file's days first; ``attrs["fetched_days"]`` holds
        how many days this call added, ``attrs["last_day_ends"]`` when the last day ended.

    Raises
    ------
    ConfigError
        ccxt missing, a bad currency or date.
    FetchError
        The exchange could not be reached, refused the request or answered something else.
    DataError
        The existing file or the downloaded days fail validation (a value out of range, a jump).
    """
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{2,10}", currency):
        raise ConfigError(f"currency={currency!r}: give Deribit's currency code, e.g. BTC or ETH")
    currency = currency.upper()
    label = f"deribit DVOL {currency}"
    start_ms = _day_ms(since, "--since")
    out = Path(out) if out is not None else None
    existing = _existing(out)
    if len(existing):
        start_ms = max(start_ms, int(existing.index[-1].value // 1_000_000) + DAY_MS)
    ex = _deribit(exchange)
    if until is not None and _day_ms(until, "--until") <= _day_ms(since, "--since"):
        raise ConfigError(f"--until {until} is not after --since {since}")
    new = _ended_days(ex, currency, start_ms, None if until is None else _day_ms(until, "--until"), label)
    table = pd.concat([existing, new]) if len(existing) else new
    if not len(table):
        raise DataError(f"{label}: Deribit returned no day that has ended from {pd.Timestamp(start_ms, unit='ms')}"
                        f"{'' if out is None else f'; nothing written to {out}'}")
    load_implied_vol(table.rename(label), units="percent", period="1D")  # range and jumps, the row named
    if out is not None and (len(new) or not out.exists()):
        _write(table, out)
    frame = table.rename("dvol").to_frame()
    frame.attrs.update(source=str(out or label), fetched_days=len(new),
                       last_day_ends=str(table.index[-1] + pd.Timedelta("1D")))
    return frame


def _write(table: pd.Series, out: Path) -> None:
    text = table.rename("dvol").to_frame()
    text.index = table.index.strftime("%Y-%m-%d")
    atomic_write(out, lambda tmp: text.to_csv(tmp, index_label="timestamp"))


__all__ = ["FIRST_DAY", "INSTALL_HINT", "fetch_implied_vol"]
