"""trading.straddle_margin: the hedged straddles' ES collateral, priced in full per scenario, and in the book."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import variance_config, window

from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.features.realized import forecast_origins
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.market.implied import load_implied_vol
from lstm_strategies.trading import pricing
from lstm_strategies.trading.straddle_margin import straddle_scenario_es

RNG = np.random.default_rng(0)
Z, DLOGIV = RNG.standard_normal(500), RNG.normal(0, 0.1, 500)
F7 = 0.5**2 * 7 / 365


def straddle(spot, strike, years, vol):
    return pricing.price("call", spot, strike, years, vol) + pricing.price("put", spot, strike, years, vol)


def es(loss, level=0.975):
    return loss[loss >= np.quantile(loss, level)].mean()


def test_one_short_straddle_is_priced_in_full_in_each_scenario():
    s_star, iv_star = 100 * np.exp(Z * math.sqrt(F7)), 0.5 * np.exp(DLOGIV)
    loss = straddle(s_star, 100.0, 23 / 365, iv_star) - straddle(100.0, 100.0, 30 / 365, 0.5)
    got = straddle_scenario_es(100.0, 0.5, F7, [100.0], [-1.0], [30 / 365], 0.0, 7, Z, DLOGIV, 0.975)
    assert got == pytest.approx(es(loss), rel=1e-12) and got > 0


def test_the_hedge_a_straddle_expiring_inside_the_window_and_an_empty_book():
    s_star = 100 * np.exp(Z * math.sqrt(F7))
    hedge_only = straddle_scenario_es(100.0, 0.5, F7, [], [], [], 2.0, 7, Z, DLOGIV, 0.975)
    assert hedge_only == pytest.approx(es(-2.0 * (s_star - 100.0)), rel=1e-12)
    expiring = straddle_scenario_es(100.0, 0.5, F7, [90.0], [-1.0], [3 / 365], 0.0, 7, Z, DLOGIV, 0.975)
    intrinsic = np.abs(s_star - 90.0) - straddle(100.0, 90.0, 3 / 365, 0.5)   # at expiry: |S* - K|
    assert expiring == pytest.approx(es(intrinsic), rel=1e-12)
    assert straddle_scenario_es(100.0, 0.5, F7, [], [], [], 0.0, 7, Z, DLOGIV, 0.975) == 0.0
    calm = straddle_scenario_es(100.0, 0.5, F7, [100.0], [1.0], [30 / 365], 0.0, 7, Z * 0, DLOGIV * 0, 0.975)
    assert calm > 0   # a long straddle left alone for a week loses its time value in every scenario


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2022-06-01", "2023-04-01")


def test_the_straddle_book_holds_the_es_of_its_live_straddles(bars):
    """No hedge (a band no delta reaches), so the book is its straddles: the margin each day equals the ES priced
    from scenarios built here from the bars, EWMA's 7-day forecasts and DVOL."""
    res = run_backtest(variance_config("hedged_straddle", {"collateral": "es", "band": 10.0}), bars)
    book = res.extras["book"].set_index("day")
    book.index = book.index.tz_localize(None)
    trades = res.extras["trades"]
    trades["day"] = pd.to_datetime(trades["day"]).dt.tz_localize(None)
    pos = forecast_origins(bars, "2022-06-01")
    days = bars.index[pos].tz_localize(None).floor("1D")
    f7 = make_forecaster("ewma").fit(bars).predict_batch(bars)[pos, 1]
    logp = np.log(bars["close"].to_numpy()[pos])
    iv = load_implied_vol("btc_dvol_daily")
    iv.index = (iv.index - pd.Timedelta("1D")).tz_localize(None)
    dvol = iv.reindex(days).to_numpy()
    z = np.full(len(days), np.nan)
    z[:-7] = (logp[7:] - logp[:-7]) / np.sqrt(f7[:-7])
    dlogiv = np.full(len(days), np.nan)
    dlogiv[:-7] = np.log(dvol[7:] / dvol[:-7])
    checked = 0
    for t, day in enumerate(days):
        if day not in book.index or day < pd.Timestamp("2023-01-05"):
            continue
        ok = np.flatnonzero(np.isfinite(z[: t - 6]) & np.isfinite(dlogiv[: t - 6]))[-500:]
        live = trades[(trades["day"] <= day) & (trades["day"] > day - pd.Timedelta(days=30)) & (trades["w"] != 0)]
        k = (day - live["day"]).dt.days.to_numpy()
        want = straddle_scenario_es(math.exp(logp[t]), dvol[t], f7[t], live["strike"].to_numpy(),
                                    -live["units"].to_numpy(), (30 - k) / 365, 0.0, 7, z[ok], dlogiv[ok], 0.975)
        assert book.loc[day, "margin"] == pytest.approx(want, rel=1e-9), day
        checked += 1
    assert checked > 60
    summary = res.extras["es_collateral"]
    assert summary["days_on_shock_margin"] == 0 and summary["es_days"] == len(book)
    assert (book.loc["2023-01-15":"2023-02-28", "margin"] > 0).all()
    assert (book["shock_margin"] > 0).any() and not np.allclose(book["margin"], book["shock_margin"])


@pytest.mark.parametrize("config", ["btc_straddle_es_margin.toml", "btc_variance_ladder_es_margin.toml"])
def test_the_shipped_es_configs_run_with_the_lstm_iv_reading_the_configs_implied_series(config):
    """The collateral's own forecaster (the LSTM-IV) reads [data] implied, as the book's forecaster would."""
    from lstm_strategies.api import load_config, run

    cfg = load_config(f"backtests/{config}", **{"data.start": "2021-06-01", "data.end": "2023-03-15",
                                                 "backtest.start": "2023-01-01", "report.tearsheet": False})
    summary = run(cfg).backtest.extras["es_collateral"]
    assert summary["es_days"] > 60 and summary["days_on_shock_margin"] == 0
