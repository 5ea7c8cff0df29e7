"""The research's straddle simulator (research/straddles.py): the parts add up, a band that never trades leaves no
hedge, and a tighter band trades more."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.research.straddles import book_daily, hourly_grid, simulate
from lstm_strategies.trading.hedging import BandPolicy


@pytest.fixture(scope="module")
def grid(btc_hourly, btc_dvol):
    from lstm_strategies.market.implied import ImpliedVolLookup

    df = window(btc_hourly, "2023-01-01", "2023-06-01")
    iv, _ = ImpliedVolLookup(btc_dvol, "3D").values_at(df.index.asi8 + pd.Timedelta("1h").value)
    return hourly_grid(df, iv, {"fvol": np.full(len(df), 0.5)})


DAYS = pd.date_range("2023-01-05", "2023-03-31")


def test_the_daily_pnl_adds_up_to_each_straddles_net(grid):
    tr, daily, daily_long = simulate(grid, DAYS, BandPolicy("ww", risk_aversion=30, check="bar"))
    np.testing.assert_allclose(daily.sum(axis=1), tr["net"], atol=1e-12)
    np.testing.assert_allclose(daily_long.sum(axis=1), tr["net_long"], atol=1e-12)
    parts = tr["premium"] - tr["option_fees"] - tr["payoff"] + tr["hedge_gain"] - tr["hedge_cost"] - tr["delivery_fee"]
    np.testing.assert_allclose(tr["net"], parts)
    book = book_daily(daily, daily_long, np.ones(len(DAYS)), DAYS)
    assert book.sum() == pytest.approx(tr["net"].sum() / 30)


def test_an_unreachable_band_never_hedges_and_tighter_bands_trade_more(grid):
    never, _, _ = simulate(grid, DAYS, BandPolicy("fixed", band=1e9))
    assert (never["hedge_trades"] == 0).all() and (never["hedge_gain"] == 0).all() and (never["hedge_cost"] == 0).all()
    costs = [simulate(grid, DAYS, BandPolicy("ww", risk_aversion=g, check="bar"))[0]["hedge_cost"].mean()
             for g in (3, 30, 300)]
    assert costs[0] < costs[1] < costs[2]
    at_forecast, _, _ = simulate(grid, DAYS, BandPolicy("ww", risk_aversion=30, check="bar", vol="forecast"),
                                 hedge_vol="fvol")
    assert not np.allclose(at_forecast["hedge_gain"], simulate(grid, DAYS, BandPolicy(
        "ww", risk_aversion=30, check="bar"))[0]["hedge_gain"])
