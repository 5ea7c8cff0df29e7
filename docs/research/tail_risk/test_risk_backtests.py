"""Tests of risk_backtests.py against textbook values and simulations."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import risk_backtests as B


def test_kupiec_textbook():
    # Jorion (2007), 250 days at 99%, 10 exceptions: LR = 12.96 (> 3.84, reject)
    res = B.kupiec_pof(10, 250, 0.01)
    assert res["lr"] == pytest.approx(12.955, abs=1e-3)
    assert B.kupiec_pof(0, 250, 0.01)["lr"] == pytest.approx(-2 * 250 * np.log(0.99))   # 5.025
    assert B.kupiec_pof(3, 300, 0.01)["lr"] == pytest.approx(0.0)


def test_christoffersen_by_hand():
    hits = np.array([0, 1, 1, 0, 0, 0, 1, 0, 0, 0] * 10, dtype=bool)
    res = B.christoffersen(hits, 0.3)
    a, b = hits[:-1], hits[1:]
    n00, n01, n10, n11 = (np.sum(~a & ~b), np.sum(~a & b), np.sum(a & ~b), np.sum(a & b))
    p01, p11, p = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / len(a)
    ll1 = n00 * np.log(1 - p01) + n01 * np.log(p01) + n10 * np.log(1 - p11) + n11 * np.log(p11)
    ll0 = (n00 + n10) * np.log(1 - p) + (n01 + n11) * np.log(p)
    assert res["lr_ind"] == pytest.approx(-2 * (ll0 - ll1))
    assert res["lr_cc"] == pytest.approx(res["lr_ind"] + B.kupiec_pof(hits.sum(), hits.size, 0.3)["lr"])


def test_basel_table_250_days():
    assert B.basel_cutoffs(250, 0.01) == (5, 10)         # green 0-4, yellow 5-9, red 10+ (BCBS 1996)
    assert [B.basel_zone(k, 250) for k in (4, 5, 9, 10)] == ["green", "yellow", "yellow", "red"]
    assert B.basel_cutoffs(365, 0.01) == (7, 13)


def test_traffic_light_per_year():
    idx = pd.date_range("2022-01-01", "2023-12-31", freq="D", tz="UTC")
    hits = pd.Series(False, index=idx)
    hits.iloc[:8] = True                                 # 8 in 2022 -> yellow; 0 in 2023 -> green
    tl = B.traffic_light(hits)
    assert list(tl["zone"]) == ["yellow", "green"]


def test_fz0_minimised_by_true_var_es():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(400_000)
    a = 0.025
    v0 = stats.norm.ppf(a)
    e0 = -stats.norm.pdf(v0) / a
    best = None
    for mv in (0.9, 1.0, 1.1):
        for me in (0.9, 1.0, 1.1):
            loss = B.fz0_loss(y, -v0 * mv * np.ones_like(y), -e0 * me * np.ones_like(y), 1 - a, "long").mean()
            if best is None or loss < best[0]:
                best = (loss, mv, me)
    assert best[1:] == (1.0, 1.0)


def test_fz0_short_tail_mirrors_long():
    r = np.array([-0.05, 0.02, 0.07])
    assert np.allclose(B.fz0_loss(r, 0.04, 0.05, side="short"), B.fz0_loss(-r, 0.04, 0.05, side="long"))


def test_es_ratio_and_tests_under_the_null():
    rng = np.random.default_rng(1)
    z = rng.standard_normal(200_000)
    v = -stats.norm.ppf(0.025)
    e = stats.norm.pdf(stats.norm.ppf(0.025)) / 0.025
    er = B.es_ratio(z, np.full(z.size, v), np.full(z.size, e))
    assert er["ratio"] == pytest.approx(1.0, abs=0.01)
    z2 = B.acerbi_szekely_z2(z[:2000], np.full(2000, v), np.full(2000, e), np.ones(2000),
                             sampler=lambda n: rng.standard_normal((n, 2000)), sims=500)
    assert z2["pvalue"] > 0.01
    # an ES that is 30% too small is caught by McNeil-Frey
    mf = B.mcneil_frey(z[:5000], np.full(5000, v), np.full(5000, 0.7 * e), np.ones(5000))
    assert mf["pvalue"] < 0.01


def test_dm_matches_statsmodels_convention():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 500), rng.normal(0.2, 1, 500)
    res = B.dm_test(a, b, horizon=1)
    assert res["stat"] < 0 and res["pvalue"] < 0.05 and res["lags"] == int(np.ceil(500 ** (1 / 3)))
    assert np.isnan(B.dm_test(a, a)["pvalue"])
    assert B.dm_test(a, b, horizon=7)["lags"] == max(6, int(np.ceil(500 ** (1 / 3))))


def test_overlap_robust_coverage_size():
    """Overlapping 7-day breaches of a correct 95% VaR: the HAC test rejects about 5% of the time."""
    rng = np.random.default_rng(3)
    rej_hac, rej_naive = 0, 0
    for _ in range(300):
        x = rng.standard_normal(1200 + 6)
        s7 = np.convolve(x, np.ones(7), "valid") / np.sqrt(7)
        hits = s7 < stats.norm.ppf(0.05)
        rej_hac += B.hac_coverage_test(hits, 0.05, 7)["pvalue"] < 0.05
        rej_naive += B.kupiec_pof(hits.sum(), hits.size, 0.05)["pvalue"] < 0.05
    assert rej_hac / 300 < 0.10          # near the nominal 5%
    assert rej_naive / 300 > 0.15        # the naive test over-rejects with overlap
