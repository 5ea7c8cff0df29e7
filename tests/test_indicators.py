"""Backtrader indicators: same numbers in every Backtrader mode, leakage guard, feed checks."""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from conftest import run_ewma_on_a_stock_feed, window

from lstm_strategies.core.errors import ConfigError, DataError, LeakageError
from lstm_strategies.data.load import resample_ohlcv
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.ewma import EWMAForecaster
from lstm_strategies.forecasters.garch import GARCHForecaster
from lstm_strategies.forecasters.har import LogHARForecaster
from lstm_strategies.market.implied import load_implied_vol
from lstm_strategies.models.lstm import LSTMForecaster
from lstm_strategies.trading.feed import to_bt_feed
from lstm_strategies.trading.indicators import (
    EWMAVolatility,
    GARCHVolatility,
    HARIVVolatility,
    LogHARVolatility,
    LSTMIVVolatility,
    LSTMVolatility,
    VolatilityForecast,
)

CASES = {
    "lstm": (LSTMVolatility, {"model": "btc-1h", "head": "frozen"},
             lambda: LSTMForecaster("btc-1h", head="frozen")),
    "lstm_refit_head": (LSTMVolatility, {"model": "btc-1h", "min_train_days": 70, "refit_every_days": 14},
                        lambda: LSTMForecaster("btc-1h", min_train_days=70, refit_every_days=14)),
    "lstm_shrink_head": (LSTMVolatility, {"model": "crypto-1h", "head": "shrink"},
                         lambda: LSTMForecaster("crypto-1h", head="shrink")),
    "ewma": (EWMAVolatility, {}, lambda: EWMAForecaster()),
    "log_har": (LogHARVolatility, {"min_train_days": 70, "refit_every_days": 14},
                lambda: LogHARForecaster(min_train_days=70, refit_every_days=14)),
    "garch": (GARCHVolatility, {"min_train_days": 80, "refit_every_days": 14},
              lambda: GARCHForecaster(min_train_days=80, refit_every_days=14)),
}
# the forecasters that read implied volatility, given as a series (the indicator's `inputs`)
DVOL = load_implied_vol("btc_dvol_daily")
IV = {"implied_vol": DVOL}
SMALL_HAR = {"min_train_days": 70, "refit_every_days": 14}
CASES |= {
    "lstm_iv": (LSTMIVVolatility, {**SMALL_HAR, "inputs": IV, "allow_in_sample": True},
                lambda: make_forecaster("lstm_iv", **SMALL_HAR).set_inputs(**IV)),
    "har_iv": (HARIVVolatility, {**SMALL_HAR, "min_iv_days": 20, "inputs": IV},
               lambda: make_forecaster("har_iv", **SMALL_HAR, min_iv_days=20).set_inputs(**IV)),
    "implied": (VolatilityForecast, {"forecaster": "implied", "inputs": IV},
                lambda: make_forecaster("implied").set_inputs(**IV)),
    "implied_level": (VolatilityForecast, {"forecaster": "implied_level", "forecaster_params": {"window_days": 30},
                                           "inputs": IV},
                      lambda: make_forecaster("implied_level", window_days=30).set_inputs(**IV)),
}
LINES = ["vol", "var", "vol_1d", "vol_7d", "vol_30d", "var_1d", "var_7d", "var_30d"]
MATRIX = [(runonce, preload, exactbars) for runonce in (True, False) for preload in (True, False)
          for exactbars in (0, -1, -2, 1)]


@pytest.fixture(scope="module")
def feed_frame(btc_hourly):
    return window(btc_hourly, "2022-01-01", "2022-04-10")


def run_indicator(df, cls, params, runonce=True, preload=True, exactbars=0):
    values = []

    class Record(bt.Strategy):
        def __init__(self):
            self.ind = cls(self.data, **params)

        def next(self):
            values.append((self.data.datetime[0], *(getattr(self.ind, line)[0] for line in LINES)))

    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload, exactbars=exactbars)
    cerebro.adddata(to_bt_feed(df))
    cerebro.addstrategy(Record)
    strat = cerebro.run()[0]
    return np.array(values), strat.ind


@pytest.fixture(scope="module")
def expected(feed_frame):
    return {name: factory().forecast_series(feed_frame) for name, (_, _, factory) in CASES.items()}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("runonce, preload, exactbars", MATRIX)
def test_every_backtrader_mode_gives_the_forecaster_numbers(feed_frame, expected, name, runonce, preload,
                                                            exactbars):
    cls, params, _ = CASES[name]
    values, ind = run_indicator(feed_frame, cls, params, runonce, preload, exactbars)
    want = expected[name].assign(vol=lambda f: f["vol_1d"], var=lambda f: f["var_1d"])
    start = len(feed_frame) - len(values)  # strategy starts at the indicator's minperiod
    assert start == ind.forecaster.lookback - 1
    for j, line in enumerate(LINES, start=1):  # every line of the term structure, in every mode
        np.testing.assert_allclose(values[:, j], want[line].to_numpy()[start:], rtol=1e-6, equal_nan=True,
                                   err_msg=line)
    assert np.isfinite(values[-50:, 1:]).all()


def test_truncated_run_equals_full_run_up_to_the_cut(feed_frame):
    cut = feed_frame.index[1100]
    head = feed_frame[feed_frame.index <= cut]
    head.attrs = dict(feed_frame.attrs)
    full, _ = run_indicator(feed_frame, LSTMVolatility, {"model": "btc-1h", "head": "frozen"})
    part, _ = run_indicator(head, LSTMVolatility, {"model": "btc-1h", "head": "frozen"})
    np.testing.assert_array_equal(full[: len(part)], part)


def test_leakage_guard_names_the_overlapping_dates(btc_hourly):
    df = window(btc_hourly, "2021-10-01", "2022-01-20")
    frozen = {"model": "btc-1h", "head": "frozen"}
    with pytest.raises(LeakageError, match=r"2021-11-0\d .. 2021-12-31 are in-sample"):
        run_indicator(df, LSTMVolatility, frozen)
    with pytest.raises(LeakageError, match="in-sample"):
        run_indicator(df, LSTMVolatility, frozen, runonce=False)
    values, ind = run_indicator(df, LSTMVolatility, {**frozen, "allow_in_sample": True})
    assert ind.in_sample and np.isfinite(values[-1, 1])
    values, ind = run_indicator(df, LSTMVolatility, {**frozen, "start": "2022-01-01"})
    streamed, _ = run_indicator(df, LSTMVolatility, {**frozen, "start": "2022-01-01"}, runonce=False)
    # next mode skips the LSTM's work long before `start`; the forecasts from `start` on are the same
    np.testing.assert_allclose(streamed[:, 1:], values[:, 1:], rtol=1e-6, equal_nan=True)
    assert not ind.in_sample
    dates = pd.to_datetime([bt.num2date(v) for v in values[:, 0]])
    assert np.isnan(values[dates < "2022-01-01", 1]).all()
    assert np.isfinite(values[dates >= "2022-01-01", 1]).all()


def test_feed_must_match_the_model_timeframe(btc_hourly):
    daily = resample_ohlcv(window(btc_hourly, "2022-01-01", "2022-12-31"), "1D")
    with pytest.raises(DataError, match=r"has 1D bars but .* expects 1h bars: build the feed with timeframe="):
        run_indicator(daily, LSTMVolatility, {"model": "btc-1h"})


def test_vol_at_interpolates_the_lines_and_horizon_picks_the_vol_line(feed_frame):
    values, ind = run_indicator(feed_frame.iloc[:1500], LSTMVolatility, {"model": "btc-1h", "head": "frozen",
                                                                         "horizon": 7})
    vol, vol_1d, vol_7d, vol_30d, var_7d = values[-1, 1], values[-1, 3], values[-1, 4], values[-1, 5], values[-1, 7]
    assert vol == vol_7d
    assert ind.vol_at(7) == pytest.approx(vol_7d)
    assert ind.variance_at(7) == pytest.approx(var_7d)
    assert min(vol_7d, vol_30d) <= ind.vol_at(15) <= max(vol_7d, vol_30d)
    assert ind.vol_at(1) == pytest.approx(vol_1d)
    with pytest.raises(ConfigError, match=r"forecasts the horizons \[1, 7, 30\]"):
        run_indicator(feed_frame.iloc[:200], LSTMVolatility, {"model": "btc-1h", "head": "frozen", "horizon": 3})


def test_generic_indicator_takes_a_name_a_class_or_an_instance(feed_frame):
    frame = feed_frame.iloc[:1200]
    by_alias, _ = run_indicator(frame, EWMAVolatility, {"lam": 0.97})
    by_name, _ = run_indicator(frame, VolatilityForecast, {"forecaster": "ewma", "forecaster_params": {"lam": 0.97}})
    by_class, _ = run_indicator(frame, VolatilityForecast, {"forecaster": EWMAForecaster,
                                                            "forecaster_params": {"lam": 0.97}})
    instance = EWMAForecaster(lam=0.97)
    by_instance, ind = run_indicator(frame, VolatilityForecast, {"forecaster": instance})
    for other in (by_name, by_class, by_instance):
        np.testing.assert_array_equal(by_alias, other)
    assert ind.forecaster is not instance and instance.timeframe is None  # the caller's object is untouched


def test_bad_bars_in_a_stock_feed_are_refused(feed_frame):
    """A bar that skipped the loader is checked: the same DataError in both Backtrader modes."""
    bad = feed_frame.iloc[:800].copy()
    bad.iloc[500, bad.columns.get_loc("close")] = -1.0
    for runonce in (True, False):
        with pytest.raises(DataError, match="not positive|invalid"):
            run_ewma_on_a_stock_feed(bad, runonce)


def test_baselines_adapt_to_the_feed_timeframe(btc_hourly):
    daily = resample_ohlcv(window(btc_hourly, "2022-01-01", "2022-12-31"), "1D")
    values, ind = run_indicator(daily, EWMAVolatility, {})
    assert ind.forecaster.timeframe == "1D"
    assert 0.2 < values[-1, 1] < 1.5


def test_unknown_names_and_params_are_config_errors(feed_frame):
    cases = (({"forecaster": "lstmm"}, "forecaster 'lstmm' is unknown"),
             ({"forecaster": "ewma", "forecaster_params": {"lambda_": 0.9}}, r"does not take \['lambda_'\]"))
    for params, msg in cases:
        with pytest.raises(ConfigError, match=msg):
            run_indicator(feed_frame.iloc[:100], VolatilityForecast, params)


def test_indicator_plots_as_its_own_subplot(feed_frame, tmp_path):
    from lstm_strategies.core.plotting import configure_matplotlib

    configure_matplotlib()
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(to_bt_feed(feed_frame.iloc[:1500]))

    class WithForecast(bt.Strategy):
        def __init__(self):
            LSTMVolatility(self.data, model="btc-1h")

    cerebro.addstrategy(WithForecast)
    cerebro.run()
    figures = cerebro.plot(iplot=False, style="line")
    fig = figures[0][0]
    assert len(fig.axes) >= 2  # price and the forecast subplot
    fig.savefig(tmp_path / "plot.png")
    assert (tmp_path / "plot.png").stat().st_size > 10_000
    assert not math.isnan(0.0)


def test_an_equity_model_fills_every_line_of_its_term_structure():
    """spx-1d forecasts 1, 5 and 21 sessions: a day, a week and a month, on vol_1d, vol_7d and vol_30d."""
    from lstm_strategies.data.datasets import load_dataset

    df = load_dataset("arch:sp500")
    df = df[(df.index >= "2011-01-01") & (df.index < "2012-01-01")]
    df.attrs["timeframe"] = "1D"
    for runonce in (True, False):
        values, ind = run_indicator(df, LSTMVolatility, {"model": "spx-1d"}, runonce=runonce)
        assert np.isfinite(values[-50:, 1:]).all(), f"runonce={runonce}: a line is empty"
        vol = dict(zip(LINES, values[-1, 1:], strict=True))
        assert vol["vol"] == vol["vol_1d"]  # the default horizon is the shortest
        assert ind.vol_at(5) == pytest.approx(vol["vol_7d"]) and ind.vol_at(21) == pytest.approx(vol["vol_30d"])


def test_an_input_the_forecaster_declares_must_be_given_and_others_are_ignored(feed_frame):
    with pytest.raises(ConfigError, match=r"har_iv forecaster reads the exogenous input 'implied_vol'"):
        run_indicator(feed_frame.iloc[:100], HARIVVolatility, {})
    with_iv, _ = run_indicator(feed_frame.iloc[:900], EWMAVolatility, {"inputs": IV})
    without, _ = run_indicator(feed_frame.iloc[:900], EWMAVolatility, {})
    np.testing.assert_array_equal(with_iv, without)


def test_a_refusing_forecaster_refuses_in_both_modes(btc_hourly):
    """Bars after the series' last value (2026-04-06's close): raw implied refuses them, in either mode."""
    df = window(btc_hourly, "2026-04-01", "2026-04-20")
    for runonce in (True, False):
        with pytest.raises(DataError, match=r"no implied_vol value known .* refuses to forecast without it"):
            run_indicator(df, VolatilityForecast, {"forecaster": "implied", "inputs": IV}, runonce=runonce)


def test_the_readme_example_with_implied_vol_runs(capsys):
    """README's indicator example (a series given to the forecaster), run as it is written there."""
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    block = next(b.split("```", 1)[0] for b in readme.split("```python")[1:] if "LSTMIVVolatility(self.data" in b)
    import sys
    import types

    module = types.ModuleType("readme_example")  # Backtrader looks its strategy's module up in sys.modules
    sys.modules[module.__name__] = module
    try:
        exec(compile(block, "README.md", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    out = capsys.readouterr().out
    assert "2023-02-28 23:00:00: LSTM-IV next-day vol" in out and "bars without a DVOL value: none" in out
    # 0.3.0's example read too short a history for the refit head (180 days) and printed "vol nan%"
    import re

    vol = float(re.search(r"LSTM-IV next-day vol ([^%]+)%", out).group(1))
    assert 10 < vol < 200, out
