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


# ----------------------------------------------------------------------------------------------
# band policies (issue #29): fixed or Whalley-Wilmott, daily or every bar, at implied or a forecast
# ----------------------------------------------------------------------------------------------
WW_BAR = {"hedge_band": "ww", "risk_aversion": 34.0, "hedge_check": "bar"}


@pytest.fixture(scope="module")
def ww_roll(bars):
    return run_backtest(config({"mode": "roll", "entries_until": "2023-01-01", **WW_BAR}), bars)


def reference_hedge(bars: pd.DataFrame, trade: pd.Series, iv: pd.Series, commission=0.001, slippage=0.0005,
                    risk_aversion=34.0, cost=0.0015) -> dict:
    """One straddle's WW hedge checked at every bar's close (delta and gamma at implied vol over the fractional
    life left), filled at the next bar's open with Backtrader's percent slippage and commission: a loop."""
    from lstm_strategies.trading.hedging import ww_relative_half_width

    opened = trade["day"] + pd.Timedelta("1D")                     # the straddle is sold at the day's close
    expiry = opened + pd.Timedelta(days=30)
    idx = bars.index
    start = idx.get_loc(opened - pd.Timedelta("1h"))
    units, strike = trade["units"], trade["strike"]
    hedge, gain, costs, trades, ref = 0.0, 0.0, 0.0, 0, strike
    for i in range(start, len(idx) - 1):
        close_at = idx[i] + pd.Timedelta("1h")
        spot = bars["close"].iloc[i]
        if close_at.hour == 0:      # a day's close: the gain is marked there (it telescopes either way)
            gain += hedge * (spot - ref)
            ref = spot
        years = max((expiry - close_at).total_seconds(), 0.0) / (365 * 86400)
        if close_at >= expiry:
            step = -hedge
        else:
            vol = iv.asof(close_at)
            delta = float(pricing.delta("call", spot, strike, years, vol) + pricing.delta("put", spot, strike, years,
                                                                                          vol))
            width = units * float(ww_relative_half_width(2 * pricing.gamma(spot, strike, years, vol), spot, cost,
                                                         risk_aversion))
            gap = units * delta - hedge
            step = gap - np.sign(gap) * width if abs(gap) > max(width, 1e-12) else 0.0
        if abs(step) > 1e-12:
            o = bars["open"].iloc[i + 1]
            fill = min(o * (1 + slippage), bars["high"].iloc[i + 1]) if step > 0 else \
                max(o * (1 - slippage), bars["low"].iloc[i + 1])
            gain += hedge * (o - ref)
            hedge, ref = hedge + step, o
            costs += abs(step) * fill * commission + abs(step) * abs(fill - o)
            trades += 1
        if close_at >= expiry and abs(hedge) < 1e-12:
            break
    base = units * strike
    return {"hedge_gain": gain / base, "hedge_cost": costs / base, "hedge_trades": trades}


def test_an_hourly_ww_hedge_is_the_loops_arithmetic(ww_roll, bars, btc_dvol):
    """The vectorised book, checked every bar, against a per-bar loop of the same arithmetic (one straddle: no
    netting), to 1e-9."""
    trades = settled(ww_roll)
    assert len(trades) == 1 and trades["hedge_policy"].iloc[0] == "WW gamma_r 34, every bar, at implied, to edge"
    t = trades.iloc[0]
    ref = reference_hedge(bars, t, btc_dvol.sort_index())
    assert t["hedge_trades"] == ref["hedge_trades"] > 30
    assert t["hedge_gain"] == pytest.approx(ref["hedge_gain"], abs=1e-9)
    assert t["hedge_cost"] == pytest.approx(ref["hedge_cost"], abs=1e-9)


def test_policies_keep_the_parts_adding_up_and_report_their_dispersion(bars):
    res = run_backtest(config({**WW_BAR, "hedge_vol": "forecast"}), bars)
    trades = settled(res)
    parts = trades["premium"] - trades["option_fees"] - trades["expiry_value"] - trades["delivery_fee"] \
        + trades["hedge_gain"] - trades["hedge_cost"]
    np.testing.assert_allclose(trades["net"], parts, atol=1e-12)
    account = res.records["value"].iloc[-1] - 100_000
    assert (trades["net"] * trades["units"] * trades["strike"]).sum() == pytest.approx(account, abs=1e-6)
    decision = HedgedStraddleStrategy.decision_metrics(res)["straddle"]
    assert decision["net_sd_per_trade"] == pytest.approx(trades["net"].std())
    assert set(trades["hedge_policy"]) == {"WW gamma_r 34, every bar, at forecast, to edge"}


def test_a_wider_band_trades_less_and_the_fixed_daily_band_is_the_default(ladder, bars):
    wide = run_backtest(config({"hedge_band": "ww", "risk_aversion": 1.0}), bars)
    narrow = run_backtest(config({"hedge_band": "ww", "risk_aversion": 1000.0}), bars)
    assert settled(wide)["hedge_trades"].mean() < settled(narrow)["hedge_trades"].mean()
    assert settled(wide)["hedge_cost"].mean() < settled(narrow)["hedge_cost"].mean()
    assert set(settled(ladder)["hedge_policy"]) == {"fixed 0.05, daily, at implied, to target"}


def test_the_book_decides_as_the_loop_of_030():
    """StraddleHedges' fixed band: 0.3.0's per-straddle rule (trade when |gap| > band x units, adjust of the
    way; expired straddles unwind in full); fills shared by size."""
    from lstm_strategies.trading.hedging import BandPolicy, StraddleHedges

    book = StraddleHedges(BandPolicy("fixed", band=0.05), adjust=0.5)
    day = 86_400 * 10**9
    for key, strike in enumerate([100.0, 104.0, 96.0]):
        book.add(key, strike, 30 * day, -2.0, 2.0, strike)
    change = book.decide(101.0, 0.6, 10 * day)
    deltas = [float(pricing.delta("call", 101.0, k, 20 / 365, 0.6) + pricing.delta("put", 101.0, k, 20 / 365, 0.6))
              for k in (100.0, 104.0, 96.0)]
    expected = [0.5 * 2.0 * d if abs(2.0 * d) > 0.1 else 0.0 for d in deltas]
    np.testing.assert_allclose(book.rows["pending"], expected)
    assert change == pytest.approx(sum(expected))
    book.fill(102.0, cost=3.0)
    np.testing.assert_allclose(book.rows["hedge"], expected)
    np.testing.assert_allclose(book.rows["cost"], 3.0 * np.abs(expected) / np.abs(expected).sum())
    book.expire(1)
    book.decide(101.0, float("nan"), 11 * day)             # no implied value: live straddles wait, expired unwind
    assert book.rows["pending"][1] == pytest.approx(-expected[1]) and book.rows["pending"][[0, 2]].tolist() == [0, 0]
    book.fill(103.0, cost=1.0)
    done = book.finished()
    assert [d["key"] for d in done] == [1] and len(book) == 2
    assert done[0]["gain"] == pytest.approx(expected[1] * (103.0 - 102.0))
