"""``data fetch``: a real ccxt.binance object whose HTTP layer answers from recorded Binance responses.

Only ``exchange.fetch`` (ccxt's one HTTP call: URL in, decoded JSON out) and the exchange clock are
replaced, so ccxt builds the real ``GET /api/v3/exchangeInfo`` and ``GET /api/v3/klines`` URLs and
parses Binance's raw kline arrays itself. ``no_network`` fails any test that opens a socket.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest
from conftest import window

from lstm_strategies.cli.app import build_parser, main
from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.data.fetch import FetchError, fetch_ohlcv
from lstm_strategies.data.load import load_ohlcv, resample_ohlcv

ccxt = pytest.importorskip("ccxt")

FIXTURES = Path(__file__).parent / "fixtures"
KLINES_TEXT = (FIXTURES / "binance_klines_btcusdt_1h.json").read_text()
INFO_TEXT = (FIXTURES / "binance_exchange_info_btcusdt.json").read_text()
NOW_MS = 1_679_791_032_000  # exchange clock when the klines were taken: 2023-03-26T00:37:12Z
HOUR_MS = 3_600_000
SINCE = "2023-03-23"


class RecordedBinance:
    """Answers ccxt's HTTP calls from the recorded responses, the way Binance's REST API does."""

    def __init__(self, fail_on_klines_call: int | None = None, error: type = None):
        self.klines = json.loads(KLINES_TEXT)
        self.requests: list[tuple[str, dict]] = []
        self.fail_on, self.error = fail_on_klines_call, error

    def kline_requests(self) -> list[dict]:
        return [q for path, q in self.requests if path == "/api/v3/klines"]

    def __call__(self, url: str, method: str = "GET", headers=None, body=None):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.requests.append((parts.path, query))
        assert parts.netloc == "api.binance.com" and method == "GET"
        if parts.path == "/api/v3/exchangeInfo":
            return json.loads(INFO_TEXT)
        if parts.path == "/api/v3/klines":
            if len(self.kline_requests()) == self.fail_on:
                raise self.error(f"binance GET {url}")
            assert (query["symbol"], query["interval"]) == ("BTCUSDT", "1h")
            start, limit = int(query["startTime"]), int(query["limit"])
            return [k for k in json.loads(KLINES_TEXT) if k[0] >= start][:limit]
        raise AssertionError(f"unexpected request {url}")


def recorded_exchange(monkeypatch, server: RecordedBinance, now_ms: int = NOW_MS):
    ex = ccxt.binance({"enableRateLimit": False, "options": {"fetchMarkets": {"types": ["spot"]}}})
    monkeypatch.setattr(ex, "fetch", server)
    monkeypatch.setattr(ex, "milliseconds", lambda: now_ms)
    return ex


@pytest.fixture
def shipped(btc_hourly):
    """The shipped bars the recorded klines were taken from (the 00:00 bar of 03-26 is still forming)."""
    return window(btc_hourly, "2023-03-23", "2023-03-26")


def same_bars(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_freq=False)


def test_pagination_follows_the_last_bar_and_drops_the_forming_one(monkeypatch, no_network, shipped):
    server = RecordedBinance()
    df = fetch_ohlcv(recorded_exchange(monkeypatch, server), "BTC/USDT", "1h", SINCE, limit=25, progress=False)
    assert len(shipped) == 71  # 72 hours minus the 2023-03-24 13:00 outage
    same_bars(df, shipped)
    starts = [int(q["startTime"]) for q in server.kline_requests()]
    since_ms = int(pd.Timestamp(SINCE, tz="UTC").value // 1_000_000)
    assert starts[0] == since_ms
    assert len(starts) == 3 and all(q["limit"] == "25" for q in server.kline_requests())
    # each page starts right after the last bar of the previous one, across the gap
    assert starts[1:] == [int(df.index[24].value // 1_000_000) + 1, int(df.index[49].value // 1_000_000) + 1]
    assert pd.Timestamp("2023-03-26", tz="UTC") not in df.index
    assert [p for p, _ in server.requests].count("/api/v3/exchangeInfo") == 1


def test_the_forming_bar_is_kept_once_it_has_closed(monkeypatch, no_network, btc_hourly):
    ex = recorded_exchange(monkeypatch, RecordedBinance(), now_ms=NOW_MS + HOUR_MS)
    df = fetch_ohlcv(ex, "BTC/USDT", "1h", SINCE, limit=1000, progress=False)
    assert df.index[-1] == pd.Timestamp("2023-03-26", tz="UTC") and len(df) == 72


def test_until_stops_early(monkeypatch, no_network, shipped):
    server = RecordedBinance()
    ex = recorded_exchange(monkeypatch, server)
    df = fetch_ohlcv(ex, "BTC/USDT", "1h", SINCE, until="2023-03-24", limit=25, progress=False)
    same_bars(df, window(shipped, "2023-03-23", "2023-03-24"))
    assert len(server.kline_requests()) == 1


def test_resume_appends_only_new_bars(monkeypatch, no_network, shipped, tmp_path):
    out = tmp_path / "btc.csv"
    first = fetch_ohlcv(recorded_exchange(monkeypatch, RecordedBinance()), "BTC/USDT", "1h", SINCE,
                        until="2023-03-24 12:00", out=out, limit=25, progress=False)
    assert first.attrs["fetched_rows"] == 36
    server = RecordedBinance()
    again = fetch_ohlcv(recorded_exchange(monkeypatch, server), "BTC/USDT", "1h", SINCE, out=out, limit=25,
                        progress=False)
    assert again.attrs["fetched_rows"] == 71 - 36
    assert int(server.kline_requests()[0]["startTime"]) == int(first.index[-1].value // 1_000_000) + HOUR_MS
    same_bars(load_ohlcv(out), shipped)
    text = out.read_text()
    assert text.count("2023-03-24T11:00:00Z") == 1 and text.count("\n") == 72  # header + 71 bars
    before = out.read_bytes()
    third = fetch_ohlcv(recorded_exchange(monkeypatch, RecordedBinance()), "BTC/USDT", "1h", SINCE, out=out,
                        progress=False)
    assert third.attrs["fetched_rows"] == 0 and out.read_bytes() == before


def test_resume_refuses_a_file_of_another_timeframe(monkeypatch, no_network, shipped, tmp_path):
    out = tmp_path / "btc_4h.csv"
    four_h = resample_ohlcv(shipped, "4h")
    four_h.index = four_h.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    four_h.to_csv(out, index_label="timestamp")
    with pytest.raises(DataError, match=r"btc_4h.csv: bars are 4h apart, but timeframe='1h'"):
        fetch_ohlcv(recorded_exchange(monkeypatch, RecordedBinance()), "BTC/USDT", "1h", SINCE, out=out,
                    progress=False)
    broken = tmp_path / "broken.csv"
    lines = out.read_text().splitlines()
    broken.write_text("\n".join([*lines[:3], lines[3].replace("T", " ").replace("Z", ""), *lines[4:]]) + "\n")
    server = RecordedBinance()
    with pytest.raises(DataError, match=r"broken.csv: line 4, column 'timestamp': .* has no UTC offset"):
        fetch_ohlcv(recorded_exchange(monkeypatch, server), "BTC/USDT", "1h", SINCE, out=broken, progress=False)
    assert server.kline_requests() == []  # refused before downloading anything


@pytest.mark.parametrize("error", [ccxt.RequestTimeout, ccxt.ExchangeNotAvailable, ccxt.ExchangeError])
def test_network_error_keeps_what_was_fetched_and_rerunning_resumes(monkeypatch, no_network, shipped, tmp_path,
                                                                     error):
    out = tmp_path / "btc.csv.gz"
    ex = recorded_exchange(monkeypatch, RecordedBinance(fail_on_klines_call=2, error=error))
    with pytest.raises(FetchError) as info:
        fetch_ohlcv(ex, "BTC/USDT", "1h", SINCE, out=out, limit=25, progress=False)
    message = str(info.value)
    assert f"download failed ({error.__name__}: binance GET https://api.binance.com/api/v3/klines?" in message
    assert "needs network access" in message and "re-running the same command resumes" in message
    assert "the 25 bars fetched before it were saved" in message
    same_bars(load_ohlcv(out), shipped.head(25))
    fetch_ohlcv(recorded_exchange(monkeypatch, RecordedBinance()), "BTC/USDT", "1h", SINCE, out=out, limit=25,
                progress=False)
    same_bars(load_ohlcv(out), shipped)


def test_network_error_without_out_says_how_to_keep_progress(monkeypatch, no_network):
    ex = recorded_exchange(monkeypatch, RecordedBinance(fail_on_klines_call=1, error=ccxt.NetworkError))
    with pytest.raises(FetchError, match="needs network access.*pass --out to keep what was fetched"):
        fetch_ohlcv(ex, "BTC/USDT", "1h", SINCE, progress=False)


def test_cli_fetch_writes_a_file_that_loads_back_as_the_shipped_rows(monkeypatch, no_network, shipped, tmp_path,
                                                                    capsys):
    server = RecordedBinance()
    ex = recorded_exchange(monkeypatch, server)
    monkeypatch.setattr(ccxt, "binance", lambda config=None: ex)
    out = tmp_path / "BTCUSDT-1h.csv.gz"
    argv = ["data", "fetch", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h", "--since", SINCE,
            "--out", str(out), "--limit", "30"]
    assert main(argv) == 0
    assert "71 bars (71 new), 2023-03-23 00:00:00+00:00 -> 2023-03-25 23:00:00+00:00, 1 gaps" in capsys.readouterr().out
    with gzip.open(out, "rt") as fh:
        assert fh.readline() == "timestamp,open,high,low,close,volume\n"
        assert fh.readline().startswith("2023-03-23T00:00:00Z,27250.97,27428.69,27195.63,27322.28,4717.70531")
    same_bars(load_ohlcv(out), shipped)
    assert len(server.kline_requests()) == 3


def test_cli_fetch_options_have_help_with_defaults(capsys):
    data = next(a for a in build_parser()._actions if a.dest == "command").choices["data"]
    fetch = next(a for a in data._actions if a.dest == "data_command").choices["fetch"]
    options = {a.dest: a for a in fetch._actions if a.dest != "help"}
    assert {"exchange", "symbol", "timeframe", "since", "until", "out", "limit"} <= set(options)
    assert all(a.help for a in options.values())
    with pytest.raises(SystemExit):
        main(["data", "fetch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: binance)", "(default: 1h)", "(default: 1000)"):
        assert shown in text


def test_missing_ccxt_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ccxt", None)  # makes `import ccxt` raise ImportError
    with pytest.raises(ConfigError, match=r"pip install 'lstm-strategies\[fetch\]'"):
        fetch_ohlcv("binance", "BTC/USDT", "1h", SINCE, progress=False)


def test_bad_symbol_timeframe_and_dates_are_config_errors(monkeypatch, no_network):
    ex = recorded_exchange(monkeypatch, RecordedBinance())
    with pytest.raises(ConfigError, match="does not list 'DOGE/EUR'"):
        fetch_ohlcv(ex, "DOGE/EUR", "1h", SINCE, progress=False)
    with pytest.raises(ConfigError, match="binance has no timeframe '7h'; it offers .*1h"):
        fetch_ohlcv(ex, "BTC/USDT", "7h", SINCE, progress=False)
    with pytest.raises(ConfigError, match="since='yesterday-ish' is not a date"):
        fetch_ohlcv(ex, "BTC/USDT", "1h", "yesterday-ish", progress=False)
    with pytest.raises(ConfigError, match="is not after since"):
        fetch_ohlcv(ex, "BTC/USDT", "1h", SINCE, until="2023-01-01", progress=False)
    with pytest.raises(ConfigError, match="'binanse' is not a ccxt exchange id"):
        fetch_ohlcv("binanse", "BTC/USDT", "1h", SINCE, progress=False)


def test_no_network_guard_stops_an_unstubbed_exchange(no_network):
    with pytest.raises(AssertionError, match="network access attempted"):
        ccxt.binance({"enableRateLimit": False}).fetch_time()
