"""trading.leverage: liquidation price, the rule's inverse, the account's arithmetic."""
import numpy as np
import pandas as pd
import pytest

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.trading import leverage as LV


def test_liquidation_price_isolated_long_and_short():
    v = LV.Venue(mmr=0.004)
    assert np.exp(-LV.liquidation_distance(10, 0.004, "long")) == pytest.approx(0.9 / 0.996)
    assert np.exp(LV.liquidation_distance(10, 0.004, "short")) == pytest.approx(1.1 / 1.004)
    for side in ("long", "short"):
        V = LV.liquidation_distance(np.array([2.0, 5.0, 20.0]), v.mmr, side)
        assert np.allclose(LV.leverage_for_distance(V, v, side), [2.0, 5.0, 20.0])


def test_calibrated_constant_gives_the_budget_on_its_own_days():
    rng = np.random.default_rng(0)
    q = np.exp(rng.normal(-3.5, 0.4, 3650))
    x = q * np.abs(rng.standard_t(4, 3650)) * 1.5
    c = LV.calibrate_constant(x, q, 1.0)
    n, _ = LV.liquidations_for(x, q, c, LV.Venue(max_leverage=1e9, min_leverage=0.0))
    assert n <= 10 and n >= 8


def _bars(prices, lows):
    idx = pd.date_range("2024-01-01 23:00", periods=len(prices), freq="h", tz="UTC")
    return pd.DataFrame({"open": prices, "high": prices, "low": lows, "close": prices}, index=idx)


def test_simulate_liquidation_and_normal_day():
    # origin bars every 24 hours; day 0 drops 5% intraday and closes flat, day 1 rises 1%
    n = 24 * 3 + 1
    p = np.full(n, 100.0)
    low = p.copy()
    low[10] = 95.0
    p[25:] = 101.0
    low[25:] = 101.0
    bars = _bars(p, low)
    origins = np.array([0, 24, 48, 72])
    ext = LV.daily_extremes(bars, origins)
    assert ext["x_long"].iloc[0] == pytest.approx(-np.log(0.95))
    assert ext["fundings"].iloc[0] == 3
    venue = LV.Venue(mmr=0.004, taker_fee=0.0, funding_rate=0.0, margin_fraction=0.1)
    sim = LV.simulate(ext, np.array([25.0, 25.0, 10.0, np.nan]), venue)
    assert sim["liquidated"].tolist() == [True, False, False, False]   # 25x: liquidation at -3.6%
    assert sim["account_ret"].iloc[0] == pytest.approx(-0.1)            # the 10% margin is lost
    assert sim["account_ret"].iloc[1] == pytest.approx(0.1 * 25 * 0.01)  # re-entry next day, +1% x 25
    assert sim["equity"].iloc[1] == pytest.approx(0.9 * 1.025)


def test_frontier_point_is_the_most_leverage_with_k():
    rng = np.random.default_rng(1)
    q = np.exp(rng.normal(-3.5, 0.3, 1000))
    x = q * np.abs(rng.standard_normal(1000)) * 2
    v = LV.Venue()
    for k in (0, 2, 5):
        c, m = LV.max_leverage_with(x, q, k, v)
        assert LV.liquidations_for(x, q, c, v)[0] <= k
        assert LV.liquidations_for(x, q, c * 0.999, v)[0] > k


def test_frozen_constants_and_borrowers():
    assert LV.budget_constant("lstm_iv") == LV.budget_constant("har_iv") == 1.783727
    assert LV.budget_constant("lstm", "short") == 1.66037
    with pytest.raises(ConfigError, match="calibrated"):
        LV.budget_constant("implied")


def test_extreme_scale_is_causal_and_scales_with_sigma():
    rng = np.random.default_rng(2)
    n = 600
    idx = pd.date_range("2021-01-01 23:00", periods=n, freq="D", tz="UTC")
    var = pd.Series(1e-4 * np.exp(rng.normal(0, 0.3, n)), index=idx)
    x = pd.Series(np.sqrt(var.to_numpy()) * np.abs(rng.standard_normal(n)) * 1.2, index=idx)
    q = LV.risk_scale("fhs_ext", var, x)
    u = (x / np.sqrt(var)).to_numpy()
    # at origin 400 the pool is the standardised extremes of origins 150 .. 399 (each known a day later)
    assert q.iloc[400] / np.sqrt(var.iloc[400]) == pytest.approx(np.quantile(u[150:400], 0.99))
    x2 = x.copy()
    x2.iloc[450:] *= 10                          # later extremes change no earlier scale
    assert np.allclose(LV.risk_scale("fhs_ext", var, x2).iloc[:451], q.iloc[:451])
    assert (LV.risk_scale("fixed", var) == 1).all()
    assert np.allclose(LV.risk_scale("sigma", var), np.sqrt(var))
    with pytest.raises(ValueError, match="form"):
        LV.risk_scale("vol", var)


def test_summary_counts_liquidations_a_year():
    idx = pd.date_range("2024-01-01 23:00", periods=365, freq="D", tz="UTC")
    sim = pd.DataFrame({"leverage": 5.0, "liquidated": False, "account_ret": 0.001, "equity": 1.0, "fee": 0.0},
                       index=idx)
    sim.iloc[10, 1] = True
    sim.iloc[10, 2] = -0.1
    s = LV.summary(sim, budget_per_year=1.0)
    assert s["liquidations"] == 1 and s["liq_per_year"] == pytest.approx(1.0) and s["worst_day"] == -0.1
    assert s["mean_leverage"] == 5.0
