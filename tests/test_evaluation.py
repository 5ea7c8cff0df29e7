"""Loss functions, tests of predictive accuracy and the evaluate command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.evaluation import diebold_mariano, mincer_zarnowitz, model_confidence_set, qlike


def test_qlike_is_zero_at_the_truth_and_punishes_low_forecasts_more():
    assert qlike(2.0, 2.0) == 0.0
    assert qlike(2.0, 1.0) > qlike(2.0, 4.0)  # halving hurts more than doubling
    assert qlike(1.0, 2.0) == pytest.approx(0.5 - np.log(0.5) - 1)


def test_mincer_zarnowitz_on_an_unbiased_forecast():
    rng = np.random.default_rng(1)
    f = rng.uniform(1, 2, 5000)
    rv = f + rng.normal(0, 0.1, 5000)
    mz = mincer_zarnowitz(rv, f)
    assert mz["alpha"] == pytest.approx(0, abs=0.02) and mz["beta"] == pytest.approx(1, abs=0.02)
    assert 0.85 < mz["r2"] < 0.95


def test_diebold_mariano_sign_and_size():
    rng = np.random.default_rng(2)
    base = rng.exponential(1.0, 2000)
    better = diebold_mariano(base * 0.8, base)
    assert better["stat"] < 0 and better["pvalue"] < 1e-6
    same = diebold_mariano(base, base[::-1])
    assert same["pvalue"] > 0.05


def test_model_confidence_set_drops_the_clearly_worse_model():
    rng = np.random.default_rng(3)
    good = rng.exponential(1.0, 1500)
    losses = pd.DataFrame({"good": good, "also_good": good * rng.uniform(0.98, 1.02, 1500),
                           "bad": good * 1.5 + 0.2})
    p = model_confidence_set(losses)
    assert p["bad"] < 0.05 and p["good"] >= 0.05


def test_evaluate_command_writes_tables_and_plot(tmp_path, capsys):
    from lstm_strategies.cli import main

    out = tmp_path / "eval"
    assert main(["evaluate", "--data", "eth_usdt_1h", "--model", "eth-1h",
                 "--start", "2025-07-01", "--out", str(out)]) == 0
    table = pd.read_csv(out / "evaluation.csv", index_col=0)
    assert list(table.index) == ["lstm", "log_har", "har", "ewma", "garch"]
    assert {"qlike", "mse", "mae_log", "mz_r2", "dm_pvalue", "mcs_pvalue"} <= set(table.columns)
    assert (out / "forecast_vs_realized.png").stat().st_size > 10_000
    assert "QLIKE by calendar year" in capsys.readouterr().out


def test_evaluate_refuses_in_sample_dates(capsys):
    from lstm_strategies.cli import main

    assert main(["evaluate", "--data", "btc_usdt_1h", "--start", "2021-06-01"]) == 2
    assert "in-sample" in capsys.readouterr().err
