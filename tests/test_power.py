"""Tests of lstm_strategies.stats.power against closed forms and simulations."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from lstm_strategies.stats import power as pw


def ar1(n, phi, rng, sigma=1.0):
    e = rng.normal(0, sigma, n + 200)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = phi * x[t - 1] + e[t]
    return x[200:]


def test_z_sum():
    assert pw.z_sum() == pytest.approx(norm.ppf(0.975) + norm.ppf(0.8))
    assert pw.z_sum() == pytest.approx(2.8016, abs=1e-4)
    assert pw.z_sum(two_sided=False) == pytest.approx(norm.ppf(0.95) + norm.ppf(0.8))


def test_newey_west_zero_lags_is_variance():
    x = np.random.default_rng(0).normal(size=500)
    assert pw.newey_west_variance(x, 0) == pytest.approx(x.var(ddof=0))


def test_newey_west_ar1_long_run_variance():
    rng = np.random.default_rng(1)
    phi = 0.5
    x = ar1(200_000, phi, rng)
    # long-run variance of AR(1) with unit innovations: 1 / (1 - phi)^2 = 4
    assert pw.newey_west_variance(x, 60) == pytest.approx(1 / (1 - phi) ** 2, rel=0.05)


def test_newey_west_lags_default():
    assert pw.newey_west_lags(100) == 4
    assert pw.newey_west_lags(1000, horizon=30) == 29


def test_mde_iid_closed_form():
    x = np.random.default_rng(2).normal(0.1, 2.0, 400)
    out = pw.mean_power(x, lags=0)
    assert out["mde"] == pytest.approx(pw.z_sum() * x.std(ddof=0) / math.sqrt(400))
    # the required sample for the MDE itself is the sample
    assert pw.required_n(out["mde"], out["lrv"]) == pytest.approx(400)


def test_required_n_inverts_mde():
    n = pw.required_n(0.5, 4.0)
    assert n == pytest.approx(pw.z_sum() ** 2 * 4.0 / 0.25)
    assert pw.mde_from_se(math.sqrt(4.0 / n)) == pytest.approx(0.5)
    assert pw.required_n(0.0, 1.0) == math.inf


def test_power_at_mde_is_80_percent():
    assert pw.power_at(pw.mde_from_se(1.0), 1.0) == pytest.approx(0.8, abs=1e-3)
    assert pw.power_at(0.0, 1.0) == pytest.approx(0.05, abs=1e-9)


def test_simulated_power_at_mde_with_hac():
    """Serially dependent data with a true mean equal to the analytic MDE: the HAC t-test rejects ~80%."""
    rng = np.random.default_rng(3)
    n, phi, lags = 600, 0.6, 20
    lrv = 1 / (1 - phi) ** 2
    effect = pw.z_sum() * math.sqrt(lrv / n)
    rejections = 0
    sims = 400
    for _ in range(sims):
        x = ar1(n, phi, rng) + effect
        out = pw.mean_power(x, lags=lags)
        rejections += abs(out["t"]) > norm.ppf(0.975)
    assert 0.70 <= rejections / sims <= 0.90


def test_paired_mean_uses_difference():
    rng = np.random.default_rng(4)
    a = rng.normal(size=300)
    b = a + rng.normal(0.2, 0.5, 300)
    out = pw.paired_mean_power(a, b, lags=0)
    assert out["estimate"] == pytest.approx((a - b).mean())
    assert out["mde"] == pytest.approx(pw.z_sum() * (a - b).std(ddof=0) / math.sqrt(300))


def test_dm_power_ratio():
    rng = np.random.default_rng(5)
    la = rng.exponential(1.0, 1000)
    lb = la * 1.1
    out = pw.dm_power(la, lb, horizon=30)
    assert out["lags"] == 29
    assert out["ratio"] == pytest.approx(1 / 1.1)
    assert out["mde_ratio_low"] == pytest.approx(1 - out["mde"] / lb.mean())


def test_memmel_matches_simulation():
    """Var of the Sharpe difference for iid normal pairs: Memmel's formula against Monte Carlo."""
    rng = np.random.default_rng(6)
    n, rho, mu_a, mu_b = 500, 0.5, 0.1, 0.0
    cov = [[1, rho], [rho, 1]]
    diffs = []
    for _ in range(3000):
        x = rng.multivariate_normal([mu_a, mu_b], cov, n)
        s = x.mean(0) / x.std(0, ddof=1)
        diffs.append(s[0] - s[1])
    mc = np.var(diffs) * n
    closed = 2 * (1 - rho) + 0.5 * (mu_a**2 + mu_b**2 - 2 * mu_a * mu_b * rho**2)
    assert mc == pytest.approx(closed, rel=0.08)
    x = rng.multivariate_normal([mu_a, mu_b], cov, 200_000)
    assert pw.sharpe_diff_variance(x[:, 0], x[:, 1], "memmel") == pytest.approx(closed, rel=0.02)
    # the HAC delta method agrees with Memmel for iid normal returns
    assert pw.sharpe_diff_variance(x[:, 0], x[:, 1], "hac", lags=0) == pytest.approx(closed, rel=0.03)


def test_bootstrap_variance_close_to_memmel():
    rng = np.random.default_rng(7)
    x = rng.multivariate_normal([0.05, 0.0], [[1, 0.3], [0.3, 1]], 1500)
    v_boot = pw.sharpe_diff_variance(x[:, 0], x[:, 1], "bootstrap", reps=400, block=5, seed=1)
    v_mem = pw.sharpe_diff_variance(x[:, 0], x[:, 1], "memmel")
    assert v_boot == pytest.approx(v_mem, rel=0.2)


def test_sharpe_diff_power_annualises():
    rng = np.random.default_rng(8)
    x = rng.multivariate_normal([0.05, 0.0], [[1, 0.3], [0.3, 1]], 1000)
    out = pw.sharpe_diff_power(x[:, 0], x[:, 1], 365, method="memmel")
    v = pw.sharpe_diff_variance(x[:, 0], x[:, 1], "memmel")
    assert out["mde"] == pytest.approx(pw.z_sum() * math.sqrt(v / 1000) * math.sqrt(365))
    assert out["years_required"] == pytest.approx(out["n_required"] / 365)
    # about 4.5 years of daily data (the decision race) cannot detect less than ~1.3 Sharpe points at rho 0.3
    assert 1.0 < pw.sharpe_diff_power(x[:, 0], x[:, 1], 365, method="memmel")["mde"] * math.sqrt(1000 / 1640) < 2.0


def test_stationary_bootstrap_indices():
    rng = np.random.default_rng(9)
    idx = pw.stationary_bootstrap_indices(1000, 10.0, rng)
    assert idx.min() >= 0 and idx.max() < 1000
    runs = np.mean(np.diff(idx) % 1000 == 1)
    assert 0.85 < runs < 0.95   # continuation probability 1 - 1/block
