"""research.risk_evaluation: the risk backtests of evaluate --risk and the risk race."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.research import risk_evaluation as RE
from lstm_strategies.stats.tail_risk import RiskSpec, forecast_risk


def _inputs(seed: int, n: int = 1500, bias: float = 1.0) -> pd.DataFrame:
    """Daily origins with a known variance path: returns drawn with variance ``bias`` x the forecast."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-01-01 23:00", periods=n, freq="D", tz="UTC")
    var1 = 1e-3 * np.exp(0.5 * np.sin(np.arange(n) / 60))
    r1 = rng.standard_normal(n) * np.sqrt(var1 * bias)
    r7 = pd.Series(r1).rolling(7).sum().shift(-6).to_numpy()
    return pd.DataFrame({"var_1d": var1, "ret_1d": r1, "var_7d": 7 * var1, "ret_7d": r7}, index=idx)


def test_scored_mask_includes_the_end_days_origin():
    idx = pd.date_range("2022-01-01 23:00", periods=5, freq="D", tz="UTC")
    assert RE.scored_mask(idx, "2022-01-02", "2022-01-04").tolist() == [False, True, True, True, False]


def test_a_correct_model_passes_and_a_too_calm_one_fails():
    good = _inputs(0)
    risk = forecast_risk(good["var_1d"], good["ret_1d"], RiskSpec())
    risk["ret"] = good["ret_1d"]
    long, short = RE.score_risk(risk, "2021-01-01", None, sims=200)
    assert long["n"] == short["n"] == len(good) - 366
    for row in (long, short):
        assert 0.003 < row["rate"] < 0.02 and row["kupiec_p"] > 0.01 and row["z2_p"] > 0.01
        assert 0.8 < row["es_ratio"] < 1.2 and row["fallback_share"] == 0.0
    calm = _inputs(0, bias=2.0)
    # the forecast is half the variance, and the model takes it at its word (no pool to learn from)
    wrong = forecast_risk(calm["var_1d"], calm["ret_1d"], RiskSpec(method="normal"))
    wrong["ret"] = calm["ret_1d"]
    bad = RE.score_risk(wrong, "2021-01-01", None, sims=200)[0]
    assert bad["rate"] > 0.04 and bad["kupiec_p"] < 1e-6 and bad["red_years"] >= 1 and bad["z2_p"] < 0.05


def test_evaluate_risk_tables_and_files(tmp_path):
    inputs = {"log_har": _inputs(1), "lstm": _inputs(1, bias=1.3), "ewma": _inputs(2)}
    models = {name: object() for name in inputs}
    ev = RE.evaluate_risk(None, models, "2021-06-01", "2023-12-31", sims=100, inputs=inputs)
    assert set(ev.one_day["forecaster"]) == set(inputs) and set(ev.one_day["level"]) == {0.99}
    assert set(ev.seven_day["level"]) == {0.975, 0.95} and {"hac_p", "nonoverlap_bonf_p"} <= set(ev.seven_day)
    one = ev.fz0_dm[ev.fz0_dm["h"] == 1].set_index(["forecaster", "vs"])
    assert ("ewma", "log_har") in one.index and ("ewma", "lstm") in one.index
    assert one.loc[("lstm", "log_har"), "diff"] > 0        # the biased forecaster loses on FZ0
    assert one.loc[("ewma", "log_har"), "n"] == 944
    assert set(ev.by_year["year"]) == {2021, 2022, 2023}
    names = RE.write_risk(ev, tmp_path)
    back = pd.read_csv(tmp_path / "risk_1d.csv")
    assert names[0] == "risk_1d.csv" and np.allclose(back["rate"], ev.one_day["rate"])


@pytest.mark.slow
def test_evaluate_risk_command(tmp_path, capsys, eth_hourly):
    from lstm_strategies.cli.app import main

    bars = tmp_path / "eth.csv"
    window(eth_hourly, "2024-01-01", "2025-10-01").to_csv(bars, index_label="timestamp")
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", str(bars), "--model", "eth-1h", "--start", "2025-07-01", "--mcs-reps", "50",
                 "--risk", "--risk-sims", "50", "--out", str(out)]) == 0
    one = pd.read_csv(out / "risk_1d.csv")
    assert set(one["forecaster"]) == {"lstm", "log_har", "ewma", "garch", "har"}
    assert (one["n"] == len(pd.read_csv(out / "forecasts_1d.csv"))).all()
    assert (one["fallback_share"] == 0).all()          # 18 months before the start: every pool is full
    assert {"risk_7d.csv", "risk_fz0_dm.csv", "risk_by_year.csv"} <= {p.name for p in out.iterdir()}
    assert "FZ0 (two tails, 97.5%)" in capsys.readouterr().out
