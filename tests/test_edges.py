"""Issue #28's fault battery at the edges: every command-line value, every frame and every file a user hands
the tool gets one clear error (or the right answer), never a traceback, a silent wrong number or a hang.

Each test names what 0.3.0 did. Outputs (symlinks, files put into an output folder) are in test_atomic.py,
implied-vol files in test_implied.py, the config reference in test_reference.py, forecasts for today in
test_forecast_now.py.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.cli.app import main
from lstm_strategies.core.dates import parse_date
from lstm_strategies.core.errors import DataError, LeakageError
from lstm_strategies.data.bars import normalise_frame
from lstm_strategies.forecasters.registry import make_forecaster


def one_error_line(capsys, code, *needles: str) -> str:
    """The command exited 2 with exactly one line on stderr, starting with ``error:`` and naming ``needles``."""
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def exit_code(argv: list[str]) -> int:
    """``main``'s status, for an argument argparse refuses (it exits) or a command that returns."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


# -- dates at the command line ---------------------------------------------------------------------

@pytest.mark.parametrize("argv, needles", [
    (["evaluate", "--data", "btc_usdt_1h", "--start", "2023-13-01"], ["--start", "no month 13"]),
    (["evaluate", "--data", "btc_usdt_1h", "--start", "yesterday"], ["--start", "'yesterday' is not a date"]),
    (["evaluate", "--data", "btc_usdt_1h", "--end", "notadate"], ["--end", "'notadate' is not a date"]),
    (["evaluate", "--data", "btc_usdt_1h", "--start", "2023-02-30"], ["February 2023 has 28 days"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-31-12", "--out", "x"], ["--train-end", "no month 31"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--train-start", "20190101", "--out", "x"],
     ["--train-start"]),
    (["data", "fetch", "--symbol", "BTC/USDT", "--since", "last week", "--out", "x.csv"], ["--since"]),
    (["data", "fetch", "--symbol", "BTC/USDT", "--since", "2024-01-01", "--until", "2024-99-01", "--out", "x.csv"],
     ["--until", "no month 99"]),
])
def test_a_bad_date_is_one_error_line(capsys, argv, needles):
    """0.3.0: a pandas DateParseError traceback (exit 1) for --start 2023-13-01, --train-end 2021-31-12 ..."""
    one_error_line(capsys, exit_code(argv), *needles)


def test_a_start_after_the_data_and_a_train_start_after_its_end_are_said_as_they_are(capsys, tmp_path):
    """0.3.0: 'pass a longer history before the start', and 'cannot infer a timeframe from fewer than 2 bars'."""
    code = main(["evaluate", "--data", "btc_usdt_1h", "--start", "2030-01-01", "--out", str(tmp_path / "e")])
    one_error_line(capsys, code, "--start 2030-01-01 is after the last bar of btc_usdt_1h")
    code = main(["train", "--data", "btc_usdt_1h", "--train-end", "2020-01-01", "--train-start", "2021-01-01",
                 "--out", str(tmp_path / "m")])
    one_error_line(capsys, code, "--train-start 2021-01-01 is not before --train-end 2020-01-01")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_end_before_the_start_is_said_as_it_is(capsys, tmp_path):
    """0.3.0 answered evaluate --start 2024-01-01 --end 2023-01-01 with 'pass a longer history'."""
    code = main(["evaluate", "--data", "btc_usdt_1h", "--start", "2024-01-01", "--end", "2023-01-01", "--out",
                 str(tmp_path / "e")])
    one_error_line(capsys, code, "--end 2023-01-01 is before --start 2024-01-01")
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("text, expected", [
    ("2023-01-01", "2023-01-01 00:00+00:00"), ("2023-01-01T12:30", "2023-01-01 12:30+00:00"),
    ("2023-01-01 12:30+02:00", "2023-01-01 10:30+00:00"), ("2023-01-01T00:00:00Z", "2023-01-01 00:00+00:00"),
])
def test_the_one_date_parser_reads_iso_dates_as_utc(text, expected):
    assert parse_date(text) == pd.Timestamp(expected)


@pytest.mark.parametrize("text", ["now", "today", "yesterday", "20220101", "01/02/2023", "2023-1-1x", "", "2023-00-10"])
def test_the_one_date_parser_refuses_what_is_not_an_iso_date(text):
    with pytest.raises(ValueError, match="is not a date"):
        parse_date(text, "--start")


def test_a_config_date_goes_through_the_same_parser():
    from lstm_strategies.backtest.config import validate_config
    from lstm_strategies.core.errors import ConfigError

    raw = {"data": {"dataset": "btc_usdt_1h", "start": "2021-31-12"}, "strategy": {"name": "vol_target",
                                                                                  "forecaster": "ewma"}}
    with pytest.raises(ConfigError, match=r"data.start = '2021-31-12': '2021-31-12' is not a date: there is no month"):
        validate_config(raw)
    raw["data"]["start"] = "now"  # 0.3.0 took it (a different window every day)
    with pytest.raises(ConfigError, match="data.start = 'now'"):
        validate_config(raw)


# -- numbers at the command line -------------------------------------------------------------------

@pytest.mark.parametrize("argv, needles", [
    (["evaluate", "--data", "btc_usdt_1h", "--mcs-reps", "0"], ["--mcs-reps", "0 is out of range"]),
    (["evaluate", "--data", "btc_usdt_1h", "--mcs-reps", "-5"], ["--mcs-reps"]),
    (["evaluate", "--data", "btc_usdt_1h", "--mcs-size", "2"], ["--mcs-size", "(0, 1)"]),
    (["evaluate", "--data", "btc_usdt_1h", "--mcs-size", "nan"], ["--mcs-size"]),
    (["evaluate", "--data", "btc_usdt_1h", "--mcs-block", "0"], ["--mcs-block"]),
    (["evaluate", "--data", "btc_usdt_1h", "--seed", "-1"], ["--seed"]),
    (["evaluate", "--data", "btc_usdt_1h", "--seed", "1.5"], ["--seed", "'1.5' is not a whole number"]),
    (["sweep", "grid.toml", "--workers", "-3"], ["--workers"]),
    (["sweep", "grid.toml", "--workers", "0"], ["--workers"]),
    (["data", "fetch", "--symbol", "BTC/USDT", "--since", "2024-01-01", "--out", "x.csv", "--limit", "0"],
     ["--limit"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--window", "0"], ["--window"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--ensemble", "0"],
     ["--ensemble"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--lr", "-1"], ["--lr"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--lr", "inf"], ["--lr"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--epochs", "0"], ["--epochs"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--val-days", "-1"],
     ["--val-days"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--every-months", "0"],
     ["--every-months"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--horizons", "1,x"],
     ["--horizons", "whole numbers of days"]),
    (["train", "--data", "btc_usdt_1h", "--train-end", "2021-12-31", "--out", "x", "--horizons", "7,1"],
     ["--horizons", "increasing"]),
    (["data", "inspect", "btc_usdt_1h", "--tz", "Mars/Base"], ["--tz", "not a time zone"]),
    (["evaluate", "--data", "btc_usdt_1h", "--implied-units", "percents"], ["--implied-units", "invalid choice"]),
])
def test_a_bad_number_is_one_error_line_before_any_work(capsys, argv, needles):
    """0.3.0: --mcs-reps 0 was an IndexError deep in the bootstrap; --mcs-size 2, --mcs-reps -5, --mcs-block 0,
    --seed -1, sweep --workers -3 and data fetch --limit 0 were taken without a word."""
    one_error_line(capsys, exit_code(argv), *needles)


# -- an error never continues a progress line ---------------------------------------------------------

def test_an_error_after_a_progress_bar_starts_its_own_line_when_stderr_is_a_file(monkeypatch):
    """tqdm writes '\\r' updates; on a stderr that is not a terminal 0.3.0 glued 'error:' to the last one."""
    from tqdm import tqdm

    import lstm_strategies.cli.app as app
    from lstm_strategies.core.errors import ConfigError

    def command(args):
        bar = tqdm(total=10, desc="forecasts", leave=False)
        bar.update(3)
        raise ConfigError("the forecaster failed")

    monkeypatch.setattr(app, "build_parser", lambda: _Parsed(command))
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    assert app.main([]) == 2
    text = stream.getvalue()
    assert "forecasts" in text and "\nerror: the forecaster failed\n" in text
    assert text.splitlines()[-1] == "error: the forecaster failed"


class _Parsed:
    def __init__(self, func):
        self.func = func

    def parse_args(self, argv):
        return self


def test_an_error_without_progress_is_the_first_line(monkeypatch, capsys):
    import lstm_strategies.cli.app as app
    from lstm_strategies.core.errors import ConfigError

    def command(args):
        raise ConfigError("plain")

    monkeypatch.setattr(app, "build_parser", lambda: _Parsed(command))
    assert app.main([]) == 2
    assert capsys.readouterr().err == "error: plain\n"


# -- frames at the data boundary -------------------------------------------------------------------

@pytest.fixture(scope="module")
def pandas_csv_frame(tmp_path_factory, btc_hourly):
    """2024's bars as pandas 3's read_csv(parse_dates=...) returns them: a datetime64[us, UTC] index."""
    path = tmp_path_factory.mktemp("csv") / "btc.csv"
    window(btc_hourly, "2024-01-01", "2024-07-01").to_csv(path, index_label="timestamp")
    df = pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")
    if df.index.dtype == "datetime64[ns, UTC]":  # pandas 2 reads nanoseconds: make the case explicit
        df.index = df.index.as_unit("us")
    return df


@pytest.mark.parametrize("name", ["har_iv", "log_har", "implied", "ewma"])
def test_a_microsecond_index_forecasts_what_a_nanosecond_one_does(pandas_csv_frame, btc_hourly, name):
    """0.3.0 read a datetime64[us] index as 3.6 s bars: har_iv and log_har gave all NaN, implied read the
    previous day's value."""
    ref = window(btc_hourly, "2024-01-01", "2024-07-01")
    got, expected = [], []
    for frame, out in ((pandas_csv_frame, got), (ref, expected)):
        f = make_forecaster(name, "crypto")
        if f.inputs:
            f.set_inputs(implied_vol="btc_dvol_daily")
        out.append(f.forecast_series(frame))
        assert f.timeframe == "1h"
    assert got[0].index.equals(expected[0].index)
    np.testing.assert_allclose(got[0].to_numpy(), expected[0].to_numpy(), rtol=1e-12, equal_nan=True)
    assert got[0].iloc[-1].notna().all()


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_every_datetime64_unit_normalises_to_utc_nanoseconds(btc_hourly, unit):
    df = window(btc_hourly, "2024-01-01", "2024-01-03")
    moved = df.copy()
    moved.index = moved.index.as_unit(unit).tz_convert("Asia/Tokyo")
    out = normalise_frame(moved)
    assert str(out.index.dtype) == "datetime64[ns, UTC]" and out.index.equals(df.index)
    assert normalise_frame(df) is df  # already normalised: no copy


def test_a_naive_index_is_refused_unless_its_zone_is_given(btc_hourly):
    df = window(btc_hourly, "2024-03-30", "2024-04-02")
    naive = df.tz_convert("Europe/Berlin").tz_localize(None)
    with pytest.raises(DataError, match=r"no time zone; say which they are \(tz='UTC'"):
        normalise_frame(naive)
    assert normalise_frame(naive, tz="Europe/Berlin").index.equals(df.index)
    gap = naive.copy()
    gap.index = gap.index + pd.Timedelta("1h")  # 2024-03-31 02:00 does not exist in Berlin
    with pytest.raises(DataError, match="does not exist or happens twice in Europe/Berlin"):
        normalise_frame(gap, tz="Europe/Berlin")


def test_a_feed_takes_any_unit_and_refuses_a_range_index_or_no_volume_with_one_data_error(pandas_csv_frame,
                                                                                           btc_hourly):
    """0.3.0: to_bt_feed of a RangeIndex frame was AttributeError: 'RangeIndex' object has no attribute 'asi8';
    of a frame without volume a KeyError."""
    from lstm_strategies.trading.feed import to_bt_feed

    feed = to_bt_feed(pandas_csv_frame)
    assert (feed._timeframe, feed._compression) == (4, 60)  # Minutes, 60: hourly bars
    with pytest.raises(DataError, match=r"RangeIndex; df.set_index\('timestamp'\)"):
        to_bt_feed(pandas_csv_frame.reset_index())
    with pytest.raises(DataError, match=r"missing column\(s\) \['volume'\]"):
        to_bt_feed(pandas_csv_frame.drop(columns="volume"))
    with pytest.raises(DataError, match="no time zone"):
        to_bt_feed(pandas_csv_frame.tz_localize(None))
    assert to_bt_feed(pandas_csv_frame.tz_localize(None), tz="UTC")._compression == 60


def test_a_forecaster_refuses_a_frame_it_cannot_read_with_one_data_error(btc_hourly):
    df = window(btc_hourly, "2024-01-01", "2024-01-10")
    f = make_forecaster("ewma", "crypto")
    with pytest.raises(DataError, match="RangeIndex"):
        f.fit(df.reset_index())
    with pytest.raises(DataError, match=r"missing column\(s\) \['volume'\]"):
        f.fit(df.drop(columns="volume"))


def test_the_tz_of_a_file_reaches_the_loader_from_the_command_line_and_a_config(tmp_path, btc_hourly, capsys):
    df = window(btc_hourly, "2024-01-01", "2024-01-20")
    local = df.tz_convert("America/New_York").tz_localize(None)
    path = tmp_path / "ny.csv"
    local.to_csv(path, index_label="timestamp")
    assert main(["data", "inspect", str(path)]) == 2
    assert "no UTC offset" in capsys.readouterr().err
    assert main(["data", "inspect", str(path), "--tz", "America/New_York"]) == 0
    assert "2024-01-01 00:00:00+00:00 -> 2024-01-19 23:00:00+00:00" in capsys.readouterr().out
    from lstm_strategies.backtest.config import validate_config

    raw = {"data": {"file": str(path), "tz": "America/New_York"}, "strategy": {"name": "vol_target",
                                                                              "forecaster": "ewma"}}
    assert validate_config(raw).load_data().index.equals(df.index)
    with pytest.raises(Exception, match="data.tz = 'Mars/Base'"):
        validate_config({**raw, "data": {**raw["data"], "tz": "Mars/Base"}})


# -- leakage errors name the right knob ----------------------------------------------------------------

def test_evaluate_refuses_a_start_inside_training_naming_start_before_any_work(capsys, tmp_path):
    """0.3.0 gave [backtest] start TOML advice to a command-line user, after loading the data."""
    out = tmp_path / "e"
    err = one_error_line(capsys, main(["evaluate", "--data", "btc_usdt_1h", "--start", "2021-06-01", "--out",
                                       str(out)]),
                         "trained on 2019-01-01", "--start 2022-01-01 or later")
    assert "[backtest]" not in err and "TOML" not in err
    assert not out.exists()  # refused before the output folder was claimed


def test_a_backtest_still_gets_the_config_advice():
    lstm = make_forecaster("lstm", model="btc-1h")
    with pytest.raises(LeakageError, match=r"\[backtest\] start = \"2022-01-01\""):
        lstm.check_out_of_sample(pd.Timestamp("2021-06-01", tz="UTC"))
    with pytest.raises(LeakageError, match="--start 2022-01-01 or later"):
        lstm.check_out_of_sample(pd.Timestamp("2021-06-01", tz="UTC"), knob="--start")


# -- the first hour --------------------------------------------------------------------------------

def test_models_lists_the_bundled_models_without_importing_torch():
    """0.3.0 took 5 s: reading the cards imported torch."""
    code = ("import sys; from lstm_strategies.cli.app import main; rc = main(['models']); "
            "assert 'torch' not in sys.modules, 'torch imported'; print('rc', rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "btc-1h " in out.stdout and "spx-1d" in out.stdout and out.stdout.strip().endswith("rc 0")


@pytest.mark.parametrize("command", [["data", "inspect"], ["backtest", "--data"], ["evaluate", "--data"]])
def test_a_file_that_is_not_data_is_not_echoed_back(tmp_path, capsys, command):
    """0.3.0's dataset errors printed the first line of any file they were pointed at (a key, a password)."""
    secret = tmp_path / "credentials.csv"
    secret.write_text("aws_secret_access_key=AKIA-SECRET-DO-NOT-ECHO\nline two\n")
    argv = [*command, str(secret)]
    if command[0] == "backtest":
        argv = ["backtest", "backtests/btc_vol_target_ewma.toml", "--data", str(secret), "--out",
                str(tmp_path / "o")]
    elif command[0] == "evaluate":
        argv += ["--start", "2023-01-01", "--out", str(tmp_path / "e")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "SECRET" not in err and "AKIA" not in err, err


@pytest.mark.parametrize("breakage, message", [
    (lambda df: df.set_axis(df.index.insert(5, pd.NaT)[:len(df)]), r"row 5: the bar time is missing \(NaT\)"),
    (lambda df: pd.concat([df, df[["close"]]], axis=1), r"\['close'\] appear more than once"),
    (lambda df: df.rename(columns=str.upper), r"found 'OPEN', 'HIGH', 'LOW', 'CLOSE', 'VOLUME': "
                                              r"df.rename\(columns=str.lower\)"),
    (lambda df: df.astype(str), "are not numbers"),
    (lambda df: df.iloc[:0], "0 bar"),
])
def test_a_broken_frame_is_refused_by_the_feed_as_by_the_forecasters(btc_hourly, breakage, message):
    """0.3.0's to_bt_feed took a NaT time, a doubled column, text columns or no rows, and failed later or not at all."""
    from lstm_strategies.trading.feed import to_bt_feed

    broken = breakage(window(btc_hourly, "2024-01-01", "2024-01-10"))
    with pytest.raises(DataError, match=message):
        to_bt_feed(broken)
    if "0 bar" not in message:
        with pytest.raises(DataError, match=message):
            make_forecaster("ewma", "crypto").fit(broken)
