"""Trading variance against implied volatility, without Backtrader: fees, rules, the normaliser, the metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.trading.variance import delivery_fee, mtm_metrics, normaliser, signal_weight, strip_fee


@pytest.mark.parametrize("vol, points", [(40, 34), (60, 55), (80, 78), (100, 103)])
def test_the_strip_fee_is_about_half_a_vol_point_of_strike(vol, points):
    """Deribit's fee on the replication strip: about 1 variance point per vol point of implied at 30 days."""
    assert strip_fee(vol) == pytest.approx(points, abs=1.0)
    assert strip_fee(vol, rate=0.0) == 0.0
    # the 12.5% cap on the option's price binds in the wings: no cap costs more
    assert strip_fee(vol, cap=10.0) > strip_fee(vol)


def test_the_delivery_fee_scales_with_the_move():
    assert delivery_fee(1.10) == pytest.approx(1e4 * 2 / (30 / 365) * 0.00015 * 0.10)
    assert delivery_fee(1.10) == pytest.approx(3.65, abs=0.01)
    assert delivery_fee(0.90) == pytest.approx(delivery_fee(1.10))
    assert delivery_fee(1.0) == 0.0


def test_each_rule_follows_its_formula():
    iv2 = np.array([3600.0, 3600.0, 3600.0, 3600.0])
    fc = np.array([2000.0, 3000.0, 4000.0, np.nan])     # x = 1.8, 1.2, 0.9, missing
    x = iv2 / fc
    np.testing.assert_array_equal(signal_weight("always", iv2, fc), [1, 1, 1, 1])
    np.testing.assert_array_equal(signal_weight("always", iv2, fc, direction="long"), [-1, -1, -1, -1])
    np.testing.assert_array_equal(signal_weight("gate", iv2, fc, margin=0.3), [1, 0, 0, np.nan])
    np.testing.assert_array_equal(signal_weight("band", iv2, fc, margin=0.3, long_margin=0.05), [1, 0, -1, np.nan])
    # a long gate is the mirror image: buy when the forecast exceeds implied by the margin
    np.testing.assert_array_equal(signal_weight("gate", iv2, fc, direction="long", margin=0.1), [0, 0, -1, np.nan])
    premium = signal_weight("premium", iv2, fc, cap=2.0, scale=2.5, max_multiple=3.0)
    np.testing.assert_allclose(premium[:3], np.minimum(2.5 * np.clip(x[:3] - 1, 0, 2), 3.0))
    assert premium[0] == 2.0 and premium[2] == 0.0 and np.isnan(premium[3])
    assert signal_weight("premium", 3600.0, 500.0, scale=2.5) == 3.0           # the multiple's cap
    np.testing.assert_allclose(signal_weight("ratio", iv2, fc, scale=0.5)[:3], 0.5 * x[:3])
    np.testing.assert_allclose(signal_weight("voltarget", iv2, fc, scale=3000.0)[:3], 3000.0 / fc[:3])
    ratio_vt = signal_weight("ratio_vt", iv2, fc, scale=3000.0)
    np.testing.assert_allclose(ratio_vt[:3], np.minimum(3000 * x[:3] / fc[:3], 3))
    assert isinstance(signal_weight("gate", 3600.0, 2000.0), float)
    with pytest.raises(ValueError, match="needs its normaliser"):
        signal_weight("premium", iv2, fc)
    with pytest.raises(ValueError, match="choose one of"):
        signal_weight("sometimes", iv2, fc)


def test_the_normaliser_gives_always_sells_mean_multiple():
    rng = np.random.default_rng(0)
    raw = np.where(rng.random(500) < 0.6, rng.exponential(0.3, 500), 0.0)
    raw[::17] = np.nan                                   # days without a forecast count as 0
    c = normaliser(raw, max_multiple=3.0)
    assert np.minimum(c * np.nan_to_num(raw), 3.0).mean() == pytest.approx(1.0, abs=1e-9)
    assert math.isnan(normaliser(np.r_[np.ones(10), np.zeros(40)], max_multiple=3.0))  # 20% of days x 3 < 1


def test_the_book_metrics_follow_their_definitions():
    days = pd.date_range("2024-07-01", periods=120, freq="1D", tz="UTC")
    rng = np.random.default_rng(1)
    pnl = pd.Series(rng.normal(10.0, 50.0, len(days)), index=days)
    daily = pd.DataFrame({"pnl": pnl, "gross": np.r_[np.zeros(5), np.ones(115)], "margin": 100.0})
    trades = pd.DataFrame({"w": [1.0, 0.0, 2.0, 1.0], "payoff": [30.0, np.nan, -50.0, np.nan]})
    m = mtm_metrics(daily, trades)
    assert m["sharpe_mtm"] == pytest.approx(pnl.mean() / pnl.std() * math.sqrt(365))
    assert m["sortino_mtm"] == pytest.approx(pnl.mean() / math.sqrt((np.minimum(pnl, 0) ** 2).mean()) * math.sqrt(365))
    assert m["pnl_per_year"] == pytest.approx(pnl.mean() * 365)
    assert m["worst_30d"] == pytest.approx(min(pnl.iloc[i:i + 30].sum() for i in range(91)))
    assert m["worst_30d_over_annual_pnl"] == pytest.approx(-m["worst_30d"] / m["pnl_per_year"])
    assert m["pnl_per_trade"] == -10.0 and m["hit_rate"] == 0.5 and m["worst_trade"] == -50.0
    assert m["trades"] == 3 and m["trades_open_at_end"] == 1 and m["days_traded"] == 0.75
    assert m["days_in_market"] == pytest.approx(115 / 120)
    assert m["cvar_95_mtm"] == pytest.approx(pnl[pnl <= pnl.quantile(0.05)].mean())
    assert m["peak_margin"] == 100.0
    # a stress window is reported only when the period covers it: 2024-08-01 .. 2024-08-15
    assert m["stress"] == {"2024-08-05 carry unwind": pytest.approx(pnl["2024-08-01":"2024-08-15"].sum())}
    losing = mtm_metrics(daily.assign(pnl=-daily["pnl"].abs()), trades)
    assert losing["worst_30d_over_annual_pnl"] is None     # undefined, not a misleading negative ratio
