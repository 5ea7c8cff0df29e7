"""Loss functions, tests of predictive accuracy and the evaluate command."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.research.evaluation import (
    MCSSettings,
    diebold_mariano,
    mincer_zarnowitz,
    model_confidence_set,
    qlike,
)


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


def test_diebold_mariano_sign_size_and_small_sample_correction():
    from statsmodels.tsa.stattools import diebold_mariano_test

    rng = np.random.default_rng(2)
    rv = rng.exponential(1.0, 2000)
    good, bad = rv * rng.uniform(0.8, 1.2, 2000), rv * rng.uniform(0.4, 2.5, 2000)
    better = diebold_mariano(rv, good, bad)
    assert better["stat"] < 0 and better["pvalue"] < 1e-6
    same = diebold_mariano(rv, good, good * rng.uniform(0.999, 1.001, 2000))
    assert same["pvalue"] > 0.01
    # it is statsmodels' test with the Harvey-Leybourne-Newbold correction, not a hand-written one
    ref = diebold_mariano_test(rv[:40], good[:40], bad[:40], criterion=qlike, harvey_adj=True, horizon=7)
    mine = diebold_mariano(rv[:40], good[:40], bad[:40], horizon=7)
    assert mine["pvalue"] == pytest.approx(ref.pvalue) and mine["lags"] >= 6


def test_model_confidence_set_drops_the_clearly_worse_model():
    rng = np.random.default_rng(3)
    good = rng.exponential(1.0, 1500)
    losses = pd.DataFrame({"good": good, "also_good": good * rng.uniform(0.98, 1.02, 1500),
                           "bad": good * 1.5 + 0.2})
    p = model_confidence_set(losses, MCSSettings(reps=500, seed=1))
    assert p["bad"] < 0.05 and p["good"] >= 0.05


def test_evaluate_command_writes_tables_and_plots(tmp_path, capsys):
    from lstm_strategies.cli.app import main

    out = tmp_path / "eval"
    assert main(["evaluate", "--data", "eth_usdt_1h", "--model", "eth-1h", "--start", "2025-07-01",
                 "--mcs-reps", "200", "--out", str(out)]) == 0
    for h in (1, 7, 30):
        table = pd.read_csv(out / f"evaluation_{h}d.csv", index_col=0)
        assert list(table.index) == ["lstm", "log_har", "ewma", "garch", "har"]
        assert {"qlike", "mse", "mae_log", "mz_r2", "dm_pvalue", "mcs_pvalue", "ratio_vs_log_har"} <= set(table.columns)
        assert (out / f"forecast_vs_realized_{h}d.png").stat().st_size > 10_000
    regimes = pd.read_csv(out / "evaluation_by_regime.csv", index_col=0)
    assert list(regimes.index) == ["calm", "normal", "turbulent"]
    assert regimes["days"].sum() == len(pd.read_csv(out / "forecasts_1d.csv"))
    printed = capsys.readouterr().out
    assert "QLIKE by calendar year" in printed and "by regime" in printed


def test_evaluate_refuses_in_sample_dates(capsys):
    from lstm_strategies.cli.app import main

    assert main(["evaluate", "--data", "btc_usdt_1h", "--start", "2021-06-01"]) == 2
    assert "in-sample" in capsys.readouterr().err


def test_regimes_are_terciles_of_a_variable_known_at_the_forecast(btc_hourly):
    from lstm_strategies.research.evaluation import regime_labels, trailing_variance

    df = btc_hourly[btc_hourly.index < "2021-03-01"]
    trailing = trailing_variance(df)
    # known at the close of bar t: changing later bars does not change it
    cut = df.iloc[:20_000]
    np.testing.assert_allclose(trailing_variance(cut), trailing[:20_000], equal_nan=True)
    labels = regime_labels(trailing[-3000:])
    assert {(labels == r).sum() for r in ("calm", "normal", "turbulent")} == {1000}


def test_identical_models_share_one_mcs_p_value_instead_of_crashing():
    """arch's MCS fails on two identical loss columns (e.g. a gated-off refitting LSTM equal to log-HAR)."""
    rng = np.random.default_rng(4)
    good = rng.exponential(1.0, 800)
    losses = pd.DataFrame({"log_har": good, "lstm_refit": good.copy(), "bad": good * 1.5 + 0.2})
    p = model_confidence_set(losses, MCSSettings(reps=200, seed=1))
    assert p["log_har"] == p["lstm_refit"] >= 0.05 and p["bad"] < 0.05
    assert "lstm_refit has the same losses as log_har" in p.attrs["note"]


def test_infinite_forecasts_are_one_clear_error_naming_the_forecaster(eth_hourly, monkeypatch):
    from conftest import window

    from lstm_strategies.core.errors import ForecastError
    from lstm_strategies.forecasters.ewma import EWMAForecaster
    from lstm_strategies.research.evaluation import collect_forecasts

    monkeypatch.setattr(EWMAForecaster, "_predict_batch", lambda self, df, first=0: np.full((len(df), 3), np.inf))
    with pytest.raises(ForecastError, match="forecaster ewma .* infinite or non-positive 1-day"):
        collect_forecasts(window(eth_hourly, "2024-11-01", "2025-09-01"), "eth-1h", "2025-07-01")


def test_evaluate_keeps_the_forecasts_when_scoring_fails(tmp_path, capsys, monkeypatch):
    import lstm_strategies.research.evaluation as evaluation
    from lstm_strategies.cli.app import main
    from lstm_strategies.core.errors import ForecastError

    index = pd.date_range("2025-07-01", periods=40, freq="1D", tz="UTC")
    frame = pd.DataFrame({"lstm": 1.0, "log_har": 1.1, "realized": 1.2}, index=index)
    monkeypatch.setattr(evaluation, "collect_forecasts", lambda *a, **k: ([1], "crypto", {1: frame}, {}))

    def late_failure(*args, **kwargs):
        raise ForecastError("scoring failed late")

    monkeypatch.setattr(evaluation, "score_forecasts", late_failure)
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", "eth_usdt_1h", "--model", "eth-1h", "--out", str(out)]) == 2
    assert "scoring failed late" in capsys.readouterr().err
    assert len(pd.read_csv(out / "forecasts_1d.csv")) == 40
