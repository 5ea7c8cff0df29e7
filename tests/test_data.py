"""Loader round trips, validation errors, gaps, resampling and the Backtrader feed."""

from __future__ import annotations

import gzip
import json

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.btfeed import to_bt_feed
from lstm_strategies.data import (
    OHLCV,
    find_gaps,
    infer_timeframe,
    load_ohlcv,
    resample_ohlcv,
)
from lstm_strategies.errors import DataError


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
