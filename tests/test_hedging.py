"""Tests of lstm_strategies.trading.hedging: the Whalley-Wilmott formula, its scale-free form and the decision."""

import math

import numpy as np
import pytest

from lstm_strategies.trading import hedging as bd


def test_gamma_matches_finite_difference_of_delta():
    S, K, T, v = 100.0, 100.0, 30 / 365, 0.6
    eps = 1e-3
    fd = (bd.bs_delta("call", S + eps, K, T, v) - bd.bs_delta("call", S - eps, K, T, v)) / (2 * eps)
    assert bd.bs_gamma(S, K, T, v) == pytest.approx(fd, rel=1e-6)
    assert bd.straddle_gamma(S, K, T, v) == pytest.approx(2 * fd, rel=1e-6)
    # put-call parity: straddle delta = 2 N(d1) - 1
    assert bd.straddle_delta(S, K, T, v) == pytest.approx(2 * bd.bs_delta("call", S, K, T, v) - 1)


def test_ww_formula_value():
    # H = (1.5 * cost * S * G^2 / gamma)^(1/3)
    H = bd.ww_half_width(gamma=0.5, spot=100.0, cost=0.001, risk_aversion=2.0)
    assert H == pytest.approx((1.5 * 0.001 * 100.0 * 0.25 / 2.0) ** (1 / 3))
    # discounting of the cost
    Hr = bd.ww_half_width(0.5, 100.0, 0.001, 2.0, years_left=1.0, rate=0.05)
    assert Hr == pytest.approx(H * math.exp(-0.05 / 3))


def test_ww_scaling_laws():
    base = bd.ww_half_width(1.0, 100.0, 0.001, 1.0)
    assert bd.ww_half_width(1.0, 100.0, 0.008, 1.0) == pytest.approx(2 * base)        # cost^(1/3)
    assert bd.ww_half_width(1.0, 100.0, 0.001, 8.0) == pytest.approx(base / 2)        # gamma_r^(-1/3)
    assert bd.ww_half_width(8.0, 100.0, 0.001, 1.0) == pytest.approx(4 * base)        # Gamma^(2/3)
    assert bd.ww_half_width(-8.0, 100.0, 0.001, 1.0) == pytest.approx(4 * base)       # sign-free
    assert bd.ww_half_width(1.0, 100.0, 0.0, 1.0) == 0.0                               # no cost, no band


def test_relative_form_is_absolute_form_with_scaled_risk_aversion():
    S, K, T, v, cost, g_rel = 30_000.0, 30_000.0, 20 / 365, 0.5, 0.0015, 50.0
    g1 = bd.straddle_gamma(S, K, T, v)
    for n in (0.01, 1.0, 7.5):
        absolute = bd.ww_half_width(n * g1, S, cost, g_rel / (n * S))
        assert absolute == pytest.approx(n * bd.ww_relative_half_width(g1, S, cost, g_rel), rel=1e-10)


def test_relative_half_width_is_price_level_free():
    a = bd.ww_relative_half_width(bd.straddle_gamma(100.0, 100.0, 0.05, 0.6), 100.0, 0.0015, 30.0)
    b = bd.ww_relative_half_width(bd.straddle_gamma(60_000.0, 60_000.0, 0.05, 0.6), 60_000.0, 0.0015, 30.0)
    assert a == pytest.approx(b)


def test_rehedge_inside_band_keeps_hedge():
    assert bd.rehedge(0.30, 0.33, 0.05) == 0.30
    assert bd.rehedge(0.30, 0.33, 0.05, to="target") == 0.30


def test_rehedge_outside_band_moves_to_edge_or_target():
    assert bd.rehedge(0.30, 0.40, 0.05) == pytest.approx(0.35)
    assert bd.rehedge(0.30, 0.20, 0.05) == pytest.approx(0.25)
    assert bd.rehedge(0.30, 0.40, 0.05, to="target") == pytest.approx(0.40)
    h = bd.rehedge(np.array([0.0, 0.0, 0.0]), np.array([0.1, -0.1, 0.01]), np.array([0.05, 0.05, 0.05]))
    np.testing.assert_allclose(h, [0.05, -0.05, 0.0])


def test_zero_band_tracks_delta():
    assert bd.rehedge(0.1, 0.37, 0.0) == pytest.approx(0.37)


def test_policy_fixed_matches_030():
    p = bd.BandPolicy("fixed", band=0.05)
    assert p.moves_to == "target"
    units = 2.0
    assert p.half_width(units, 1.0, 123.0) == pytest.approx(0.1)
    assert p.step(0.0, 0.09, units, 1.0, 0.0) == 0.0
    assert p.step(0.0, 0.11, units, 1.0, 0.0) == pytest.approx(0.11)
    assert p.due(closes_day=False) is False and p.due(closes_day=True) is True


def test_policy_ww():
    p = bd.BandPolicy("ww", risk_aversion=40.0, check="bar")
    assert p.moves_to == "edge" and p.due(False)
    S, g1 = 50_000.0, bd.straddle_gamma(50_000.0, 50_000.0, 15 / 365, 0.55)
    hw = p.half_width(3.0, S, g1)
    assert hw == pytest.approx(3.0 * bd.ww_relative_half_width(g1, S, 0.0015, 40.0))
    assert p.step(0.0, hw + 0.5, 3.0, S, g1) == pytest.approx(0.5)


def test_policy_validation():
    with pytest.raises(ValueError):
        bd.BandPolicy("ww", risk_aversion=0.0)
    with pytest.raises(ValueError):
        bd.BandPolicy("other")
    with pytest.raises(ValueError):
        bd.ww_half_width(1.0, 1.0, 0.001, -1.0)
