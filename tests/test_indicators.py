"""Backtrader indicators: same numbers in every Backtrader mode, leakage guard, feed checks."""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.btfeed import to_bt_feed
from lstm_strategies.data import resample_ohlcv
from lstm_strategies.errors import DataError, LeakageError
from lstm_strategies.forecasters.ewma import EWMAForecaster
from lstm_strategies.forecasters.garch import GARCHForecaster
from lstm_strategies.forecasters.har import HARForecaster
from lstm_strategies.forecasters.lstm import load_pretrained
from lstm_strategies.indicators import (
    EWMAVolatility,
    GARCHVolatility,
    HARVolatility,
    LSTMVolatility,
    volatility_indicator,
)

CASES = {
    "lstm": (LSTMVolatility, {"model": "btc-1h"}, lambda: load_pretrained("btc-1h")),
    "ewma": (EWMAVolatility, {}, lambda: EWMAForecaster()),
    "log_har": (HARVolatility, {"min_train_days": 20, "refit_every_days": 7},
                lambda: HARForecaster(min_train_days=20, refit_every_days=7)),
    "garch": (GARCHVolatility, {"min_train_days": 40, "refit_every_days": 10},
              lambda: GARCHForecaster(min_train_days=40, refit_every_days=10)),
}
MATRIX = [(runonce, preload, exactbars) for runonce in (True, False) for preload in (True, False)
          for exactbars in (0, -1, -2, 1)]


@pytest.fixture(scope="module")
def feed_frame(btc_hourly):
    return window(btc_hourly, "2022-01-01", "2022-03-01")


def run_indicator(df, cls, params, runonce=True, preload=True, exactbars=0):
    values = []

    class Record(bt.Strategy):
        def __init__(self):
            self.ind = cls(self.data, **params)

        def next(self):
            values.append((self.data.datetime[0], self.ind.vol[0], self.ind.var[0]))

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
    want = expected[name]
    start = len(feed_frame) - len(values)  # strategy starts at the indicator's minperiod
    assert start == ind.forecaster.lookback - 1
    np.testing.assert_allclose(values[:, 1], want["vol"].to_numpy()[start:], rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(values[:, 2], want["var"].to_numpy()[start:], rtol=1e-6, equal_nan=True)
    assert np.isfinite(values[-50:, 1]).all()


def test_truncated_run_equals_full_run_up_to_the_cut(feed_frame):
    cut = feed_frame.index[1100]
    head = feed_frame[feed_frame.index <= cut]
    head.attrs = dict(feed_frame.attrs)
    full, _ = run_indicator(feed_frame, LSTMVolatility, {"model": "btc-1h"})
    part, _ = run_indicator(head, LSTMVolatility, {"model": "btc-1h"})
    np.testing.assert_array_equal(full[: len(part)], part)


def test_leakage_guard_names_the_overlapping_dates(btc_hourly):
    df = window(btc_hourly, "2021-10-01", "2022-01-20")
    with pytest.raises(LeakageError, match=r"2021-11-0\d .. 2021-12-31 are in-sample"):
        run_indicator(df, LSTMVolatility, {"model": "btc-1h"})
    with pytest.raises(LeakageError, match="in-sample"):
        run_indicator(df, LSTMVolatility, {"model": "btc-1h"}, runonce=False)
    values, ind = run_indicator(df, LSTMVolatility, {"model": "btc-1h", "allow_in_sample": True})
    assert ind.in_sample and np.isfinite(values[-1, 1])
    values, ind = run_indicator(df, LSTMVolatility, {"model": "btc-1h", "start": "2022-01-01"})
    assert not ind.in_sample
    dates = pd.to_datetime([bt.num2date(v) for v in values[:, 0]])
    assert np.isnan(values[dates < "2022-01-01", 1]).all()
    assert np.isfinite(values[dates >= "2022-01-01", 1]).all()


def test_feed_must_match_the_model_timeframe(btc_hourly):
    daily = resample_ohlcv(window(btc_hourly, "2022-01-01", "2022-12-31"), "1D")
    with pytest.raises(DataError, match=r"has 1D bars but .* expects 1h bars: pass timeframe="):
        run_indicator(daily, LSTMVolatility, {"model": "btc-1h"})


def test_baselines_adapt_to_the_feed_timeframe(btc_hourly):
    daily = resample_ohlcv(window(btc_hourly, "2022-01-01", "2022-12-31"), "1D")
    values, ind = run_indicator(daily, EWMAVolatility, {})
    assert ind.forecaster.timeframe == "1D"
    assert 0.2 < values[-1, 1] < 1.5


def test_factory_rejects_unknown_names_and_params(feed_frame):
    from lstm_strategies.errors import ConfigError

    class Probe(bt.Strategy):
        def __init__(self):
            volatility_indicator(self.p.name, self.data, **self.p.kw)

        params = (("name", "ewma"), ("kw", {}))

    for name, kw, msg in (("lstmm", {}, "forecaster 'lstmm' is unknown"),
                          ("ewma", {"lambda_": 0.9}, r"does not take \['lambda_'\]")):
        cerebro = bt.Cerebro()
        cerebro.adddata(to_bt_feed(feed_frame.iloc[:100]))
        cerebro.addstrategy(Probe, name=name, kw=kw)
        with pytest.raises(ConfigError, match=msg):
            cerebro.run()


def test_indicator_plots_as_its_own_subplot(feed_frame, tmp_path):
    from lstm_strategies.reports import configure_matplotlib

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
