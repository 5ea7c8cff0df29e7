"""Black-Scholes prices and greeks of European calls and puts, vectorised over numpy.

All inputs broadcast: ``spot``, ``strike``, ``maturity`` (years), ``vol`` (annualised), ``rate``
(continuous, annual) and ``dividend`` (continuous yield; for crypto 0, or a funding/lending rate).
At zero maturity or zero volatility the functions return the intrinsic value and its limit delta.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

ArrayLike = float | np.ndarray

_SQRT_2PI = np.sqrt(2.0 * np.pi)


def _pdf(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def d1_d2(spot: ArrayLike, strike: ArrayLike, maturity: ArrayLike, vol: ArrayLike,
          rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The Black-Scholes ``d1`` and ``d2`` (inf/-inf at zero maturity or volatility)."""
    spot, strike, maturity, vol, rate, dividend = np.broadcast_arrays(
        *(np.asarray(a, dtype="float64") for a in (spot, strike, maturity, vol, rate, dividend)))
    sig_t = vol * np.sqrt(np.maximum(maturity, 0.0))
    fwd = np.log(spot / strike) + (rate - dividend) * maturity
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.where(sig_t > 0, (fwd + 0.5 * sig_t**2) / sig_t, np.where(fwd >= 0, np.inf, -np.inf))
    d2 = np.where(sig_t > 0, d1 - sig_t, d1)
    return d1, d2


def price(kind: str, spot: ArrayLike, strike: ArrayLike, maturity: ArrayLike, vol: ArrayLike,
          rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0) -> np.ndarray:
    """Black-Scholes price of a European ``"call"`` or ``"put"``."""
    d1, d2 = d1_d2(spot, strike, maturity, vol, rate, dividend)
    df_r = np.exp(-np.asarray(rate) * np.asarray(maturity))
    df_q = np.exp(-np.asarray(dividend) * np.asarray(maturity))
    if kind == "call":
        return spot * df_q * ndtr(d1) - strike * df_r * ndtr(d2)
    if kind == "put":
        return strike * df_r * ndtr(-d2) - spot * df_q * ndtr(-d1)
    raise ValueError(f"kind must be 'call' or 'put', got {kind!r}")


def delta(kind: str, spot: ArrayLike, strike: ArrayLike, maturity: ArrayLike, vol: ArrayLike,
          rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0) -> np.ndarray:
    """dPrice/dSpot: ``e^{-qT} N(d1)`` for a call, ``-e^{-qT} N(-d1)`` for a put."""
    d1, _ = d1_d2(spot, strike, maturity, vol, rate, dividend)
    df_q = np.exp(-np.asarray(dividend) * np.asarray(maturity))
    if kind == "call":
        return df_q * ndtr(d1)
    if kind == "put":
        return -df_q * ndtr(-d1)
    raise ValueError(f"kind must be 'call' or 'put', got {kind!r}")


def gamma(spot: ArrayLike, strike: ArrayLike, maturity: ArrayLike, vol: ArrayLike,
          rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0) -> np.ndarray:
    """d2Price/dSpot2 (the same for calls and puts)."""
    d1, _ = d1_d2(spot, strike, maturity, vol, rate, dividend)
    sig_t = np.asarray(vol) * np.sqrt(np.asarray(maturity))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.exp(-np.asarray(dividend) * np.asarray(maturity)) * _pdf(d1) / (np.asarray(spot) * sig_t)
    return np.where(sig_t > 0, g, 0.0)


def vega(spot: ArrayLike, strike: ArrayLike, maturity: ArrayLike, vol: ArrayLike,
         rate: ArrayLike = 0.0, dividend: ArrayLike = 0.0) -> np.ndarray:
    """dPrice/dVol per unit of volatility (multiply by 0.01 for one vol point)."""
    d1, _ = d1_d2(spot, strike, maturity, vol, rate, dividend)
    return spot * np.exp(-np.asarray(dividend) * np.asarray(maturity)) * _pdf(d1) * np.sqrt(maturity)
