"""The delta-hedged straddle: priced at implied vol, hedged through orders, its P&L split exactly by straddle."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import variance_config, window
from lstm_strategies.strategies import HedgedStraddleStrategy

from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.trading import pricing


def config(params=None, **backtest):
    return variance_config("hedged_straddle", {"entries_until": "2023-03-15", **(params or {})}, **backtest)


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2022-12-01", "2023-04-20")


@pytest.fixture(scope="module")
def roll(bars):
    return run_backtest(config({"mode": "roll"}), bars)


@pytest.fixture(scope="module")
def ladder(bars):
    return run_backtest(config(), bars)


def settled(result) -> pd.DataFrame:
    trades = result.extras["trades"]
    return trades[trades["w"] != 0]


def test_each_straddle_is_priced_at_implied_vol_with_the_venues_fees(roll, bars):
    trades = settled(roll)
    assert len(trades) == 3 and trades["net"].notna().all()
    first = trades.iloc[0]
    spot, vol = first["spot"], (first["implied_vol"] - 1.25) / 100
    legs = [float(pricing.price(kind, spot, spot, 30 / 365, vol)) for kind in ("call", "put")]
    assert first["strike"] == spot == bars["close"]["2023-01-01 23:00"]
    assert first["premium"] == pytest.approx(sum(legs) / spot)
    assert first["option_fees"] == pytest.approx(sum(min(0.0003 * spot, 0.125 * leg) for leg in legs) / spot)
    expiry = bars["close"]["2023-01-31 23:00"]
    assert first["expiry_value"] == pytest.approx(abs(expiry - spot) / spot)
    assert first["delivery_fee"] == pytest.approx(min(0.00015 * expiry, 0.125 * abs(expiry - spot)) / spot)
    assert first["units"] == pytest.approx(100_000 / spot)        # notional 1: the capital in underlying


@pytest.mark.parametrize("book", ["roll", "ladder"])
def test_the_straddles_parts_add_up_to_the_account(book, request):
    """premium - fees - value at expiry - delivery fee + hedge gains - hedge costs, over every straddle, is
    exactly what the account made: the hedge's orders are attributed back to the straddles in full."""
    res = request.getfixturevalue(book)
    trades = settled(res)
    assert trades["net"].notna().all() and res.extras["open_positions"] == 0
    parts = trades["premium"] - trades["option_fees"] - trades["expiry_value"] - trades["delivery_fee"] \
        + trades["hedge_gain"] - trades["hedge_cost"]
    np.testing.assert_allclose(trades["net"], parts, atol=1e-12)
    account = res.records["value"].iloc[-1] - 100_000
    assert (trades["net"] * trades["units"] * trades["strike"]).sum() == pytest.approx(account, abs=1e-6)
    assert res.extras["book"]["pnl"].sum() == pytest.approx(account, abs=1e-6)
    # per trade, as a fraction of the capital: a full-notional (w = 1) straddle covers the capital
    decision = HedgedStraddleStrategy.decision_metrics(res)
    assert decision["pnl_per_trade"] == pytest.approx(trades["net"].mean())
    assert decision["straddle"]["net_per_trade"] == pytest.approx(trades["net"].mean())


def test_the_hedge_trades_through_the_broker_and_pays_its_costs(ladder, bars):
    trades = settled(ladder)
    assert ladder.extras["orders"] > 20 and ladder.extras["commission"] > 0 and ladder.extras["slippage"] > 0
    costs = (trades["hedge_cost"] * trades["units"] * trades["strike"]).sum()
    assert costs == pytest.approx(ladder.extras["commission"] + ladder.extras["slippage"], rel=1e-9)
    # each straddle rehedges on its own band; the book nets the day's changes into one order
    assert trades["hedge_trades"].sum() > ladder.extras["orders"]
    free = run_backtest(config({"mode": "roll"}, commission=0.0, slippage=0.0), bars)
    assert settled(free)["hedge_cost"].abs().max() < 1e-12


def test_a_wider_band_rehedges_less(bars, roll):
    wide = run_backtest(config({"mode": "roll", "band": 0.3}), bars)
    assert settled(wide)["hedge_trades"].sum() < settled(roll)["hedge_trades"].sum()


def test_a_long_straddle_pays_the_premium(bars):
    res = run_backtest(config({"mode": "roll", "direction": "long", "entries_until": "2023-01-01"}), bars)
    first = settled(res).iloc[0]
    spot = first["spot"]
    vol = (first["implied_vol"] + 1.25) / 100
    assert first["premium"] == pytest.approx(sum(float(pricing.price(k, spot, spot, 30 / 365, vol))
                                                 for k in ("call", "put")) / spot)
    assert first["net"] == pytest.approx(first["expiry_value"] - first["premium"] - first["option_fees"]
                                         - first["delivery_fee"] + first["hedge_gain"] - first["hedge_cost"])
