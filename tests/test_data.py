"""Loader round trips, validation errors, gaps, resampling and the Backtrader feed."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from conftest import window
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_strategies.cli.app import main
from lstm_strategies.core.errors import DataError
from lstm_strategies.data.load import (
    OHLCV,
    find_gaps,
    infer_timeframe,
    load_ohlcv,
    resample_ohlcv,
    validate_ohlcv,
)
from lstm_strategies.trading.feed import to_bt_feed


@pytest.fixture(scope="module")
def hourly_slice(btc_hourly):
    return window(btc_hourly, "2021-05-18", "2021-05-22")  # the May 2021 crash


def write_shared_csv(df: pd.DataFrame, path) -> None:
    out = df.copy()
    out.index = out.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_csv(path, index_label="timestamp")


def test_shared_hourly_file_matches_its_readme(btc_hourly):
    assert len(btc_hourly) == 65_653
    assert str(btc_hourly.index.tz) == "UTC"
    assert btc_hourly.attrs["timeframe"] == "1h"
    assert list(btc_hourly.columns) == OHLCV
    assert all(btc_hourly[c].dtype == np.float64 for c in OHLCV)
    gaps = find_gaps(btc_hourly)
    assert (gaps.n_gaps, gaps.missing_bars) == (20, 59)
    assert gaps.longest == pd.Timedelta("10h")
    assert gaps.longest_start == pd.Timestamp("2019-05-15 03:00", tz="UTC")


def test_daily_bars_from_the_hourly_file(btc_daily):
    assert btc_daily.attrs["timeframe"] == "1D"
    assert btc_daily.index[0] == pd.Timestamp("2019-01-01", tz="UTC")
    assert find_gaps(btc_daily).n_gaps == 0  # every UTC day has bars, even with hourly gaps


def test_round_trip_csv_and_gzip_and_parquet(hourly_slice, tmp_path):
    write_shared_csv(hourly_slice, tmp_path / "a.csv")
    with open(tmp_path / "a.csv", "rb") as src, gzip.open(tmp_path / "a.csv.gz", "wb") as dst:
        dst.write(src.read())
    hourly_slice.reset_index().to_parquet(tmp_path / "a.parquet")
    for name in ("a.csv", "a.csv.gz", "a.parquet"):
        back = load_ohlcv(tmp_path / name)
        pd.testing.assert_frame_equal(back, hourly_slice, check_freq=False)


def test_round_trip_yahoo_export(btc_daily, tmp_path):
    raw = btc_daily.head(200).reset_index()
    raw["timestamp"] = raw["timestamp"].dt.strftime("%Y-%m-%d")
    yahoo = raw.rename(columns={"timestamp": "Date", "open": "Open", "high": "High", "low": "Low",
                                "close": "Close", "volume": "Volume"})
    yahoo["Date"] = yahoo["Date"] + " 00:00:00+00:00"
    yahoo["Adj Close"] = yahoo["Close"]
    yahoo["Dividends"] = 0.0
    yahoo.to_csv(tmp_path / "ETH-USD.csv", index=False)
    back = load_ohlcv(tmp_path / "ETH-USD.csv")
    assert back.attrs["timeframe"] == "1D"
    np.testing.assert_allclose(back["close"].to_numpy(), raw["close"].to_numpy())


@pytest.mark.parametrize("unit", [1_000, 1_000_000])  # ms before 2025, us after
def test_round_trip_binance_klines(hourly_slice, tmp_path, unit):
    epoch = (hourly_slice.index.asi8 // 1_000_000_000 * unit).astype("int64")
    kl = pd.DataFrame({"t": epoch, **{c: hourly_slice[c].to_numpy() for c in OHLCV}})
    kl["close_time"] = epoch + 3600 * unit - 1
    for extra in ("qv", "n", "tb", "tq", "ig"):
        kl[extra] = 0
    kl.to_csv(tmp_path / "BTCUSDT-1h.csv", index=False, header=False)
    back = load_ohlcv(tmp_path / "BTCUSDT-1h.csv")
    pd.testing.assert_frame_equal(back, hourly_slice, check_freq=False)


def test_round_trip_ccxt_list_and_json(hourly_slice, tmp_path):
    rows = [[int(t // 1_000_000), *map(float, r)] for t, r in
            zip(hourly_slice.index.asi8, hourly_slice[OHLCV].to_numpy(), strict=True)]
    pd.testing.assert_frame_equal(load_ohlcv(rows), hourly_slice, check_freq=False)
    (tmp_path / "ohlcv.json").write_text(json.dumps(rows))
    pd.testing.assert_frame_equal(load_ohlcv(tmp_path / "ohlcv.json"), hourly_slice, check_freq=False)


def corrupt(hourly_slice, tmp_path, edit) -> str:
    raw = hourly_slice.copy()
    raw.index = raw.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = raw.reset_index().rename(columns={"index": "timestamp"})
    raw = edit(raw)
    path = tmp_path / "bad.csv"
    raw.to_csv(path, index=False)
    return str(path)


def set_cell(row, col, value):
    def edit(raw):
        raw[col] = raw[col].astype(object)
        raw.loc[row, col] = value
        return raw
    return edit


@pytest.mark.parametrize("edit, expected", [
    (lambda r: r.iloc[[0, 2, 1, *range(3, len(r))]], r"line 4: timestamp .* is not after the previous"),
    (lambda r: pd.concat([r.iloc[:5], r.iloc[4:]]), r"line 7: duplicate timestamp"),
    (set_cell(10, "close", "nan"), r"line 12, column 'close': value nan is NaN"),
    (set_cell(10, "volume", "inf"), r"line 12, column 'volume': value inf"),
    (set_cell(11, "low", -1.0), r"line 13, column 'low': price -1.0 is not positive"),
    (set_cell(12, "open", 0.0), r"line 14, column 'open': price 0.0"),
    (lambda r: r.assign(high=np.where(r.index == 20, r["low"] - 1, r["high"])),
     r"line 22, column 'high': high is below low"),
    (lambda r: r.assign(open=np.where(r.index == 21, r["high"] * 1.01, r["open"])),
     r"line 23, column 'open': open is outside"),
    (lambda r: r.assign(close=np.where(r.index == 22, r["low"] * 0.99, r["close"])),
     r"line 24, column 'close': close is outside"),
    (set_cell(23, "volume", -5.0), r"line 25, column 'volume': volume is negative"),
    (set_cell(3, "close", "abc"), r"line 5, column 'close': 'abc' is not a number"),
    (set_cell(3, "timestamp", "not a date"), r"line 5, column 'timestamp': cannot parse 'not a date'"),
    (lambda r: r.drop(columns=["volume"]), r"missing column\(s\) \['volume'\]"),
])
def test_each_bad_input_gets_a_clear_error(hourly_slice, tmp_path, edit, expected):
    path = corrupt(hourly_slice, tmp_path, edit)
    with pytest.raises(DataError, match=expected) as info:
        load_ohlcv(path)
    assert "bad.csv" in str(info.value)


def test_too_few_rows_for_the_window(hourly_slice, tmp_path):
    path = corrupt(hourly_slice, tmp_path, lambda r: r.head(10))
    with pytest.raises(DataError, match="10 rows, but at least 100 are needed"):
        load_ohlcv(path, min_rows=100)


def test_missing_file_and_timeframe_mismatch(hourly_slice, tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_ohlcv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="bars are 1h apart, but timeframe='1D'"):
        load_ohlcv(hourly_slice, timeframe="1D")


def test_gaps_are_reported_never_filled(btc_hourly):
    chunk = window(btc_hourly, "2019-05-14", "2019-05-17")
    assert len(chunk) == 72 - 10  # the 10-hour outage stays missing
    with pytest.raises(DataError, match="1 gaps, 10 missing bars"):
        load_ohlcv(chunk, gaps="raise")
    assert len(load_ohlcv(chunk, gaps="keep")) == 62


def test_resample_matches_hand_computation(hourly_slice):
    daily = resample_ohlcv(hourly_slice, "1D")
    day = hourly_slice[hourly_slice.index.normalize() == pd.Timestamp("2021-05-19", tz="UTC")]
    row = daily.loc[pd.Timestamp("2021-05-19", tz="UTC")]
    assert row["open"] == day["open"].iloc[0]
    assert row["high"] == day["high"].max()
    assert row["low"] == day["low"].min()
    assert row["close"] == day["close"].iloc[-1]
    assert row["volume"] == pytest.approx(day["volume"].sum())
    assert daily.attrs["timeframe"] == "1D"
    assert infer_timeframe(daily.index) == pd.Timedelta("1D")


def test_resample_drops_empty_periods_and_keeps_weekends(btc_hourly):
    chunk = window(btc_hourly, "2019-05-15", "2019-05-16")
    four_h = resample_ohlcv(chunk, "4h")
    assert pd.Timestamp("2019-05-15 04:00", tz="UTC") not in four_h.index  # 03:00-12:00 missing
    week = resample_ohlcv(window(btc_hourly, "2022-01-01", "2022-01-08"), "1D")
    assert len(week) == 7  # Saturday and Sunday are trading days


def bars_of(feed_factory, frame):
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed_factory(frame))
    rows = []

    class Collect(bt.Strategy):
        def next(self):
            d = self.data
            rows.append((d.datetime[0], d.open[0], d.high[0], d.low[0], d.close[0], d.volume[0]))

    cerebro.addstrategy(Collect)
    cerebro.run()
    return rows


def test_fast_feed_gives_the_same_bars_as_pandasdata(hourly_slice):
    feed = to_bt_feed(hourly_slice)
    assert (feed.p.timeframe, feed.p.compression) == (bt.TimeFrame.Minutes, 60)
    naive = hourly_slice.copy()
    naive.index = naive.index.tz_localize(None)
    fast = bars_of(to_bt_feed, hourly_slice)
    stock = bars_of(lambda f: bt.feeds.PandasData(dataname=naive, openinterest=None), hourly_slice)
    assert fast == stock
    assert len(fast) == len(hourly_slice)


def test_daily_feed_timeframe(btc_daily):
    feed = to_bt_feed(btc_daily.head(50))
    assert (feed.p.timeframe, feed.p.compression) == (bt.TimeFrame.Days, 1)


# --- real exchange exports: Binance columns, epochs in any unit, DST offsets, naive times --------------

FIXTURES = Path(__file__).parent / "fixtures"
BINANCE_EXTRAS = {
    "short": ["close_time", "quote_volume", "trades", "taker_base", "taker_quote", "ignore"],
    "long": ["close_time", "quote_asset_volume", "number_of_trades", "taker_buy_base_asset_volume",
             "taker_buy_quote_asset_volume", "ignore"],
    "docs": ["Close time", "Quote asset volume", "Number of trades", "Taker buy base asset volume",
             "Taker buy quote asset volume", "Ignore"],
}


@pytest.fixture(scope="module")
def new_year(btc_hourly):
    """Bars around 2025-01-01, when Binance's dumps switched from ms to us epochs."""
    return window(btc_hourly, "2024-12-31", "2025-01-02")


def epochs(index: pd.DatetimeIndex, unit: str) -> np.ndarray:
    return index.asi8 // {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]


def kline_frame(bars: pd.DataFrame, open_time: np.ndarray) -> pd.DataFrame:
    """Bars in Binance's kline column order, with the six extra columns a dump carries."""
    kl = pd.DataFrame({"open_time": open_time, **{c: bars[c].to_numpy() for c in OHLCV}})
    ms = bars.index.asi8 // 10**6
    kl["close_time"] = ms + 3_599_999
    kl["quote_volume"] = (bars["volume"] * bars["close"]).round(8).to_numpy()
    kl["trades"] = 1000
    kl["taker_base"] = (bars["volume"] / 2).round(8).to_numpy()
    kl["taker_quote"] = (kl["taker_base"] * bars["close"].to_numpy()).round(8)
    kl["ignore"] = 0
    return kl


@pytest.mark.parametrize("names", sorted(BINANCE_EXTRAS))
def test_binance_klines_with_a_header_ignore_the_extra_columns(new_year, tmp_path, names):
    kl = kline_frame(new_year, epochs(new_year.index, "ms"))
    time_name = "Open time" if names == "docs" else "open_time"
    kl.columns = [time_name, *([c.title() for c in OHLCV] if names == "docs" else OHLCV), *BINANCE_EXTRAS[names]]
    kl.to_csv(tmp_path / "k.csv", index=False)
    back = load_ohlcv(tmp_path / "k.csv", fmt="binance")
    pd.testing.assert_frame_equal(back, new_year, check_freq=False)
    assert back.attrs["ignored_columns"] == BINANCE_EXTRAS[names]


def test_headerless_binance_dump_switching_from_ms_to_us(new_year, tmp_path):
    """Binance's spot dumps use ms before 2025-01-01 and us from then on, in the same kind of file."""
    ms = epochs(new_year.index, "ms")
    stamps = np.where(new_year.index >= pd.Timestamp("2025-01-01", tz="UTC"), ms * 1000, ms)
    assert len(set(np.char.str_len(stamps.astype(str)))) == 2  # both 13- and 16-digit epochs are in the file
    kline_frame(new_year, stamps).to_csv(tmp_path / "BTCUSDT-1h-mixed.csv", index=False, header=False)
    back = load_ohlcv(tmp_path / "BTCUSDT-1h-mixed.csv")
    pd.testing.assert_frame_equal(back, new_year, check_freq=False)
    assert back.attrs["ignored_columns"] == BINANCE_EXTRAS["short"]


def test_raw_binance_rest_klines_json_loads(btc_hourly):
    """The recorded ``GET /api/v3/klines`` body (12 fields, prices as strings) is a loadable source."""
    back = load_ohlcv(FIXTURES / "binance_klines_btcusdt_1h.json")
    expected = window(btc_hourly, "2023-03-23", "2023-03-26 01:00")
    assert back.index.equals(expected.index)
    np.testing.assert_array_equal(back[["open", "high", "low", "close"]], expected[["open", "high", "low", "close"]])
    assert back.attrs["ignored_columns"] == BINANCE_EXTRAS["short"]


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("column", ["timestamp", "open_time", "time", "date", "ts"])
def test_epoch_times_in_any_unit_under_any_time_column(hourly_slice, tmp_path, unit, column):
    frame = hourly_slice.reset_index(drop=True)
    frame.insert(0, column, epochs(hourly_slice.index, unit))
    frame.to_csv(tmp_path / "e.csv", index=False)
    back = load_ohlcv(tmp_path / "e.csv")
    pd.testing.assert_frame_equal(back, hourly_slice, check_freq=False)
    assert back.index[0] == pd.Timestamp("2021-05-18", tz="UTC")  # not 1970


@pytest.mark.parametrize("value", ["12345", "-1621296000000", "99999999999999999999", "1e40"])
def test_epochs_outside_1990_to_2100_name_the_line(hourly_slice, tmp_path, value):
    frame = hourly_slice.reset_index(drop=True).astype(object)
    frame.insert(0, "timestamp", epochs(hourly_slice.index, "ms").astype(object))
    frame.loc[6, "timestamp"] = value
    frame.to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(DataError, match=r"e.csv: line 8, column 'timestamp': epoch .* is before 1990 or after 2100 "
                                        "in seconds, milliseconds, microseconds and nanoseconds"):
        load_ohlcv(tmp_path / "e.csv")


def berlin(index: pd.DatetimeIndex, offset: bool = True) -> list[str]:
    local = index.tz_convert("Europe/Berlin")
    return [t.isoformat(sep=" ") if offset else t.strftime("%Y-%m-%d %H:%M:%S") for t in local]


def write_times(bars: pd.DataFrame, times: list[str], path, column: str = "time") -> None:
    frame = bars.reset_index(drop=True)
    frame.insert(0, column, times)
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("start, end", [("2024-03-30 18:00", "2024-03-31 08:00"),   # +01:00 -> +02:00
                                        ("2024-10-26 18:00", "2024-10-27 08:00")])  # +02:00 -> +01:00, 02:00 twice
def test_local_times_with_changing_utc_offsets_become_continuous_utc(btc_hourly, tmp_path, start, end):
    bars = window(btc_hourly, start, end)
    times = berlin(bars.index)
    assert {t[-6:] for t in times} == {"+01:00", "+02:00"}
    write_times(bars, times, tmp_path / "berlin.csv")
    back = load_ohlcv(tmp_path / "berlin.csv", gaps="raise")
    pd.testing.assert_frame_equal(back, bars, check_freq=False)


def test_naive_intraday_times_need_a_time_zone(btc_hourly, tmp_path):
    bars = window(btc_hourly, "2024-03-30 18:00", "2024-03-31 08:00")
    write_times(bars, berlin(bars.index, offset=False), tmp_path / "naive.csv")
    with pytest.raises(DataError, match=r"naive.csv: line 2, column 'time': '2024-03-30 19:00:00' has no UTC offset; "
                                        r"naive local times: pass tz='Europe/Berlin' \(or tz='UTC' if they are UTC\)"):
        load_ohlcv(tmp_path / "naive.csv")
    back = load_ohlcv(tmp_path / "naive.csv", tz="Europe/Berlin")
    pd.testing.assert_frame_equal(back, bars, check_freq=False)
    utc_naive = [t.strftime("%Y-%m-%d %H:%M:%S") for t in bars.index]
    write_times(bars, utc_naive, tmp_path / "utc.csv")
    pd.testing.assert_frame_equal(load_ohlcv(tmp_path / "utc.csv", tz="UTC"), bars, check_freq=False)
    with pytest.raises(DataError, match="tz='Berlin' is not a time zone"):
        load_ohlcv(tmp_path / "utc.csv", tz="Berlin")


def test_ambiguous_and_missing_local_hours_name_the_line(btc_hourly, tmp_path):
    autumn = window(btc_hourly, "2024-10-26 22:00", "2024-10-27 04:00")
    write_times(autumn, berlin(autumn.index, offset=False), tmp_path / "autumn.csv")
    with pytest.raises(DataError, match=r"line 4, column 'time': local time '2024-10-27 02:00:00' happens twice "
                                        r"\(clocks went back\) in Europe/Berlin"):
        load_ohlcv(tmp_path / "autumn.csv", tz="Europe/Berlin")
    spring = window(btc_hourly, "2024-03-30 22:00", "2024-03-31 04:00")
    times = berlin(spring.index, offset=False)
    times[3] = "2024-03-31 02:30:00"  # a clock time that never happened in Berlin
    write_times(spring, times, tmp_path / "spring.csv")
    with pytest.raises(DataError, match=r"line 5, column 'time': local time '2024-03-31 02:30:00' does not exist"):
        load_ohlcv(tmp_path / "spring.csv", tz="Europe/Berlin")


def test_naive_dates_are_utc_days(btc_daily, tmp_path):
    days = btc_daily.head(60)
    write_times(days, [t.strftime("%Y-%m-%d") for t in days.index], tmp_path / "daily.csv", column="Date")
    pd.testing.assert_frame_equal(load_ohlcv(tmp_path / "daily.csv", fmt="yahoo"), days, check_freq=False)
    naive_index = days.copy()
    naive_index.index = naive_index.index.tz_localize(None)  # like arch's S&P 500 frame
    pd.testing.assert_frame_equal(load_ohlcv(naive_index), days, check_freq=False)


def test_dataframes_are_checked_like_files(hourly_slice):
    positional = hourly_slice.reset_index(drop=True)
    with pytest.raises(DataError, match=r"<DataFrame>: no time column .* the index is not a DatetimeIndex"):
        load_ohlcv(positional)
    naive = hourly_slice.copy()
    naive.index = naive.index.tz_localize(None)
    with pytest.raises(DataError, match=r"row 1, column 'timestamp': 2021-05-18 01:00:00 has no UTC offset"):
        load_ohlcv(naive)
    pd.testing.assert_frame_equal(load_ohlcv(naive, tz="UTC"), hourly_slice, check_freq=False)
    named = positional.rename(columns=str.title)
    named.insert(0, "Open time", epochs(hourly_slice.index, "ms"))
    named["Quote asset volume"] = 1.0
    back = load_ohlcv(named)
    pd.testing.assert_frame_equal(back, hourly_slice, check_freq=False)
    assert back.attrs["ignored_columns"] == ["Quote asset volume"]
    bad = named.astype({"Close": object})
    bad.loc[7, "Close"] = "n/a"
    with pytest.raises(DataError, match=r"row 7, column 'Close': 'n/a' is not a number"):
        load_ohlcv(bad)


def test_data_inspect_prints_the_ignored_columns(new_year, tmp_path, capsys):
    kline_frame(new_year, epochs(new_year.index, "ms")).to_csv(tmp_path / "k.csv", index=False, header=False)
    assert main(["data", "inspect", str(tmp_path / "k.csv")]) == 0
    assert "ignored     close_time, quote_volume, trades, taker_base, taker_quote, ignore\n" in capsys.readouterr().out
    write_shared_csv(new_year, tmp_path / "s.csv")
    assert main(["data", "inspect", str(tmp_path / "s.csv")]) == 0
    assert "ignored" not in capsys.readouterr().out


# --- broken or mismatched files: one DataError naming the file ------------------------------------------


def test_format_mismatches_are_refused(hourly_slice, tmp_path):
    write_shared_csv(hourly_slice, tmp_path / "shared.csv")
    with pytest.raises(DataError, match=r"shared.csv: fmt='binance' expects Binance klines.*looks like 'shared'"):
        load_ohlcv(tmp_path / "shared.csv", fmt="binance")
    with pytest.raises(DataError, match=r"shared.csv: fmt='yahoo' expects a Yahoo export with a Date"):
        load_ohlcv(tmp_path / "shared.csv", fmt="yahoo")
    kline_frame(hourly_slice, epochs(hourly_slice.index, "ms")).to_csv(tmp_path / "k.csv", index=False, header=False)
    with pytest.raises(DataError, match=r"k.csv: fmt='shared' expects a header row.*no header.*pass fmt='binance'"):
        load_ohlcv(tmp_path / "k.csv", fmt="shared")
    with pytest.raises(DataError, match=r"fmt='excel' is not a format"):
        load_ohlcv(tmp_path / "k.csv", fmt="excel")
    assert len(load_ohlcv(tmp_path / "k.csv", fmt="ccxt")) == len(hourly_slice)


def broken_files(hourly_slice, tmp_path) -> dict[str, tuple[object, str]]:
    write_shared_csv(hourly_slice, tmp_path / "good.csv")
    text = (tmp_path / "good.csv").read_bytes()
    packed = gzip.compress(text)
    (tmp_path / "cut.csv.gz").write_bytes(packed[: len(packed) * 2 // 3])
    hourly_slice.reset_index().to_parquet(tmp_path / "good.parquet")
    blob = (tmp_path / "good.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "broken.json").write_text('[[1621296000000, 1, 2, 0.5, 1, 3], [1621299600000, 1, 2')
    (tmp_path / "object.json").write_text('{"data": []}')
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "blank.csv").write_text("\n\n\n")
    (tmp_path / "header_only.csv").write_text("timestamp,open,high,low,close,volume\n")
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "nested.json").write_text("[" * 100_000 + "]" * 100_000)
    os.mkfifo(tmp_path / "pipe.csv")  # a reader of a named pipe would block forever
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    (tmp_path / "ragged.csv").write_bytes(text.replace(b"\n", b",7\n", 9).replace(b",7\n", b"\n", 8))
    return {
        "cut.csv.gz": "cannot read as CSV \\(the gzip stream is truncated or corrupt\\)",
        "cut.parquet": "cannot read as parquet",
        "broken.json": "cannot read as JSON: JSONDecodeError",
        "object.json": "expected a list of .* rows, got dict",
        "empty.csv": "the file is empty",
        "blank.csv": "no rows",
        "header_only.csv": "0 rows, but at least 2 are needed",
        "folder.csv": "is a directory",
        "nested.json": "the JSON is nested too deeply",
        "pipe.csv": "is a named pipe, not a regular file",
        "zero.csv": "is a device, not a regular file",
        "ragged.csv": "cannot read as CSV: ParserError: .*Expected 6 fields in line 9, saw 7; re-download",
    }


def test_broken_files_are_one_data_error_naming_the_file(hourly_slice, tmp_path):
    for name, expected in broken_files(hourly_slice, tmp_path).items():
        with pytest.raises(DataError, match=expected) as info:
            load_ohlcv(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name)), name


# --- property-based: corrupted real rows load as valid bars or raise DataError, nothing else ------------

SLICE_ROWS = 40


@pytest.fixture(scope="module")
def csv_lines(hourly_slice) -> list[str]:
    bars = hourly_slice.head(SLICE_ROWS)
    text = bars.to_csv(index_label="timestamp", date_format="%Y-%m-%dT%H:%M:%SZ", lineterminator="\n")
    return text.splitlines()


def restamp(line: str, how: str) -> str:
    """The same bar with its time written another way (``how`` keeps or changes the instant)."""
    stamp, rest = line.split(",", 1)
    t = pd.Timestamp(stamp)
    new = {
        "s": str(t.value // 10**9), "ms": str(t.value // 10**6), "us": str(t.value // 10**3), "ns": str(t.value),
        "offset": t.tz_convert("Asia/Kolkata").isoformat(), "space": t.isoformat(sep=" "),
        "naive": t.strftime("%Y-%m-%d %H:%M:%S"), "date": t.strftime("%Y-%m-%d"), "dmy": t.strftime("%d/%m/%Y %H:%M"),
    }[how]
    return f"{new},{rest}"


SAME_INSTANT = ["s", "ms", "us", "ns", "offset", "space"]


@st.composite
def corrupted(draw, lines: list[str]) -> bytes:
    rows = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(1, len(rows) - 1))
        j = draw(st.integers(1, len(rows) - 1))
        op = draw(st.sampled_from(["swap", "duplicate", "delete", "cell", "high_low", "truncate", "restamp"]))
        if op == "swap":
            rows[i], rows[j] = rows[j], rows[i]
        elif op == "duplicate":
            rows.insert(j, rows[i])
        elif op == "delete" and len(rows) > 2:
            del rows[i]
        elif op == "cell":
            cells = rows[i].split(",")
            k = draw(st.integers(0, len(cells) - 1))
            cells[k] = draw(st.sampled_from(["nan", "", "abc", "-1", "0", "-0.0", "inf", "1e309", "NULL", "  "])
                            | st.text(max_size=6).filter(lambda s: "\n" not in s and "\r" not in s))
            rows[i] = ",".join(cells)
        elif op == "high_low":
            c = rows[i].split(",")
            if len(c) == 6:
                c[2], c[3] = c[3], c[2]
                rows[i] = ",".join(c)
        elif op == "truncate":
            rows[i] = rows[i][: draw(st.integers(0, len(rows[i])))]
        elif op == "restamp" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:00:00Z,.*", rows[i]):
            rows[i] = restamp(rows[i], draw(st.sampled_from([*SAME_INSTANT, "naive", "date", "dmy"])))
    data = ("\n".join(rows) + "\n").encode()
    if draw(st.booleans()):  # garbage bytes, in the rows (a garbled header is a plain missing-column case)
        at = draw(st.integers(len(rows[0]) + 1, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    return data


@given(data=st.data())
@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
def test_corrupted_real_rows_load_valid_or_raise_data_error(csv_lines, tmp_path_factory, data):
    blob = data.draw(corrupted(csv_lines))
    path = tmp_path_factory.getbasetemp() / "fuzz.csv"
    path.write_bytes(blob)
    try:
        df = load_ohlcv(path)
    except DataError as exc:
        assert str(exc).startswith(str(path)) or str(exc).startswith("gaps=")
        return
    validate_ohlcv(df, "reloaded")
    assert list(df.columns) == OHLCV and str(df.index.tz) == "UTC"
    assert all(df[c].dtype == np.float64 for c in OHLCV)


@given(formats=st.lists(st.sampled_from(SAME_INSTANT), min_size=SLICE_ROWS, max_size=SLICE_ROWS))
@settings(max_examples=40, deadline=None, database=None)
def test_any_mix_of_equivalent_time_formats_loads_the_same_bars(hourly_slice, csv_lines, tmp_path_factory, formats):
    rows = [csv_lines[0]] + [restamp(line, how) for line, how in zip(csv_lines[1:], formats, strict=True)]
    path = tmp_path_factory.getbasetemp() / "mixed_formats.csv"
    path.write_text("\n".join(rows) + "\n")
    pd.testing.assert_frame_equal(load_ohlcv(path), hourly_slice.head(SLICE_ROWS), check_freq=False)


@given(row=st.integers(0, SLICE_ROWS - 1), column=st.sampled_from(["timestamp", *OHLCV]),
       bad=st.sampled_from(["abc", "-5", "nan", "", "1e400", "2021-13-45T00:00:00Z"]))
@settings(max_examples=40, deadline=None, database=None)
def test_one_bad_cell_is_reported_at_its_line_and_column(csv_lines, tmp_path_factory, row, column, bad):
    rows = list(csv_lines)
    cells = rows[row + 1].split(",")
    cells[["timestamp", *OHLCV].index(column)] = bad
    rows[row + 1] = ",".join(cells)
    path = tmp_path_factory.getbasetemp() / "one_bad_cell.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=rf"one_bad_cell.csv: line {row + 2}, column '{column}'"):
        load_ohlcv(path)
