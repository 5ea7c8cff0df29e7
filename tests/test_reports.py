"""Backtest outputs: tearsheet, metrics equal to QuantStats on returns.csv, offline, atomic."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from lstm_strategies.backtest import BacktestConfig, run_backtest
from lstm_strategies.reports import write_report

DEMO = "backtests/spx_vol_target_demo.toml"


@pytest.fixture(scope="module")
def demo_result():
    cfg = BacktestConfig.from_toml(DEMO)
    return run_backtest(cfg)


@pytest.fixture(scope="module")
def demo_report(demo_result, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, write_report(demo_result, out)


def test_outputs_are_written(demo_report):
    out, metrics = demo_report
    for name in ("tearsheet.html", "metrics.json", "returns.csv", "equity.png", "forecast_vol.png", "weights.png"):
        assert (out / name).stat().st_size > 1000, name
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_tearsheet_shows_the_strategy_sharpe_and_max_drawdown(demo_report):
    out, metrics = demo_report
    html = (out / "tearsheet.html").read_text()
    assert "spx_vol_target_demo" in html
    # QuantStats' key-metrics table: metric | benchmark (buy and hold) | strategy
    rows = {m: (b, s) for m, b, s in re.findall(r"<tr><td>([^<]+)</td><td>([^<]*)</td><td>([^<]*)</td>", html)}
    bench, strat = rows["Sharpe"]
    assert float(strat) == pytest.approx(metrics["sharpe"], abs=0.006)
    assert float(bench) == pytest.approx(metrics["benchmark_sharpe"], abs=0.006)
    bench, strat = rows["Max Drawdown"]
    assert float(strat.rstrip("%")) == pytest.approx(100 * metrics["max_drawdown"], abs=0.006)


def test_metrics_equal_quantstats_on_returns_csv(demo_report):
    import quantstats as qs

    out, _ = demo_report
    metrics = json.loads((out / "metrics.json").read_text())
    returns = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True)["strategy"]
    periods = metrics["provenance"]["periods_per_year"]
    assert periods == 252  # equity calendar for the S&P 500 demo
    assert metrics["sharpe"] == pytest.approx(qs.stats.sharpe(returns, periods=periods), rel=1e-9)
    assert metrics["sortino"] == pytest.approx(qs.stats.sortino(returns, periods=periods), rel=1e-9)
    assert metrics["max_drawdown"] == pytest.approx(qs.stats.max_drawdown(returns), rel=1e-9)
    assert metrics["cagr"] == pytest.approx(qs.stats.cagr(returns, periods=periods), rel=1e-9)
    assert metrics["cvar_95"] == pytest.approx(qs.stats.cvar(returns, method="historical"), rel=1e-9)
    assert metrics["provenance"]["quantstats"] == qs.__version__


def test_provenance_records_data_model_and_sample(demo_report):
    _, metrics = demo_report
    prov = metrics["provenance"]
    assert len(prov["data_fingerprint"]) == 64
    assert prov["model"].endswith("spx-1d")
    assert prov["model_train_window"][1].startswith("2010-12-31")
    assert prov["in_sample"] is False
    assert prov["trading_start"].startswith("2011-01-01")
    assert metrics["first_day"] >= "2011-01-03"


def test_constant_exposure_baseline_has_the_same_average_weight(demo_result, demo_report):
    _, metrics = demo_report
    base = metrics["baseline"]
    assert base["label"] == f"constant {metrics['weight']['mean']:.2f}"
    assert base["volatility"] > 0
    assert base["sharpe_difference"]["pvalue"] is not None and 0 < base["sharpe_difference"]["pvalue"] <= 1
    # the decision metrics of vol targeting: tracking of the target, realized vol, costs
    decision = metrics["decision"]
    assert decision["target_vol"] == 0.12 and 0 < decision["te30"] < 0.2
    assert metrics["costs"]["commission"] > 0


def test_the_demo_levers_up_to_its_max_leverage(demo_report):
    """max_leverage 1.5 is honoured: weights above 1 are held, nothing is rejected, borrowing is charged."""
    _, metrics = demo_report
    assert metrics["orders_rejected"] == 0
    assert metrics["weight"]["max"] > 1.3
    assert metrics["borrowing"]["share_of_bars_borrowing"] > 0.05 and metrics["borrowing"]["interest_paid"] > 0


def test_a_run_makes_no_network_access(no_network, tmp_path, btc_hourly):
    cfg = BacktestConfig.from_toml("backtests/btc_vol_target_ewma.toml")
    df = btc_hourly[(btc_hourly.index >= "2021-11-01") & (btc_hourly.index < "2022-04-01")]
    df.attrs = dict(btc_hourly.attrs)
    metrics = write_report(run_backtest(cfg, df), tmp_path)
    assert metrics["provenance"]["periods_per_year"] == 365
    assert (tmp_path / "tearsheet.html").exists()


def test_interrupted_tearsheet_leaves_no_half_file(demo_result, tmp_path, monkeypatch):
    import quantstats as qs

    def boom(*args, output=None, **kwargs):
        with open(output, "w") as fh:
            fh.write("<html>half")
        raise KeyboardInterrupt

    monkeypatch.setattr(qs.reports, "html", boom)
    with pytest.raises(KeyboardInterrupt):
        write_report(demo_result, tmp_path)
    assert not (tmp_path / "tearsheet.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("edit, key", [
    (lambda t: t.replace('name = "vol_target"', 'name = "vol_tgt"'), "strategy.name = 'vol_tgt'"),
    (lambda t: t.replace('forecaster = "lstm"', 'forecaster = "arima"'), "strategy.forecaster = 'arima'"),
    (lambda t: t.replace('start = "2011-01-01"', 'start = "2011-13-01"'), "backtest.start = '2011-13-01'"),
    (lambda t: t.replace('dataset = "arch:sp500"', 'file = "/nonexistent/spx.csv"'),
     "[data] file = '/nonexistent/spx.csv': /nonexistent/spx.csv: file not found"),
    (lambda t: t.replace("target_vol = 0.12", "target_volatility = 0.12"),
     "strategy.params.target_volatility: not a parameter of vol_target; did you mean 'target_vol'?"),
    (lambda t: t + "\n[extra]\nx = 1\n", "extra: unknown key"),
])
def test_bad_configs_name_their_key(tmp_path, edit, key):
    from lstm_strategies.errors import ConfigError

    text = open(DEMO).read()
    path = tmp_path / "bad.toml"
    path.write_text(edit(text))
    with pytest.raises(ConfigError) as info:
        BacktestConfig.from_toml(path).load_data()
    assert key in str(info.value)
    assert "bad.toml" in str(info.value)
