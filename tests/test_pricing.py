"""Black-Scholes against put-call parity, textbook values and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_strategies.trading import pricing


def test_hull_reference_values():
    # Hull, Options, Futures and Other Derivatives, Example 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5
    assert pricing.price("call", 42, 40, 0.5, 0.2, 0.1) == pytest.approx(4.76, abs=0.005)
    assert pricing.price("put", 42, 40, 0.5, 0.2, 0.1) == pytest.approx(0.81, abs=0.005)
    # Hull Example 19.1: delta of the call is N(d1) = 0.522 (S=49, K=50, r=5%, sigma=20%, T=0.3846)
    assert pricing.delta("call", 49, 50, 0.3846, 0.2, 0.05) == pytest.approx(0.522, abs=0.001)
    # Hull Example 19.4/19.6: gamma 0.066, vega 12.1 per unit of vol
    assert pricing.gamma(49, 50, 0.3846, 0.2, 0.05) == pytest.approx(0.066, abs=0.001)
    assert pricing.vega(49, 50, 0.3846, 0.2, 0.05) == pytest.approx(12.1, abs=0.05)


@settings(max_examples=200, deadline=None)
@given(spot=st.floats(1, 1e5), moneyness=st.floats(0.5, 1.5), t=st.floats(1e-3, 3), vol=st.floats(0.05, 3),
       r=st.floats(-0.02, 0.1), q=st.floats(0, 0.05))
def test_put_call_parity(spot, moneyness, t, vol, r, q):
    k = spot * moneyness
    c, p = pricing.price("call", spot, k, t, vol, r, q), pricing.price("put", spot, k, t, vol, r, q)
    assert c - p == pytest.approx(spot * np.exp(-q * t) - k * np.exp(-r * t), rel=1e-8, abs=1e-8 * spot)
    dc, dp = pricing.delta("call", spot, k, t, vol, r, q), pricing.delta("put", spot, k, t, vol, r, q)
    assert dc - dp == pytest.approx(np.exp(-q * t), rel=1e-9)


def test_greeks_match_finite_differences():
    s, k, t, v, r = 100.0, 95.0, 0.25, 0.6, 0.03
    h = 1e-3
    for kind in ("call", "put"):
        fd = (pricing.price(kind, s + h, k, t, v, r) - pricing.price(kind, s - h, k, t, v, r)) / (2 * h)
        assert pricing.delta(kind, s, k, t, v, r) == pytest.approx(fd, rel=1e-6)
    fd_gamma = (pricing.delta("call", s + h, k, t, v, r) - pricing.delta("call", s - h, k, t, v, r)) / (2 * h)
    assert pricing.gamma(s, k, t, v, r) == pytest.approx(fd_gamma, rel=1e-5)
    fd_vega = (pricing.price("put", s, k, t, v + h, r) - pricing.price("put", s, k, t, v - h, r)) / (2 * h)
    assert pricing.vega(s, k, t, v, r) == pytest.approx(fd_vega, rel=1e-6)


def test_vectorised_and_expiry_limits():
    spots = np.array([80.0, 100.0, 120.0])
    np.testing.assert_allclose(pricing.price("put", spots, 100.0, 0.0, 0.5), [20.0, 0.0, 0.0])
    np.testing.assert_allclose(pricing.delta("put", spots, 100.0, 0.0, 0.5), [-1.0, 0.0, 0.0])
    assert pricing.price("call", spots, 100.0, 0.5, 0.5).shape == (3,)
    with pytest.raises(ValueError, match="kind must be"):
        pricing.price("straddle", 1, 1, 1, 1)
