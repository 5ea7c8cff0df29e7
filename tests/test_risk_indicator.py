"""trading.risk_indicator: VaR/ES lines agree in both Backtrader modes and with forecast_risk."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.core.errors import ConfigError, LeakageError
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.stats.tail_risk import RiskSpec, default_spec
from lstm_strategies.trading.feed import bt_dates_to_index, to_bt_feed
from lstm_strategies.trading.indicators import VolatilityForecast
from lstm_strategies.trading.risk_indicator import RISK_LINES, VolatilityRisk

SPECS = {"spec_1d": RiskSpec(window=120, min_residuals=100), "spec_7d": default_spec(7, window=150, min_residuals=120)}


def run(df, runonce: bool, **params) -> tuple[pd.DataFrame, VolatilityRisk]:
    rows = []

    class Record(bt.Strategy):
        def __init__(self):
            self.risk = VolatilityRisk(self.data, **params)

        def next(self):
            rows.append([self.data.datetime[0], *(getattr(self.risk, line)[0] for line in RISK_LINES)])

    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(to_bt_feed(df))
    cerebro.addstrategy(Record)
    strat = cerebro.run()[0]
    values = np.array(rows)
    return pd.DataFrame(values[:, 1:], index=bt_dates_to_index(values[:, 0]), columns=list(RISK_LINES)), strat.risk


@pytest.fixture(scope="module")
def frame(btc_hourly):
    return window(btc_hourly, "2021-09-01", "2022-06-01")


def test_batched_and_streamed_lines_are_forecast_risk(frame):
    params = {"forecaster": "ewma", "start": "2022-01-01", **SPECS}
    batched, ind = run(frame, True, **params)
    streamed, _ = run(frame, False, **params)
    np.testing.assert_allclose(streamed.to_numpy(), batched.to_numpy(), rtol=1e-9, equal_nan=True)
    f = make_forecaster("ewma")
    for span, h in (("1d", 1), ("7d", 7)):
        want = f.forecast_risk(frame, h, SPECS[f"spec_{span}"], start="2022-01-01")
        got = batched.loc[want.index]
        for col in ("var_long", "es_long", "var_short", "es_short"):
            np.testing.assert_allclose(got[f"{col.split('_')[0]}_{span}_{col.split('_')[1]}"], want[col], rtol=1e-9)
        assert set(want["source"]) == {"t", "fhs"}          # the t5 fallback, then the pool
    assert batched.loc[: "2021-12-31 23:00"].isna().all().all()          # nothing published before start
    # an intraday bar carries the last origin's values
    origin = pd.Timestamp("2022-03-01 23:00", tz="UTC")
    assert (batched.loc["2022-03-02 05:00"] == batched.loc[origin]).all()
    assert batched.loc[origin, "var_1d_long"] != batched.loc[origin - pd.Timedelta("1D"), "var_1d_long"]
    assert not ind.in_sample


def test_a_shared_forecast_and_its_checks(frame):
    class Shared(bt.Strategy):
        def __init__(self):
            self.fc = VolatilityForecast(self.data, forecaster="ewma")
            self.risk = VolatilityRisk(self.data, forecast=self.fc, start="2022-01-01", **SPECS)

        def stop(self):
            self.last = self.risk.var_1d_long[0]

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(to_bt_feed(frame))
    cerebro.addstrategy(Shared)
    shared = cerebro.run()[0].last
    alone, _ = run(frame, True, forecaster="ewma", start="2022-01-01", **SPECS)
    assert shared == pytest.approx(alone["var_1d_long"].iloc[-1])

    class Published(bt.Strategy):
        def __init__(self):
            VolatilityRisk(self.data, forecast=VolatilityForecast(self.data, forecaster="ewma", start="2022-01-01"))

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(to_bt_feed(frame))
    cerebro.addstrategy(Published)
    with pytest.raises(ConfigError, match="start=None"):
        cerebro.run()
    with pytest.raises(ConfigError, match="batch-only"):
        run(frame, True, forecaster="ewma", spec_1d=RiskSpec(method="t", dof="fit"))


@pytest.mark.slow
def test_a_network_publishes_out_of_sample_only(btc_hourly):
    df = window(btc_hourly, "2021-11-10", "2022-01-08")
    lstm = {"forecaster": "lstm", "forecaster_params": {"model": "btc-1h", "head": "frozen"}}
    for runonce in (True, False):
        with pytest.raises(LeakageError, match="in-sample"):
            run(df, runonce, **lstm, start="2021-12-20")
    batched, ind = run(df, True, **lstm, start="2022-01-01")
    streamed, _ = run(df, False, **lstm, start="2022-01-01")
    np.testing.assert_allclose(streamed.to_numpy(), batched.to_numpy(), rtol=1e-6, equal_nan=True)
    assert np.isfinite(batched["var_1d_long"].iloc[-1]) and not ind.in_sample
