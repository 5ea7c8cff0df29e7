"""The variance swap in Backtrader: the research prototype's arithmetic, causality, roll, collateral, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import variance_config, window

from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.core.errors import BacktestError, ConfigError
from lstm_strategies.trading.variance import delivery_fee, strip_fee

DVOL = pd.read_csv("lstm_strategies/data/shipped/btc_dvol_daily.csv", index_col=0, parse_dates=True)["dvol"]


def config(params=None, strategy="variance_swap", **kw):
    return variance_config(strategy, params, **kw)


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2022-11-15", "2023-04-01")


@pytest.fixture(scope="module")
def always(bars):
    return run_backtest(config(), bars)


def reference_pnl(df: pd.DataFrame, first: str, last: str, spread: float = 1.25, tenor: int = 30) -> pd.Series:
    """The research prototype's ladder, vectorised: each day d opens 1/30 of a short swap at the day's
    DVOL close; it is marked at ``n [K - (realized so far + DVOL_t^2 (30 - k) / 30)] - n fee``."""
    ann = 365 / tenor * 1e4
    day = df.index.tz_localize(None).floor("1D")
    rv_day = (np.log(df["close"]).diff() ** 2).groupby(day).sum() * ann
    close = df["close"][df.index.hour == 23]
    close.index = close.index.tz_localize(None).floor("1D")
    pnl = pd.Series(0.0, index=rv_day.index)
    for d in pd.date_range(first, last):
        life = pd.date_range(d, periods=tenor + 1)
        iv = DVOL.reindex(life).to_numpy()
        k = np.arange(tenor + 1)
        realized = np.r_[0.0, np.cumsum(rv_day.reindex(life[1:]).to_numpy())]
        n, strike = 1 / tenor, (iv[0] - spread) ** 2
        value = n * (strike - (realized + iv**2 * (tenor - k) / tenor)) - n * strip_fee(iv[0])
        value[-1] -= n * delivery_fee(close[life[-1]] / close[d])
        pnl[life] += np.diff(np.r_[0.0, value])
    return pnl


def book(result) -> pd.DataFrame:
    frame = result.extras["book"].set_index("day")
    frame.index = frame.index.tz_localize(None)
    return frame


def test_the_backtrader_ladder_reproduces_the_prototypes_arithmetic(always, bars):
    got = book(always)
    want = reference_pnl(bars, "2023-01-01", "2023-02-28").reindex(got.index)
    np.testing.assert_allclose(got["pnl"], want, rtol=0, atol=1e-8)
    trades = always.extras["trades"]
    assert len(trades) == 59 and (trades["w"] == 1.0).all() and trades["payoff"].notna().all()
    # a full ladder holds one unit of notional; everything settled by the end of the data
    assert got["gross"].max() == pytest.approx(1.0) and always.extras["open_positions"] == 0
    # the daily marks add up to the settled payoffs (full-notional payoffs are 30x a ladder swap's)
    assert got["pnl"].sum() == pytest.approx(trades["payoff"].sum() / 30, abs=1e-8)


def test_the_account_holds_the_marks_in_cash(always):
    """Variation margin through the broker: the account's daily P&L is the book's, in cash, on the same day."""
    cash_per_point = 100_000 / always.extras["capital"]
    assert always.extras["capital"] == pytest.approx(2 * 81.35 / 0.005)
    equity = 100_000 * (1 + always.returns).cumprod()
    account = equity.diff().fillna(equity.iloc[0] - 100_000)
    account.index = account.index.tz_localize(None)
    np.testing.assert_allclose(account.reindex(book(always).index), book(always)["pnl"] * cash_per_point, atol=1e-6)
    assert always.extras["orders"] == 0 and always.records["weight"].abs().max() == 0.0   # nothing held at the broker


def test_the_decision_metrics_are_those_of_the_daily_marks(always):
    from lstm_strategies.reports.metrics import build_metrics

    metrics = build_metrics(always)
    points, capital = metrics["decision"]["points"], always.extras["capital"]
    pnl = book(always)["pnl"].reindex(always.returns.index.tz_localize(None)).fillna(0.0)
    assert points["sharpe_mtm"] == pytest.approx(pnl.mean() / pnl.std() * np.sqrt(365))
    assert points["pnl_per_year"] == pytest.approx(pnl.mean() * 365)
    assert metrics["decision"]["pnl_per_year"] == pytest.approx(points["pnl_per_year"] / capital)
    assert metrics["decision"]["peak_margin"] == pytest.approx(points["peak_margin"] / capital)
    assert points["peak_margin"] > 0 and points["trades"] == 59 and points["days"] == len(always.returns)
    assert not any("placed no orders" in w for w in metrics["warnings"])
    # the venue's fees and the replication spread are the run's costs (paid beside the broker)
    trades, cash_per_point = always.extras["trades"], 100_000 / capital
    fees = ((trades["entry_fee"] + trades["exit_fee"]) / 30).sum() * cash_per_point
    spread = ((trades["implied_vol"] ** 2 - trades["strike"]) / 30).sum() * cash_per_point
    assert metrics["costs"]["option_fees"] == pytest.approx(fees)
    assert metrics["costs"]["option_spread"] == pytest.approx(spread) and spread > 0
    years = len(always.returns) / 365
    assert metrics["costs"]["total_over_cash_per_year"] == pytest.approx((fees + spread) / 100_000 / years)


@pytest.mark.parametrize("strategy", ["variance_swap", "hedged_straddle"])
def test_decisions_use_nothing_after_their_day(bars, strategy):
    """Perturbing the implied series and the bars after T leaves every decision and mark up to T unchanged."""
    cut = pd.Timestamp("2023-01-20")
    iv = DVOL[DVOL.index <= "2023-04-01"].copy()
    iv[iv.index > cut] *= 1.6
    moved = bars.copy()
    after = moved.index >= pd.Timestamp(cut, tz="UTC") + pd.Timedelta("1D")
    factor = np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, after.sum())))
    moved.loc[after, ["open", "high", "low", "close"]] = moved.loc[after, ["open", "high", "low", "close"]].mul(
        factor, axis=0)
    params = {"rule": "gate", "margin": 1.5}
    base = run_backtest(config(params, strategy=strategy), bars)
    changed = run_backtest(config({**params, "implied_vol": iv.rename_axis("timestamp")}, strategy=strategy), moved)
    until = pd.Timestamp(cut, tz="UTC")
    a, b = (r.extras["trades"] for r in (base, changed))
    cols = ["w", "implied_vol", "forecast_vol", "strike"]
    pd.testing.assert_frame_equal(a[a["day"] <= until][cols], b[b["day"] <= until][cols])
    assert (a[a["day"] <= until]["w"] != 0).any() and (a[a["day"] <= until]["w"] == 0).any()
    pd.testing.assert_series_equal(book(base)["pnl"][:cut], book(changed)["pnl"][:cut])
    later = cut + pd.Timedelta("1D")
    assert not np.allclose(book(base)["pnl"][later:], book(changed)["pnl"][later:])


def test_a_roll_opens_one_swap_every_tenor(bars):
    res = run_backtest(config({"mode": "roll", "entries_until": "2023-03-02"}), bars)
    trades = res.extras["trades"]
    assert list(trades["day"].dt.strftime("%m-%d")) == ["01-01", "01-31", "03-02"]
    done = trades[trades["payoff"].notna()]
    assert len(done) == 2 and res.extras["open_positions"] == 1       # the March swap outlives the data
    assert book(res)["gross"].max() == 1.0


def test_a_long_pays_the_spread_on_the_other_side(bars):
    short = run_backtest(config({"entries_until": "2023-01-01"}), bars)
    long = run_backtest(config({"entries_until": "2023-01-01", "direction": "long"}), bars)
    s, g = short.extras["trades"].iloc[0], long.extras["trades"].iloc[0]
    assert g["w"] == -1.0 and s["strike"] == pytest.approx((g["implied_vol"] - 1.25) ** 2)
    assert g["strike"] == pytest.approx((g["implied_vol"] + 1.25) ** 2)
    # both lose the spread and pay the same fees; everything else is mirrored
    fees = s["entry_fee"] + s["exit_fee"]
    assert s["payoff"] + g["payoff"] == pytest.approx(s["strike"] - g["strike"] - 2 * fees)


def test_a_loss_beyond_the_capital_stops_the_run(bars):
    with pytest.raises(BacktestError, match="a loss exceeded the capital. Trade a smaller notional"):
        run_backtest(config({"vega_budget": 1.0, "reference_vol": 5.0}), bars)


@pytest.mark.parametrize("params, message", [
    ({"rule": "premium"}, r"strategy.params: the premium rule is sized: set scale"),
    ({"implied_vol": None}, r"set implied_vol"),
    ({"rule": "premium", "scale": -1.0}, r"strategy.params.scale = -1.0: must be a positive number"),
    ({"entries_until": "soon"}, r"strategy.params.entries_until = 'soon': must be a date"),
    ({"rule": "sometimes"}, r"strategy.params.rule = 'sometimes': choose one of"),
])
def test_bad_parameters_are_one_clear_error(params, message):
    with pytest.raises(ConfigError, match=message):
        config(params)


def test_the_report_shows_the_book_and_the_baseline(bars, tmp_path):
    import json

    from lstm_strategies.reports.metrics import format_table, summary_table
    from lstm_strategies.reports.write import write_report

    res = run_backtest(config({"rule": "gate", "margin": -0.2}, baselines=True), bars)
    metrics = write_report(res, tmp_path / "gate", tearsheet=True)
    assert json.loads((tmp_path / "gate" / "metrics.json").read_text())["decision"] == metrics["decision"]
    written = {p.name for p in (tmp_path / "gate").iterdir()}
    assert {"book.csv", "trades.csv", "forecast_vol.png"} <= written
    assert "weights.png" not in written  # the book never holds the asset: no empty weights figure
    test = metrics["baseline"]["mtm_sharpe_difference"]
    assert metrics["baseline"]["label"] == "always-sell" and test["pvalue"] is not None
    assert test["diff"] == pytest.approx(metrics["decision"]["sharpe_mtm"] - metrics["baseline"]["sharpe_mtm"])
    sheet = (tmp_path / "gate" / "tearsheet.html").read_text()
    sharpe = metrics["decision"]["sharpe_mtm"]
    assert f"<tr><th>MTM Sharpe</th><td>{sharpe:.2f}</td></tr>" in sheet          # the plugin's section
    assert "<tr><th>option fees paid beside the broker</th>" in sheet
    table = format_table(summary_table({"gate": metrics}))
    assert {"MTM Sharpe", "P&L/yr (var pts)", "Worst 30d / yr P&L"} <= set(table.columns)


def test_the_shipped_configs_validate_and_compare(tmp_path):
    """backtests/*_short_variance_*.toml: every one validates; two run through compare on a short stretch."""
    from pathlib import Path

    from lstm_strategies.api import compare, load_config

    files = sorted(Path("backtests").glob("*_short_variance_*.toml"))
    assert len(files) == 18
    configs = {f.stem: load_config(f) for f in files}
    assert configs["btc_short_variance_sized_lstm"].strategy.params["scale"] > 0
    short = {"data.start": "2022-11-15", "data.end": "2023-03-31", "params.entries_until": "2023-02-28",
             "tearsheet": False}
    runs = [load_config(f"backtests/{name}.toml", **short) for name in ("btc_short_variance_always",
                                                                          "btc_short_variance_gated_ewma")]
    table = compare(runs, tmp_path / "cmp", progress=False)
    assert table.loc["btc_short_variance_always", "MTM Sharpe"] is not None
    assert "P&L/yr (var pts)" in (tmp_path / "cmp" / "comparison.md").read_text()
    gated = (tmp_path / "cmp" / "btc_short_variance_gated_ewma" / "metrics.json").read_text()
    assert '"label": "always-sell"' in gated


def test_days_without_an_implied_value_are_counted_and_said(btc_hourly):
    """Before DVOL exists (2021-03-24) nothing is opened, and the run says why instead of failing silently."""
    from lstm_strategies.reports.metrics import build_metrics

    cfg = variance_config(params={"entries_until": None}).with_overrides(**{"backtest.start": "2020-02-15"})
    metrics = build_metrics(run_backtest(cfg, window(btc_hourly, "2020-01-01", "2020-04-01")))
    assert metrics["decision"]["days_without_implied"] == 46 and metrics["decision"]["trades"] == 0
    assert any("no implied volatility from btc_dvol_daily was known on 46 decision day(s)" in w
               for w in metrics["warnings"])


def test_a_sweep_row_carries_every_declared_metric_once():
    from lstm_strategies.strategies import VarianceSwapStrategy

    from lstm_strategies.research.sweep import run_sweep_task

    base = variance_config(params={"rule": "gate"}).model_dump()
    base["data"] = {**base["data"], "file": None, "dataset": "btc_usdt_1h", "start": "2022-11-15", "end": "2023-03-31"}
    row = run_sweep_task(base, {"params.margin": 0.5})
    columns = [m.column for m in VarianceSwapStrategy.metrics]
    assert len(set(columns)) == len(columns) and set(columns) <= set(row)
    assert row["pnl_per_year_points"] == pytest.approx(row["pnl_per_year"] * 2 * 81.35 / 0.005)
    assert row["worst_30d_over_annual_pnl"] is None or row["worst_30d_over_annual_pnl"] > 0
