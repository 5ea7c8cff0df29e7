"""``lstm-strategies forecast``: the forecast of the last bar, what the market's implied vol was then, and
the ratio; from shipped data (and from files `data fetch` and `data fetch-implied` keep up to date)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.cli.app import main
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.forecasters.registry import make_forecaster
from lstm_strategies.market.implied import load_implied_vol
from lstm_strategies.research.forecast_now import forecast_now


def test_the_forecast_is_the_last_bar_of_the_full_history_run(btc_hourly):
    """Exactly what the forecaster gives at that bar in a backtest over the same bars: nothing later is read."""
    result = forecast_now("btc_usdt_1h", implied="btc_dvol_daily", at="2026-04-06")
    assert result.forecaster.startswith("lstm_iv (btc-1h-iv") and result.horizons == (1, 7, 30)
    assert result.last_bar == pd.Timestamp("2026-04-06 23:00", tz="UTC")
    assert result.known_at == pd.Timestamp("2026-04-07", tz="UTC")
    upto = window(btc_hourly, "2019-01-01", "2026-04-07")
    f = make_forecaster("lstm_iv", model="btc-1h-iv").set_inputs(implied_vol="btc_dvol_daily")
    expected = f.forecast_series(upto)[["vol_1d", "vol_7d", "vol_30d"]].iloc[-1].to_numpy()
    np.testing.assert_allclose(result.vol, expected, rtol=1e-9)
    # the implied vol known at 2026-04-07 00:00 is 2026-04-06's close (known at the end of its day), not later
    assert result.implied == pytest.approx(0.4899) and result.implied_day == pd.Timestamp("2026-04-06", tz="UTC")
    np.testing.assert_allclose(result.ratios, np.asarray(result.vol) / 0.4899)
    assert not result.notes


def test_an_implied_value_published_after_the_forecast_is_never_used():
    iv = load_implied_vol("btc_dvol_daily")
    result = forecast_now("btc_usdt_1h", implied=iv, at="2025-06-15", model="btc-1h")
    assert result.known_at == pd.Timestamp("2025-06-16", tz="UTC")
    assert result.implied == pytest.approx(iv.loc[pd.Timestamp("2025-06-16", tz="UTC")])
    assert result.implied_day == pd.Timestamp("2025-06-15", tz="UTC")


def test_a_stale_implied_series_gives_no_ratio_and_says_how_to_update_it():
    """The shipped bars end 2026-06-30, the shipped DVOL 2026-04-06: no implied value is known at the last bar."""
    result = forecast_now("btc_usdt_1h", implied="btc_dvol_daily", model="btc-1h")
    assert result.implied is None and result.ratios is None
    assert any("closed 2026-04-06" in n and "data fetch-implied" in n for n in result.notes)
    # the shipped bars end 2026-06-30: a forecast of that bar is not today's, and it says so
    assert any("days ago: this is not today's forecast" in n for n in result.notes)
    assert all(np.isfinite(result.vol)) and "/ implied" not in result.text()


def test_the_command_prints_one_screen(capsys):
    assert main(["forecast", "--data", "eth_usdt_1h", "--implied", "eth_dvol_daily", "--at", "2026-04-06"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("eth_usdt_1h: last bar 2026-04-06 23:00 UTC") and len(lines) <= 12
    assert "lstm_iv (eth-1h-iv, trained 2019-01-01 .. 2022-12-31)" in out
    assert "/ implied" in out and "implied     69.1% (eth_dvol_daily: 2026-04-06's close" in out
    for label in ("1 day ", "7 days", "30 days"):
        assert any(line.strip().startswith(label.strip()) and line.strip().endswith(tuple("0123456789"))
                   for line in lines), label


def test_a_baseline_and_a_model_by_name(capsys):
    assert main(["forecast", "--data", "btc_usdt_1h", "--forecaster", "log_har", "--at", "2024-12-31"]) == 0
    assert "forecaster  log_har" in capsys.readouterr().out
    result = forecast_now("btc_usdt_1h", model="crypto-1h", at="2024-12-31")
    assert result.forecaster.startswith("lstm (crypto-1h") and all(np.isfinite(result.vol))


@pytest.mark.parametrize("argv, needle", [
    (["--forecaster", "har_iv"], "reads implied volatility: give --implied"),
    (["--forecaster", "nope"], "nope"),
    (["--model", "doge-1h"], "doge-1h"),
    (["--at", "2021-06-01"], "inside the training window of lstm (btc-1h"),
    (["--at", "2018-06-01"], "no bars up to that day"),
    (["--at", "2026-02-30"], "February 2026 has 28 days"),
    (["--model", "btc-1h", "--forecaster", "ewma"], "not allowed with argument"),
])
def test_what_cannot_be_forecast_is_one_error_line(capsys, argv, needle):
    try:
        code = main(["forecast", "--data", "btc_usdt_1h", *argv])
    except SystemExit as exc:
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and needle in err, err


def test_a_history_too_short_for_the_warm_up_says_so(btc_hourly):
    short = window(btc_hourly, "2026-03-01", "2026-04-01")
    with pytest.raises(ConfigError, match="warm-up; give a longer history"):
        forecast_now(short, forecaster="log_har")


def test_fetched_files_forecast_today(tmp_path, btc_hourly):
    """What a user who ran `data fetch` and `data fetch-implied` has: files in the shipped layouts."""
    bars = tmp_path / "btc.csv.gz"
    cut = window(btc_hourly, "2019-01-01", "2026-04-07")
    table = cut.copy()
    table.index = cut.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    table.to_csv(bars, index_label="timestamp")
    dvol = tmp_path / "btc_dvol.csv"
    dvol.write_bytes((load_implied_vol.__globals__["_resolve"]("btc_dvol_daily")).read_bytes())
    result = forecast_now(str(bars), implied=str(dvol))
    assert result.forecaster.startswith("lstm_iv (btc-1h-iv") and result.implied == pytest.approx(0.4899)


def test_a_forecaster_that_lacked_its_input_at_the_last_bar_says_so():
    result = forecast_now("btc_usdt_1h", implied="btc_dvol_daily")  # lstm_iv, DVOL 85 days old at the last bar
    assert any("forecast this bar without its input" in n and "masked" in n for n in result.notes)


def test_an_at_after_the_data_says_the_forecast_is_of_the_last_bar():
    result = forecast_now("btc_usdt_1h", forecaster="ewma", at="2030-01-01")
    assert result.last_bar == pd.Timestamp("2026-06-30 23:00", tz="UTC")
    assert any("ends before --at 2030-01-01" in n for n in result.notes)
    assert not any("not today's forecast" in n for n in result.notes)  # --at said which day


def test_a_bad_at_from_python_is_a_config_error():
    with pytest.raises(ConfigError, match="no month 13"):
        forecast_now("btc_usdt_1h", forecaster="ewma", at="2024-13-01")


def test_equity_sessions_line_up(capsys):
    assert main(["forecast", "--data", "arch:sp500", "--forecaster", "ewma", "--calendar", "equity"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if "session" in line]
    assert len(rows) == 3 and len({line.rindex("%") for line in rows}) == 1
