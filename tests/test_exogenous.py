"""Exogenous inputs: declared once, given as series, read at each bar's close, never silently missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.forecasters import forecaster_class, forecaster_names, make_forecaster
from lstm_strategies.market.exogenous import INPUT_KINDS, FallbackLog, config_inputs, load_input


def test_forecasters_declare_what_they_read_and_how_they_treat_a_missing_value():
    reads = {n: forecaster_class(n).inputs for n in forecaster_names()}
    assert {n for n, i in reads.items() if i} >= {"har_iv", "implied", "implied_level"}
    for name, inputs in reads.items():
        cls = forecaster_class(name)
        assert set(inputs) <= set(INPUT_KINDS)
        assert cls.missing_input in ("refuse", "fallback")
        assert cls.missing_input == "refuse" or cls.input_fallback, f"{name}: a fallback must say what it is"


def test_a_config_key_names_each_input_kind(btc_dvol):
    assert config_inputs({"implied": "btc_dvol_daily", "other": None}) == {"implied_vol": "btc_dvol_daily"}
    assert load_input("implied_vol", btc_dvol) is btc_dvol                       # a loaded series is kept
    assert load_input("implied_vol", "eth_dvol_daily").attrs["source"] == "eth_dvol_daily"


def test_a_forecaster_without_its_input_refuses_with_advice(btc_hourly):
    df = window(btc_hourly, "2022-01-01", "2022-02-01")
    f = make_forecaster("implied").fit(df)
    with pytest.raises(ConfigError, match=r"reads the exogenous input 'implied_vol'.*\[data\] implied = "):
        f.predict_batch(df)
    with pytest.raises(ConfigError, match=r"set_inputs\(implied_vol=...\)"):
        f.update(df.iloc[0])
    with pytest.raises(ConfigError, match=r"reads the exogenous inputs \[\], not \['implied_vol'\]"):
        make_forecaster("ewma").set_inputs(implied_vol="btc_dvol_daily")


def test_a_bar_reads_the_value_known_at_its_close(btc_hourly, btc_dvol):
    """The 23:00 bar closes at midnight, when that day's DVOL close is known: it reads it; the 22:00 bar
    reads the day before's. Both paths."""
    df = window(btc_hourly, "2023-03-09", "2023-03-12")
    f = make_forecaster("implied", horizons=[30]).set_inputs(implied_vol=btc_dvol).fit(df)
    batched = f.predict_batch(df)[:, 0]
    streamed = np.array([f.update(df.iloc[i])[0] for i in range(len(df))])
    np.testing.assert_array_equal(batched, streamed)
    day = pd.Timestamp("2023-03-10", tz="UTC")
    i23 = df.index.get_loc(day + pd.Timedelta("23h"))
    dvol = pd.read_csv("lstm_strategies/data/shipped/btc_dvol_daily.csv", index_col=0)["dvol"]
    assert batched[i23] == pytest.approx((dvol["2023-03-10"] / 100) ** 2 * 30 / 365)
    assert batched[i23 - 1] == pytest.approx((dvol["2023-03-09"] / 100) ** 2 * 30 / 365)


def test_refusing_names_the_bar_and_the_series(btc_hourly, btc_dvol):
    df = window(btc_hourly, "2021-03-20", "2021-04-01")      # DVOL's first close is known 2021-03-25 00:00
    f = make_forecaster("implied").set_inputs(implied_vol=btc_dvol).fit(df)
    with pytest.raises(DataError, match=r"btc_dvol_daily: no implied_vol value known .* first stamped 2021-03-20 "
                                        r"00:00:00\+00:00 .*values known from 2021-03-25"):
        f.predict_batch(df)
    assert np.isfinite(f.predict_batch(df, start="2021-03-24 23:00")[-1]).all()
    f.reset()
    with pytest.raises(DataError, match="refuses to forecast without it"):
        f.update(df.iloc[0])
    f.reset()
    f.publish_from("2021-03-24 23:00")          # bars before the start only warm up: not refused
    assert np.isfinite([f.update(df.iloc[i]) for i in range(len(df))][-1]).all()


def test_a_fallback_is_recorded_with_its_bars():
    log = FallbackLog()
    t = pd.DatetimeIndex(["2021-01-02", "2021-01-01", "2021-01-03"], tz="UTC").as_unit("ns").asi8
    log.record("no value", "log-HAR", t[:2])
    log.record("no value", "log-HAR", t[2])
    assert log.as_dict() == {"no value": {"fallback": "log-HAR", "bars": 3, "first": "2021-01-01 00:00:00+00:00",
                                          "last": "2021-01-03 00:00:00+00:00"}}
