"""Tests of risk.py: closed forms, FHS on known pools, causality of the pool, the fallback."""
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import risk as R


def _series(z, var=1e-4, start="2020-01-01"):
    idx = pd.date_range(start, periods=len(z), freq="D", tz="UTC") + pd.Timedelta("23h")
    v = pd.Series(var, index=idx)
    r = pd.Series(np.asarray(z) * np.sqrt(var), index=idx)
    return v, r


def test_normal_es_closed_form():
    q = R.parametric_quantiles(1, "normal", np.nan, 0.99, 0.975)[0]
    assert q[0] == pytest.approx(-2.326348, abs=1e-6)          # 99% VaR in z units
    assert q[2] == pytest.approx(-stats.norm.pdf(1.959964) / 0.025, abs=1e-5)   # ES 97.5% = -2.3378
    assert q[2] == pytest.approx(-2.337803, abs=1e-5)
    assert q[3] == -q[0] and q[5] == -q[2]                      # symmetric short tail


@pytest.mark.parametrize("dof", [3.0, 5.0, 10.0])
def test_t_unit_variance_es_matches_integral(dof):
    p = 0.025
    q, es = R.t_unit_var_es(p, dof)
    s = np.sqrt((dof - 2) / dof)
    assert stats.t.cdf(q / s, dof) == pytest.approx(p, rel=1e-9)
    num, _ = integrate.quad(lambda x: x * stats.t.pdf(x, dof), -np.inf, q / s)
    assert es == pytest.approx(num / p * s, rel=1e-6)


def test_fhs_matches_pool_quantiles_on_a_large_normal_sample():
    rng = np.random.default_rng(0)
    v, r = _series(rng.standard_normal(20_000))
    rk = R.forecast_risk(v, r, R.RiskSpec(window=None, min_residuals=250))
    last = rk.iloc[-1]
    assert last["source"] == "fhs"
    assert last["var_long"] / 1e-2 == pytest.approx(2.326, abs=0.08)
    assert last["es_long"] / 1e-2 == pytest.approx(2.338, abs=0.08)
    assert last["var_short"] / 1e-2 == pytest.approx(2.326, abs=0.08)


def test_pool_is_causal_one_day():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(400)
    z[300] = -50.0                                   # the return of origin 300 (day 301) is a crash
    v, r = _series(z)
    rk = R.forecast_risk(v, r, R.RiskSpec(window=250, min_residuals=250))
    # origin 300's own VaR cannot know its return; origin 301's pool holds it (the day closed)
    assert rk["n_pool"].iloc[300] == 250 and rk["n_pool"].iloc[299] == 250
    assert rk["es_long"].iloc[301] > 2 * rk["es_long"].iloc[300]
    # the pool at origin i holds residuals 0..i-1 (known at i's close): 250 known from origin 250 on
    assert rk["source"].iloc[249] == "t" and rk["source"].iloc[250] == "fhs"


def test_pool_is_causal_seven_days():
    rng = np.random.default_rng(2)
    z = rng.standard_normal(400)
    z[300] = -50.0
    v, r = _series(z)
    rk = R.forecast_risk(v, r, R.RiskSpec(horizon=7, window=250, min_residuals=250))
    es = rk["es_long"].to_numpy()
    assert es[306] == pytest.approx(es[305], rel=0.2)      # not yet known (ends at 307)
    assert es[307] > 2 * es[306]                             # known at origin 307's close


def test_fallback_is_unit_t5_and_scales_with_sigma():
    v, r = _series(np.zeros(10), var=4e-4)
    rk = R.forecast_risk(v, r, R.RiskSpec())
    q, es = R.t_unit_var_es(0.01, 5.0)
    assert (rk["source"] == "t").all()
    assert rk["var_long"].iloc[0] == pytest.approx(-q * 0.02)
    assert rk["es_long"].iloc[0] == pytest.approx(-R.t_unit_var_es(0.025, 5.0)[1] * 0.02)


def test_pool_from_excludes_early_residuals_and_reference_pool():
    rng = np.random.default_rng(3)
    v, r = _series(rng.standard_normal(600))
    rk = R.forecast_risk(v, r, R.RiskSpec(window=250, pool_from="2021-01-01"))
    first = rk.index.get_indexer([pd.Timestamp("2021-01-01 23:00", tz="UTC")])[0]
    assert (rk["source"].iloc[: first + 250] == "t").all()
    ref = R.standardised_returns(r, v)
    rk2 = R.forecast_risk(v, r, R.RiskSpec(window=250, pool_from="2021-01-01"), reference_residuals=ref)
    assert (rk2["source"].iloc[260:first + 250] == "fhs_ref").all()


def test_null_sampler_draws_from_each_days_pool():
    rng = np.random.default_rng(4)
    v, r = _series(rng.standard_normal(400))
    rk = R.forecast_risk(v, r, R.RiskSpec(window=250))
    draws = R.null_sampler(rk)(200)
    z, lo, hi = rk.attrs["pool"]
    i = 350
    assert np.isin(draws[:, i], z[lo[i]:hi[i]]).all()
