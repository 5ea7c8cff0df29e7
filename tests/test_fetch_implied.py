"""``data fetch-implied``: a real ccxt.deribit object whose HTTP layer answers from recorded Deribit candles.

Only ``exchange.fetch`` (ccxt's one HTTP call) and the exchange clock are replaced, so ccxt builds the real
``GET /api/v2/public/get_volatility_index_data`` URLs; the server below pages as Deribit documents
(the newest candles of the window asked, and a ``continuation`` to the older ones). ``no_network`` fails any
test that opens a socket.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest

from lstm_strategies.cli.app import main
from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.data.catalog import dataset_path
from lstm_strategies.data.fetch import FetchError
from lstm_strategies.market.fetch_implied import fetch_implied_vol
from lstm_strategies.market.implied import load_implied_vol

ccxt = pytest.importorskip("ccxt")

FIXTURES = Path(__file__).parent / "fixtures"
CANDLES = json.loads((FIXTURES / "deribit_dvol_btc_1d.json").read_text())
NOW_MS = 1_775_563_200_000  # 2026-04-07T12:00Z: the 2026-04-07 candle is still forming
DAY_MS = 86_400_000
SHIPPED = dataset_path("btc_dvol_daily")


class RecordedDeribit:
    """Answers ccxt's HTTP calls from the recorded candles, the way Deribit's API v2 does."""

    def __init__(self, page: int = 1000, fail_on_call: int | None = None, error: type | None = None,
                 answer=None, stuck: bool = False):
        self.page, self.fail_on, self.error, self.answer, self.stuck = page, fail_on_call, error, answer, stuck
        self.requests: list[dict] = []

    def __call__(self, url: str, method: str = "GET", headers=None, body=None):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        assert parts.netloc == "www.deribit.com" and parts.path == "/api/v2/public/get_volatility_index_data"
        assert method == "GET" and query["resolution"] == "1D"
        self.requests.append(query)
        if len(self.requests) == self.fail_on:
            raise self.error(f"deribit GET {url}")
        if self.answer is not None:
            return self.answer
        if query["currency"] != "BTC":
            raise ccxt.BadRequest('deribit {"error":{"message":"Invalid params","code":-32602}}')
        start, end = int(query["start_timestamp"]), int(query["end_timestamp"])
        inside = [c for c in CANDLES if start <= c[0] <= end]
        shown = inside[-self.page:]
        more = len(inside) > len(shown)
        cont = (end if self.stuck else shown[0][0]) if more else None
        return {"jsonrpc": "2.0", "result": {"data": shown, "continuation": cont}, "usIn": 0, "usOut": 1,
                "usDiff": 1, "testnet": False}


def recorded(monkeypatch, server: RecordedDeribit, now_ms: int = NOW_MS):
    ex = ccxt.deribit({"enableRateLimit": False})
    monkeypatch.setattr(ex, "fetch", server)
    monkeypatch.setattr(ex, "milliseconds", lambda: now_ms)
    return ex


def test_a_full_download_is_the_shipped_file_byte_for_byte(monkeypatch, no_network, tmp_path):
    """Two pages (1,000 and 840 days), the forming 2026-04-07 candle dropped, the shipped layout written."""
    server = RecordedDeribit()
    out = tmp_path / "btc_dvol.csv"
    frame = fetch_implied_vol("BTC", out=out, exchange=recorded(monkeypatch, server))
    assert out.read_bytes() == SHIPPED.read_bytes()
    assert len(frame) == 1840 and frame.attrs["fetched_days"] == 1840
    assert frame.attrs["last_day_ends"] == "2026-04-07 00:00:00+00:00"
    assert len(server.requests) == 2 and int(server.requests[1]["end_timestamp"]) < int(server.requests[0][
        "end_timestamp"])
    assert 48.61 not in frame["dvol"].tolist()  # the day still forming


def test_a_second_run_resumes_after_the_last_day_and_a_day_that_ends_joins(monkeypatch, no_network, tmp_path):
    out = tmp_path / "btc_dvol.csv"
    lines = SHIPPED.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:-10]))  # the file a run ten days earlier wrote
    server = RecordedDeribit()
    frame = fetch_implied_vol("BTC", out=out, exchange=recorded(monkeypatch, server))
    assert out.read_bytes() == SHIPPED.read_bytes() and frame.attrs["fetched_days"] == 10
    assert [int(q["start_timestamp"]) for q in server.requests] == [pd.Timestamp("2026-03-28", tz="UTC").value
                                                                   // 1_000_000]
    before = out.stat().st_mtime_ns
    again = fetch_implied_vol("BTC", out=out, exchange=recorded(monkeypatch, RecordedDeribit()))
    assert again.attrs["fetched_days"] == 0 and out.stat().st_mtime_ns == before  # up to date: untouched
    nextday = fetch_implied_vol("BTC", out=out, exchange=recorded(monkeypatch, RecordedDeribit(),
                                                                  now_ms=NOW_MS + DAY_MS))
    assert nextday.attrs["fetched_days"] == 1 and out.read_text().endswith("2026-04-07,48.61\n")


def test_until_stops_before_its_day(monkeypatch, no_network, tmp_path):
    frame = fetch_implied_vol("BTC", since="2024-01-01", until="2024-02-01",
                              exchange=recorded(monkeypatch, RecordedDeribit()))
    assert str(frame.index[0].date()) == "2024-01-01" and str(frame.index[-1].date()) == "2024-01-31"


def test_a_failed_download_writes_nothing_and_says_so(monkeypatch, no_network, tmp_path):
    out = tmp_path / "btc_dvol.csv"
    out.write_text("".join(SHIPPED.read_text().splitlines(keepends=True)[:-1200]))
    text = out.read_text()
    server = RecordedDeribit(page=500, fail_on_call=2, error=ccxt.NetworkError)
    with pytest.raises(FetchError, match="download failed .*NetworkError.*nothing was written.*re-run"):
        fetch_implied_vol("BTC", out=out, exchange=recorded(monkeypatch, server))
    assert out.read_text() == text


@pytest.mark.parametrize("server, message", [
    (RecordedDeribit(answer={"jsonrpc": "2.0", "result": {"data": "oops"}}), "not volatility-index candles"),
    (RecordedDeribit(answer=["not", "a", "dict"]), "not volatility-index candles"),
    (RecordedDeribit(page=100, stuck=True), "continuation .* does not move back"),
])
def test_an_answer_that_is_not_candles_is_one_error_and_never_a_hang(monkeypatch, no_network, server, message):
    with pytest.raises(FetchError, match=message):
        fetch_implied_vol("BTC", exchange=recorded(monkeypatch, server))


def test_a_day_out_of_range_from_the_exchange_is_refused_with_its_day(monkeypatch, no_network, tmp_path):
    bad = [list(c) for c in CANDLES]
    bad[100][4] = 0.56  # a fraction among percent
    answer = {"jsonrpc": "2.0", "result": {"data": bad, "continuation": None}}
    with pytest.raises(DataError, match=r"row 99 .*0.56 follows|row 100.*0.56"):
        fetch_implied_vol("BTC", out=tmp_path / "x.csv", exchange=recorded(monkeypatch, RecordedDeribit(
            answer=answer)))
    assert not (tmp_path / "x.csv").exists()


def test_an_existing_file_of_another_layout_is_refused_not_extended(monkeypatch, no_network, tmp_path):
    out = tmp_path / "fractions.csv"
    out.write_text("timestamp,iv\n2024-01-01,0.55\n2024-01-02,0.56\n")
    with pytest.raises(DataError, match="not the layout fetch-implied writes"):
        fetch_implied_vol("BTC", out=out, exchange=recorded(monkeypatch, RecordedDeribit()))
    assert out.read_text() == "timestamp,iv\n2024-01-01,0.55\n2024-01-02,0.56\n"


def test_bad_currency_and_dates_are_config_errors(monkeypatch, no_network):
    ex = recorded(monkeypatch, RecordedDeribit())
    with pytest.raises(ConfigError, match="currency='B/TC'"):
        fetch_implied_vol("B/TC", exchange=ex)
    with pytest.raises(ConfigError, match="not a date"):
        fetch_implied_vol("BTC", since="soon", exchange=ex)
    with pytest.raises(ConfigError, match="is not after"):
        fetch_implied_vol("BTC", since="2024-01-01", until="2023-01-01", exchange=ex)
    with pytest.raises(FetchError, match="BadRequest.*currency: BTC or ETH"):
        fetch_implied_vol("DOGE", exchange=ex)


def test_the_command_writes_the_file_and_loads_back(monkeypatch, no_network, tmp_path, capsys):
    ex = recorded(monkeypatch, RecordedDeribit())
    monkeypatch.setattr(ccxt, "deribit", lambda config=None: ex)
    out = tmp_path / "btc_dvol.csv"
    assert main(["data", "fetch-implied", "--currency", "btc", "--since", "2025-01-01", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "461 days of Deribit's BTC DVOL (461 new), 2025-01-01 -> 2026-04-06" in printed
    iv = load_implied_vol(out)
    assert iv.attrs["unit"] == "percent" and iv.iloc[-1] == pytest.approx(0.4899)


def test_missing_ccxt_says_how_to_install(monkeypatch, tmp_path, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "ccxt", None)
    assert main(["data", "fetch-implied", "--out", str(tmp_path / "x.csv")]) == 2
    assert "pip install 'lstm-strategies[fetch]'" in capsys.readouterr().err
