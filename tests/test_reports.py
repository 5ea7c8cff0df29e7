"""Backtest outputs: tearsheet, metrics equal to QuantStats on returns.csv, offline, atomic."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from lstm_strategies.backtest.runner import BacktestConfig, run_backtest
from lstm_strategies.reports.write import write_report

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
    from lstm_strategies.core.atomic import MARKER

    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [MARKER]  # no temporary files left


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
    from lstm_strategies.core.errors import ConfigError

    text = open(DEMO).read()
    path = tmp_path / "bad.toml"
    path.write_text(edit(text))
    with pytest.raises(ConfigError) as info:
        BacktestConfig.from_toml(path).load_data()
    assert key in str(info.value)
    assert "bad.toml" in str(info.value)


# -- user strings never reach HTML unescaped; degenerate runs say so --------------------------------

MARKUP = '<script>alert(1)<script><img src=x onerror=alert(2)>q" onmouseover="alert(9)'


class _Page(HTMLParser):
    """Every element, attribute and text of a page, as a browser's parser sees them."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def assert_no_foreign_markup(text: str) -> _Page:
    page = _Page(text)
    assert not [t for t, _ in page.tags if t in ("script", "iframe", "object", "embed")], "a script element"
    handlers = [(t, k) for t, attrs in page.tags for k in attrs if k.lower().startswith("on")]
    assert not handlers, f"event handlers: {handlers}"
    # our images: PNG data embedded in the page, or a PNG file beside it (the dashboards)
    assert not [attrs for t, attrs in page.tags if t == "img" and not (
        str(attrs.get("src", "")).startswith("data:image/png;base64,") or str(attrs.get("src", "")).endswith(".png"))]
    external = [v for _, attrs in page.tags for k, v in attrs.items() if k in ("href", "src")
                and re.match(r"(?i)\s*(https?:|//)", str(v)) and "quantstats.io" not in str(v)]
    assert not external, f"requests leaving the machine: {external}"
    return page


def test_names_full_of_markup_reach_no_html_unescaped(tmp_path):
    from lstm_strategies.api import compare

    text = open("backtests/btc_vol_target_ewma.toml").read()
    text = text.replace('name = "btc_vol_target_ewma"', f"name = '{MARKUP}'")
    text = text.replace('start = "2021-01-01"', 'start = "2021-11-01"')
    text = text.replace('end = "2026-06-30"', 'end = "2022-03-31"')
    (tmp_path / "markup.toml").write_text(text)
    out = tmp_path / "cmp"
    compare([str(tmp_path / "markup.toml")], out)
    index = assert_no_foreign_markup((out / "index.html").read_text())
    assert MARKUP in "".join(index.text)  # shown as text, literally
    links = [attrs["href"] for tag, attrs in index.tags if tag == "a"]
    assert all(not link.startswith(("/", "..")) and "://" not in link for link in links)
    sheet = assert_no_foreign_markup((out / MARKUP / "tearsheet.html").read_text())
    assert MARKUP in "".join(sheet.text)


def test_a_degenerate_run_warns_and_keeps_its_table(btc_hourly, capsys):
    """Constant prices and zero volume: one warning line each, no trades said, headline columns kept."""
    from lstm_strategies.reports.metrics import build_metrics, summary_table
    from lstm_strategies.reports.write import print_summary

    df = btc_hourly[(btc_hourly.index >= "2021-11-01") & (btc_hourly.index < "2022-03-01")].copy()
    df[["open", "high", "low", "close"]] = 100.0
    df["volume"] = 0.0
    cfg = BacktestConfig.from_toml("backtests/btc_vol_target_ewma.toml").with_overrides(data_start="2021-11-01")
    metrics = build_metrics(run_backtest(cfg, df))
    warnings = metrics["warnings"]
    assert len(warnings) == 3
    assert "close price is constant" in warnings[0] and "volume column is zero" in warnings[1]
    assert "no orders" in warnings[2]
    table = summary_table({cfg.name: metrics})
    assert {"Sharpe", "Sortino", "CAGR", "Vol", "MaxDD"} <= set(table.columns)
    assert any(label.startswith("buy and hold") for label in table.index)
    print_summary({cfg.name: metrics})
    err = capsys.readouterr().err
    assert err.count("warning: btc_vol_target_ewma:") == 3


def test_sharpe_difference_ignores_resamples_without_variance():
    """A rule that trades on few days gives resamples with zero variance: those draws are dropped, the
    p-value stays a real one (it collapsed to 1/reps when a NaN draw poisoned the mean)."""
    import numpy as np

    from lstm_strategies.reports.metrics import sharpe_difference

    rng = np.random.default_rng(5)
    index = pd.date_range("2023-01-01", periods=600, freq="1D")
    always = pd.Series(rng.normal(0.001, 0.01, 600), index=index)
    rare = pd.Series(0.0, index=index)
    rare.iloc[[50, 51, 300]] = [0.01, -0.005, 0.008]
    result = sharpe_difference(rare, always, reps=300)
    assert result["pvalue"] is None or result["pvalue"] > 1 / 300
    assert result["reps"] <= 300
