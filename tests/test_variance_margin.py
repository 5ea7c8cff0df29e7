"""trading.variance_margin: the variance ladders' ES collateral, vectorised and in the variance_swap book (the
straddles': test_straddle_margin.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import variance_config, window

from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.features.realized import forecast_origins, forward_realized_variance
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.market.implied import load_implied_vol
from lstm_strategies.trading import variance_margin as MG


def test_ladder_exposures_of_a_full_ladder():
    e = MG.ladder_exposures(np.ones(60), horizon=7)
    full = e.iloc[-1]
    assert full["A"] == pytest.approx(sum(min(7, 30 - k) / 7 for k in range(30)) / 30)
    assert full["C"] == pytest.approx(sum(30 - k for k in range(30)) / 900) == full["C_short"]
    assert full["B"] == pytest.approx(sum(max(23 - k, 0) for k in range(30)) / 900)
    assert MG.book_exposures([(1 / 30, k) for k in range(30)], 7) == pytest.approx(tuple(full[["A", "B", "C"]]))


def test_the_day_by_day_pool_is_the_vectorised_es():
    rng = np.random.default_rng(0)
    T, h = 400, 7
    f = 1e-3 * np.exp(rng.normal(0, 0.3, T))
    daily = f / h * np.exp(rng.normal(0, 0.5, T))
    cum = np.concatenate([[0.0], np.cumsum(daily)])[:T]
    iv = 60 * np.exp(np.cumsum(rng.normal(0, 0.03, T)))
    rho = np.full(T, np.nan)
    rho[: T - h] = (cum[h:] - cum[: T - h]) / f[: T - h]
    dlogiv = np.full(T, np.nan)
    dlogiv[: T - h] = np.log(iv[h:] / iv[: T - h])
    w = np.where(np.arange(T) > 150, 1.0, 0.0)
    expo = MG.ladder_exposures(w, h)
    want = MG.es_margin(expo, iv**2, f, rho, dlogiv, h, 0.975, window=120, min_scenarios=50)
    pool = MG.ScenarioPool(h, 120, 50)
    got = np.full(T, np.nan)
    for t in range(T):
        pool.add_day(t, f[t], cum[t], iv[t])
        got[t] = pool.es(*expo.loc[t, ["A", "B", "C"]], iv[t] ** 2, f[t], 0.975)
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert np.isnan(got[55]) and np.isfinite(got[60]) and got[100] == 0.0 and got[300] > 0


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2022-06-01", "2023-04-01")


def test_the_swap_book_holds_the_vectorised_es(bars):
    res = run_backtest(variance_config(params={"collateral": "es"}), bars)
    book = res.extras["book"].set_index("day")
    book.index = book.index.tz_localize(None)
    # the prototype's ladder: EWMA's 7-day forecast, the realised 7-day variance, DVOL's 7-day log move
    pos = forecast_origins(bars, "2022-06-01")
    days = bars.index[pos].tz_localize(None).floor("1D")
    f7 = make_forecaster("ewma").fit(bars).predict_batch(bars)[pos, 1]
    rv7 = forward_realized_variance(bars, 7).to_numpy()[pos]
    iv = load_implied_vol("btc_dvol_daily")
    iv.index = (iv.index - pd.Timedelta("1D")).tz_localize(None)
    dvol = iv.reindex(days).to_numpy() * 100
    dlogiv = np.full(len(days), np.nan)
    dlogiv[:-7] = np.log(dvol[7:] / dvol[:-7])
    w = np.where((days >= pd.Timestamp("2023-01-01")) & (days <= pd.Timestamp("2023-02-28")), 1.0, 0.0)
    want = pd.Series(MG.es_margin(MG.ladder_exposures(w, 7), dvol**2, f7, rv7 / f7, dlogiv, 7), index=days)
    got = book["margin"]
    np.testing.assert_allclose(got, want.reindex(got.index), rtol=1e-9)
    assert (got.loc["2023-01-15":"2023-02-28"] > 0).all()
    d = res.extras["es_collateral"]
    assert d["days_on_shock_margin"] == 0 and d["es_days"] == len(book)
    assert {"shock_margin", "shock_loss_over_margin"} <= set(book.columns)
    from lstm_strategies.strategies import strategy_class

    m = strategy_class("variance_swap").decision_metrics(res)
    assert m["collateral"] == "es" and "days_losing_more_than_shock_margin" in m


def test_es_collateral_needs_a_book_that_declares_it():
    from types import SimpleNamespace

    with pytest.raises(ConfigError, match="defined for variance swaps and hedged straddles"):
        MG.BookCollateral(SimpleNamespace(p=None, name="my_book", es_collateral_supported=False), None)
