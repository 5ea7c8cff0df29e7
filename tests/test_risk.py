"""forecasters.risk: risk forecasts from any forecaster (forward returns, origins, pools, leakage guard)."""

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.core.errors import ConfigError, LeakageError
from lstm_strategies.features.realized import forecast_origins, forward_return
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.risk import risk_inputs
from lstm_strategies.stats.tail_risk import RiskSpec, default_spec


def test_forward_return_is_the_log_return_over_the_next_days(btc_hourly):
    df = window(btc_hourly, "2024-01-01", "2024-02-01")
    r = forward_return(df, 1)
    close = df["close"]
    i = 23                                     # 2024-01-01 23:00 -> 2024-01-02 23:00
    assert r.iloc[i] == pytest.approx(np.log(close.iloc[i + 24] / close.iloc[i]))
    assert r.iloc[-24:].isna().all() and np.isfinite(r.iloc[-25])
    # a missing bar at the window's end: the return runs to the last bar inside the window
    gap = df.drop(df.index[i + 24])
    assert forward_return(gap, 1).iloc[i] == pytest.approx(np.log(close.iloc[i + 23] / close.iloc[i]))
    week = forward_return(df, 7)
    assert week.iloc[i] == pytest.approx(np.log(close.iloc[i + 7 * 24] / close.iloc[i]))


def test_forward_return_on_the_equity_calendar_counts_sessions(btc_daily):
    r = forward_return(btc_daily, 5, "equity")
    assert r.iloc[0] == pytest.approx(np.log(btc_daily["close"].iloc[5] / btc_daily["close"].iloc[0]))
    assert r.iloc[-5:].isna().all()


def test_risk_forecast_is_causal_and_starts_with_the_fallback(btc_hourly):
    df = window(btc_hourly, "2021-01-01", "2023-01-01")
    full = make_forecaster("ewma").forecast_risk(df, 1)
    assert full.index.equals(df.index[forecast_origins(df, "2021-01-01")])
    assert full["source"].iloc[0] == "t" and full["source"].iloc[-1] == "fhs"
    first_fhs = full.index[full["source"] == "fhs"][0]
    assert full.loc[first_fhs, "n_pool"] == 250
    # a history cut at 2022-06-30 gives the same VaR/ES at every origin it has (returns complete after the cut
    # only ever enter later pools)
    cut = window(btc_hourly, "2021-01-01", "2022-07-01")
    part = make_forecaster("ewma").forecast_risk(cut, 1)
    cols = ["var_long", "es_long", "var_short", "es_short"]
    pd.testing.assert_frame_equal(part[cols], full.loc[part.index, cols])
    assert full["ret"].iloc[:-1].notna().all() and np.isnan(full["ret"].iloc[-1])


def test_start_end_and_the_seven_day_spec(btc_hourly):
    df = window(btc_hourly, "2021-01-01", "2023-01-01")
    f = make_forecaster("log_har")
    inputs = risk_inputs(f, df)
    week = f.forecast_risk(df, 7, start="2022-06-01", end="2022-06-30")
    assert len(week) == 30 and week.attrs["spec"] == default_spec(7)
    one = f.forecast_risk(df, 1, spec=RiskSpec(horizon=7, method="t"), start="2022-06-01")
    assert one.attrs["spec"].horizon == 1 and (one["source"] == "t").all()
    assert np.allclose(np.sqrt(inputs.loc[week.index, "var_7d"]), week["sigma"])
    with pytest.raises(ConfigError, match="horizons"):
        f.forecast_risk(df, 3)


@pytest.mark.slow
def test_a_trained_network_scores_out_of_sample_with_its_in_sample_pool(btc_hourly):
    df = window(btc_hourly, "2021-06-01", "2022-03-01")
    lstm = make_forecaster("lstm", model="btc-1h")
    with pytest.raises(LeakageError, match="in-sample"):
        lstm.forecast_risk(df, 1, start="2021-12-01")
    risk = lstm.forecast_risk(df, 1, start="2022-01-01")
    assert risk.index[0] == pd.Timestamp("2022-01-01 23:00", tz="UTC")
    assert risk.attrs["in_sample_pool_days"] > 20 and not risk.attrs["in_sample"]
    oos = lstm.forecast_risk(df, 1, spec=RiskSpec(pool_from="2022-01-01"), start="2022-01-01")
    assert (oos["source"] == "t").all()            # no out-of-sample residual pool yet: the t5 fallback
    assert lstm.forecast_risk(df, 1, start="2021-12-01", allow_in_sample=True).attrs["in_sample"]
