"""The bias table (research/calibration.py) and ``evaluate --calibrated``: mean(RV)/mean(F) per year and horizon,
its Newey-West standard error and the power of a year's ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.research.calibration import bias_pivot, bias_ratio, bias_table


def test_the_bias_ratio_of_a_scaled_forecast_and_its_standard_error():
    rng = np.random.default_rng(3)
    f = rng.lognormal(-7, 0.3, 3000)
    rv = f * rng.lognormal(-0.5 * 0.4**2, 0.4, 3000)          # unbiased: E[rv | f] = f
    ok = bias_ratio(rv, f, 1)
    assert ok["bias"] == pytest.approx(1.0, abs=3 * ok["se"])
    low = bias_ratio(rv, 1.25 * f, 1)                          # a forecast 25% too high
    assert low["bias"] == pytest.approx(0.8, rel=0.02) and low["hi"] < 1.0
    assert ok["mde"] == pytest.approx(2.8016 * ok["se"], rel=1e-4)
    # overlapping 30-day targets: the Newey-West se is larger than the iid one
    smooth = pd.Series(rv / f).rolling(30).sum().dropna().to_numpy()      # 30-day sums of daily ratios
    flat = np.full(len(smooth), 30.0)
    iid = np.std(smooth / 30.0) / np.sqrt(len(smooth))
    assert bias_ratio(smooth, flat, 30)["se"] > 2 * iid


def test_the_table_has_a_row_per_forecaster_horizon_and_year():
    index = pd.date_range("2023-01-01", "2024-12-31", freq="1D", tz="UTC")
    rng = np.random.default_rng(0)
    rv = pd.Series(rng.lognormal(-7, 0.5, len(index)), index=index)
    frames = {h: pd.DataFrame({"a": rv.mean() * h, "b": 2 * rv.mean() * h, "realized": rv * h}, index=index)
              for h in (1, 30)}
    t = bias_table(frames)
    assert len(t) == 2 * 2 * 2 and set(t["year"]) == {2023, 2024}
    b = t[(t["forecaster"] == "b") & (t["horizon"] == 30) & (t["year"] == 2024)].iloc[0]
    assert b["bias"] == pytest.approx(rv["2024"].mean() / (2 * rv.mean()))
    assert {"se", "lo", "hi", "mde", "in_band", "qlike", "mz_beta", "mz_r2"} <= set(t.columns)
    assert bias_pivot(t).shape == (4, 2)


@pytest.mark.slow
def test_evaluate_calibrated_writes_the_bias_table(tmp_path, capsys, eth_hourly):
    from lstm_strategies.cli.app import main

    data = tmp_path / "eth.csv"
    eth_hourly[(eth_hourly.index >= "2024-07-01") & (eth_hourly.index < "2025-10-01")].reset_index().to_csv(
        data, index=False)
    out = tmp_path / "eval"
    assert main(["evaluate", "--data", str(data), "--model", "eth-1h", "--start", "2025-07-01", "--calibrated",
                 "--mcs-reps", "100", "--out", str(out)]) == 0
    table = pd.read_csv(out / "evaluation_30d.csv", index_col=0)
    assert {"log_har_cal", "garch_cal", "lstm_cal"} <= set(table.index)
    bias = pd.read_csv(out / "bias_by_year.csv")
    assert set(bias["forecaster"]) == set(table.index) and set(bias["horizon"]) == {1, 7, 30}
    assert set(bias["year"]) == {2025}
    printed = capsys.readouterr().out
    assert "mean(realized) / mean(forecast) per calendar year" in printed
    forecasts = pd.read_csv(out / "forecasts_30d.csv", index_col=0)
    assert not np.allclose(forecasts["log_har_cal"], forecasts["log_har"])
