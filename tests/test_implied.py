"""Implied-volatility series: loading, causality, and the forecast-against-implied comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.core.errors import DataError
from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.market.implied import ImpliedVolLookup, load_implied_vol


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
    assert load_implied_vol(tmp_path / "pct.csv", units="percent").iloc[1] == pytest.approx(0.60)
    assert load_implied_vol(tmp_path / "frac.csv", unit="fraction").iloc[1] == pytest.approx(0.60)  # 0.3.0's name
    # 0.3.0 read 0.55 declared as percent as 0.55% a year; no market's implied volatility is that low
    with pytest.raises(DataError, match=r"line 2, column 2: 0.55 \(percent\) is 0.55% a year"):
        load_implied_vol(tmp_path / "frac.csv", units="percent")


def test_every_forecaster_against_implied_on_a_short_window(tmp_path, capsys):
    """evaluate --implied: the implied forecasters and the LSTM-IV join the race; each is scored against DVOL."""
    from lstm_strategies.cli.app import main

    out = tmp_path / "eval"
    assert main(["evaluate", "--data", "btc_usdt_1h", "--model", "btc-1h", "--start", "2025-10-01", "--end",
                 "2026-01-31", "--implied", "btc_dvol_daily", "--mcs-reps", "100", "--out", str(out)]) == 0
    table = pd.read_csv(out / "evaluation_7d.csv", index_col=0)
    assert set(table.index) == {"lstm", "lstm_iv", "log_har", "ewma", "garch", "har", "har_iv", "implied",
                                "implied_level"}
    assert np.isnan(table.loc["implied", "dm_pvalue_vs_implied"]) and table.loc["implied", "ratio_vs_har_iv"] > 0
    assert table["mcs_pvalue"].notna().all()
    vs = pd.read_csv(out / "implied_vs_forecasts.csv").set_index(["horizon", "forecaster"])
    assert vs.loc[(30, "implied"), "ratio_vs_implied"] == 1.0 and np.isnan(vs.loc[(30, "implied"), "enc_b_model"])
    lstm_iv = vs.loc[(30, "lstm_iv")]
    assert lstm_iv["enc_se_model"] > 0 and 0 <= lstm_iv["enc_p_model"] <= 1 and lstm_iv["enc_nobs"] == 123
    # 30 days: LSTM-IV is its log-HAR head alone, the same forecasts (no DM test between identical forecasts)
    assert np.isnan(pd.read_csv(out / "evaluation_30d.csv", index_col=0).loc["lstm_iv", "dm_pvalue_vs_log_har"])
    assert (out / "implied_vs_forecast.png").stat().st_size > 10_000
    assert "the forecasts against btc_dvol_daily" in capsys.readouterr().out


def test_an_lstm_iv_inside_its_training_window_is_left_out_with_a_note(tmp_path, capsys):
    from lstm_strategies.cli.app import main

    assert main(["evaluate", "--data", "eth_usdt_1h", "--model", "eth-1h", "--start", "2022-11-01", "--end",
                 "2022-12-15", "--implied", "eth_dvol_daily", "--mcs-reps", "50", "--out", str(tmp_path / "e")]) == 0
    assert "eth-1h-iv left out: it was trained on data to 2022-12-31" in capsys.readouterr().out
    assert main(["evaluate", "--data", "eth_usdt_1h", "--model", "eth-1h", "--start", "2022-11-01", "--implied",
                 "eth_dvol_daily", "--iv-model", "eth-1h-iv", "--out", str(tmp_path / "f")]) == 2
    assert "in-sample" in capsys.readouterr().err


@pytest.mark.timeout(20)
def test_special_files_are_refused_not_read(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "zero.csv").symlink_to("/dev/zero")
    with pytest.raises(DataError, match="named pipe"):
        load_implied_vol(tmp_path / "pipe.csv")
    with pytest.raises(DataError, match="is a device"):
        load_implied_vol(tmp_path / "zero.csv")


@pytest.mark.parametrize("name", ["btc_dvol_daily", "eth_dvol_daily"])
def test_the_daily_dvol_files_ship_whole_and_known_at_the_end_of_each_day(name):
    iv = load_implied_vol(name)
    assert len(iv) == 1840 and iv.attrs["gaps"] == 0 and iv.attrs["unit"] == "percent"
    assert iv.index[0] == pd.Timestamp("2021-03-25", tz="UTC")   # 2021-03-24's close, known at its end
    assert iv.index[-1] == pd.Timestamp("2026-04-07", tz="UTC")
    assert (iv > 0.2).all() and (iv < 2.0).all()


@pytest.mark.parametrize(("name", "final"), [("btc_dvol_daily", 0.4899), ("eth_dvol_daily", 0.6910)])
def test_the_shipped_dvol_files_end_on_the_days_final_close(name, final):
    """0.3.0 shipped a partial candle for 2026-04-06 (BTC 47.76, ETH 69.71); the files hold the final close."""
    iv = load_implied_vol(name)
    assert iv.attrs["last_period"].startswith("2026-04-06") and iv.iloc[-1] == pytest.approx(final)


# -- read by meaning, not by position (issue #28) --------------------------------------------------

def write(tmp_path, text: str, name: str = "iv.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_price_file_is_refused_not_read_as_implied_vol(tmp_path):
    """0.3.0 read an XRP OHLCV file's second column (open prices, 0.3 .. 3) as implied volatility, and
    train --implied trained and saved an LSTM-IV on it."""
    btc = load_dataset("btc_usdt_1h").iloc[:48]
    xrp = (btc / 50_000).assign(volume=btc["volume"])  # XRP-like levels: 0.07 .. 0.08
    path = tmp_path / "xrp_usdt_1h.csv"
    xrp.to_csv(path, index_label="timestamp")
    with pytest.raises(DataError, match=r"'volume' column: this looks like a price \(OHLCV\) file"):
        load_implied_vol(path)
    prices = write(tmp_path, "timestamp,close\n2024-01-01,42000.5\n2024-01-02,43100.0\n", "btc_close.csv")
    with pytest.raises(DataError, match=r"line 2, column 2: 42000.5 \(percent\) is 42000.50% a year.*price file"):
        load_implied_vol(prices)


def test_train_implied_on_a_price_file_is_one_error_and_writes_no_model(tmp_path, capsys):
    from lstm_strategies.cli.app import main

    btc = load_dataset("btc_usdt_1h").iloc[:48]
    (btc / 50_000).assign(volume=btc["volume"]).to_csv(tmp_path / "xrp.csv", index_label="timestamp")
    out = tmp_path / "model"
    assert main(["train", "--data", "btc_usdt_1h", "--implied", str(tmp_path / "xrp.csv"), "--train-end",
                 "2022-12-31", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "looks like a price (OHLCV) file" in err and err.count("\n") == 1
    assert not (out / "model.safetensors").exists()


@pytest.mark.parametrize("header, value", [
    ("timestamp,dvol", "56.76"), ("Date,IV", "56.76"), ("date,implied_vol", "0.5676"), ("time,Implied Volatility",
                                                                                          "0.5676"),
    ("timestamp,symbol,close", "56.76"),
])
def test_the_value_column_is_found_by_its_name(tmp_path, header, value):
    rows = "".join(f"2024-01-0{d},{'BTC,' if 'symbol' in header else ''}{value}\n" for d in (1, 2, 3))
    iv = load_implied_vol(write(tmp_path, f"{header}\n{rows}"))
    assert iv.iloc[-1] == pytest.approx(0.5676)


def test_an_ohlc_layout_gives_its_close_wherever_the_columns_stand(tmp_path):
    path = write(tmp_path, "close,low,high,open,timestamp\n56.8,55,58,57,2024-01-01\n60.1,56,61,56.8,2024-01-02\n")
    iv = load_implied_vol(path)
    assert iv.tolist() == pytest.approx([0.568, 0.601]) and iv.attrs["ignored_columns"] == ["low", "high", "open"]


@pytest.mark.parametrize("text, message", [
    ("timestamp,price\n2024-01-01,56\n2024-01-02,57\n", r"no implied-volatility column .*name it one of dvol, iv"),
    ("timestamp,dvol,iv\n2024-01-01,56,0.56\n2024-01-02,57,0.57\n", r"several value columns \(dvol, iv\)"),
    ("when,dvol\n2024-01-01,56\n2024-01-02,57\n", r"no time column"),
    ("2024-01-01,56\n2024-01-02,57\n", r"no time column .*the first line must name the columns"),
])
def test_a_file_whose_columns_say_nothing_is_refused(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        load_implied_vol(write(tmp_path, text))


def test_percent_between_1_5_and_3_is_ambiguous_not_fractions(tmp_path):
    """0.3.0 read percent values of 1.5 .. 3 as fractions (150% .. 300% a year): a variance book then showed
    Sharpe 18.5 and 1,213% a year."""
    path = write(tmp_path, "timestamp,iv\n" + "".join(f"2024-01-{d:02d},{1.5 + d / 20:.2f}\n" for d in range(1, 21)))
    with pytest.raises(DataError, match=r"every value of column 2 lies between 1 and 5 .*cannot tell.*units="):
        load_implied_vol(path)
    assert load_implied_vol(path, units="fraction").iloc[0] == pytest.approx(1.55)
    assert load_implied_vol(path, units="percent").iloc[0] == pytest.approx(0.0155)  # declared: read as said


@pytest.mark.parametrize("values, message", [
    (["0.55", "0.56", "57", "58"], r"mixes fractions and percent: line 2 holds 0.55 and line 4 holds 57"),
    (["55", "56", "0.000001", "58"], r"line 4, column 2: 1e-06 \(percent\) is 0.00% a year"),
    (["0.55", "0.56", "0.000001", "0.58"], r"line 4, column 2: 1e-06 \(fraction\)"),
    (["55", "56", "5.6", "58"], r"line 4, column 2: 5.6 follows 56, a move of 10.0 times in one row"),
    (["0.55", "0.56", "2.9", "0.57"], r"line 4, column 2: 2.9 follows 0.56, a move of 5.2 times"),
])
def test_a_row_out_of_place_is_named(tmp_path, values, message):
    """0.3.0 took one value of 1e-6, or fractions among percent, silently: the P&L moved by orders of magnitude."""
    text = "timestamp,dvol\n" + "".join(f"2024-01-0{d + 1},{v}\n" for d, v in enumerate(values))
    with pytest.raises(DataError, match=message):
        load_implied_vol(write(tmp_path, text))


def test_the_units_argument_is_checked_and_the_shipped_files_pass_every_check():
    with pytest.raises(DataError, match="units='percents'; use 'percent' or 'fraction'"):
        load_implied_vol("btc_dvol_daily", units="percents")
    with pytest.raises(DataError, match="not an implied-volatility series"):
        load_implied_vol("btc_usdt_1h")
    for name in ("btc_dvol_daily", "eth_dvol_daily", "btc_dvol_1d"):
        assert load_implied_vol(name, units="percent").equals(load_implied_vol(name))


def test_implied_units_on_the_command_line_and_in_a_config(tmp_path, capsys):
    from lstm_strategies.backtest.config import validate_config
    from lstm_strategies.cli.app import main

    path = write(tmp_path, "timestamp,iv\n" + "".join(f"2024-01-{d:02d},{1.5 + d / 20:.2f}\n" for d in range(1, 21)))
    assert main(["data", "inspect", str(path)]) == 2
    assert "cannot tell" in capsys.readouterr().err
    raw = {"data": {"dataset": "btc_usdt_1h", "implied": str(path), "implied_units": "fraction"},
           "strategy": {"name": "vol_target", "forecaster": "har_iv"}}
    iv = validate_config(raw).load_inputs()["implied_vol"]
    assert iv.iloc[0] == pytest.approx(1.55)
    with pytest.raises(Exception, match=r"data.implied_units = 'percents'"):
        validate_config({**raw, "data": {**raw["data"], "implied_units": "percents"}})


def test_a_loaded_series_given_again_is_not_shifted_a_second_day():
    """0.3.0 stamped an already-loaded series (index: the time each value is known) one period later again."""
    iv = load_implied_vol("btc_dvol_daily")
    assert load_implied_vol(iv) is iv
