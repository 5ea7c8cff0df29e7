"""Implied-volatility series: loading, causality, and the forecast-against-implied comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.errors import DataError
from lstm_strategies.implied import ImpliedVolLookup, load_implied_vol


def test_the_shipped_dvol_loads_as_fractions_known_at_the_end_of_each_day():
    iv = load_implied_vol("btc_dvol_1d")
    assert len(iv) == 1102 and iv.attrs["unit"] == "percent"
    assert iv.index[0] == pd.Timestamp("2022-11-07", tz="UTC")     # 2022-11-06's value, known at its end
    assert iv.iloc[0] == pytest.approx(0.5676)
    assert iv.attrs["gaps"] == 1 and iv.attrs["missing_periods"] == 1  # 2025-11-11 is missing


@pytest.mark.parametrize("name", ["btc_dvol_daily", "eth_dvol_daily"])
def test_the_daily_dvol_files_load_without_gaps_from_deribits_first_day(name):
    iv = load_implied_vol(name)
    assert len(iv) == 1840 and iv.attrs["gaps"] == 0 and iv.attrs["unit"] == "percent"
    assert iv.index[0] == pd.Timestamp("2021-03-25", tz="UTC") and iv.index[-1] == pd.Timestamp("2026-04-07", tz="UTC")
    assert 0.3 < iv.min() and iv.max() < 2.0


def test_the_daily_btc_file_supersedes_the_older_one_with_final_closes():
    old, new = load_implied_vol("btc_dvol_1d"), load_implied_vol("btc_dvol_daily")
    common = old.index.intersection(new.index)
    differ = common[(old[common] != new[common]).to_numpy()]
    assert len(common) == 1102 and len(differ) <= 7 and differ.min() >= pd.Timestamp("2025-11-06", tz="UTC")


def test_many_bars_read_what_one_bar_reads():
    iv = load_implied_vol("btc_dvol_daily")
    closes = pd.date_range("2021-03-24 20:00", "2021-03-30", freq="1h", tz="UTC").as_unit("ns").asi8
    now, prev = ImpliedVolLookup(iv).values_at(closes)
    one = ImpliedVolLookup(iv)
    expected = [one.at_with_previous(int(t)) for t in closes]
    np.testing.assert_array_equal(now, [e[0] for e in expected])
    np.testing.assert_array_equal(prev, [e[1] for e in expected])
    assert np.isnan(now[:4]).all() and not np.isnan(now[4]) and np.isnan(prev[4]) and not np.isnan(prev[-1])


def test_a_bar_sees_only_values_known_at_its_close():
    iv = load_implied_vol("btc_dvol_1d")
    lookup = ImpliedVolLookup(iv)
    day = pd.Timestamp("2023-03-10", tz="UTC")
    # the 23:00 bar closes at midnight: the 10th's value is known then, not before
    assert lookup.at((day + pd.Timedelta("23h")).value) == pytest.approx(iv[iv.index <= day].iloc[-1])
    assert lookup.at((day + pd.Timedelta("24h")).value) == pytest.approx(iv.loc[day + pd.Timedelta("1D")])
    assert np.isnan(ImpliedVolLookup(iv).at(pd.Timestamp("2022-11-01", tz="UTC").value))  # before the series
    stale = ImpliedVolLookup(iv, max_age="3D")
    assert np.isnan(stale.at(pd.Timestamp("2026-01-01", tz="UTC").value))  # too old to be a price


@pytest.mark.parametrize("text, message", [
    ("timestamp,dvol\n2022-01-01,55\n2022-01-02,n/a\n", "line 3, column 2: 'n/a' is missing or not a number"),
    ("timestamp,dvol\n2022-01-01,55\n2022-01-01,56\n", "line 3: duplicate time"),
    ("timestamp,dvol\n2022-01-02,55\n2022-01-01,56\n", "is not after the previous"),
    ("timestamp,dvol\n2022-01-01,55\n2022-01-02,-3\n", "line 3, column 2: implied volatility -3.0 is not positive"),
    ("timestamp,dvol\n2022-01-01,55\n2022-01-02,5500\n", "not a market implied volatility"),
    ("timestamp,dvol\n2022-01-01,55\nsoon,56\n", "line 3, column 1: 'soon' is not a date"),
    ("timestamp\n2022-01-01\n", "needs a time column and a value column"),
])
def test_bad_implied_files_are_one_clear_error(tmp_path, text, message):
    (tmp_path / "iv.csv").write_text(text)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_implied_vol(tmp_path / "iv.csv")


def test_units_are_detected_or_declared(tmp_path):
    (tmp_path / "pct.csv").write_text("date,iv\n2022-01-01,55\n2022-01-02,60\n")
    (tmp_path / "frac.csv").write_text("date,iv\n2022-01-01,0.55\n2022-01-02,0.60\n")
    assert load_implied_vol(tmp_path / "pct.csv").iloc[1] == pytest.approx(0.60)
    assert load_implied_vol(tmp_path / "frac.csv").iloc[1] == pytest.approx(0.60)
    assert load_implied_vol(tmp_path / "frac.csv", unit="percent").iloc[1] == pytest.approx(0.006)


def test_forecast_against_implied_on_a_slice(btc_hourly):
    from lstm_strategies.evaluation import compare_with_implied

    df = btc_hourly[(btc_hourly.index >= "2022-05-01") & (btc_hourly.index < "2023-06-01")]
    df.attrs = dict(btc_hourly.attrs)
    cmp = compare_with_implied(df, load_implied_vol("btc_dvol_1d"), "btc-1h")
    assert list(cmp.table.index) == ["implied", "lstm", "log_har"]
    assert cmp.series.index[0] >= pd.Timestamp("2022-11-06", tz="UTC")
    assert {"const", "implied", "lstm"} == set(cmp.encompassing.index)
    assert (cmp.encompassing["hac_se"] > 0).all()
    assert cmp.table.loc["lstm", "dm_pvalue_vs_implied"] <= 1


@pytest.mark.timeout(20)
def test_special_files_are_refused_not_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    with pytest.raises(DataError, match="named pipe"):
        load_implied_vol(tmp_path / "pipe.csv")
    with pytest.raises(DataError, match="is a device"):
        load_implied_vol(tmp_path / "zero.csv")
