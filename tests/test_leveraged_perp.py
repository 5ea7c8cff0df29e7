"""The leveraged_perp strategy: bar by bar, the research prototype's vectorised position (trading.leverage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window
from lstm_strategies.strategies import strategy_class

from lstm_strategies.backtest.runner import BacktestConfig, run_backtest
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.features.realized import forecast_origins
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.risk import risk_inputs
from lstm_strategies.trading import leverage as LV

START, UNTIL = "2021-10-01", "2022-06-29"


def config(**params) -> BacktestConfig:
    return BacktestConfig.from_dict({
        "name": "perp", "data": {"file": "unused"}, "backtest": {"start": START, "cash": 100_000},
        "strategy": {"name": "leveraged_perp", "forecaster": "ewma", "params": {"entries_until": UNTIL, **params}},
        "report": {"baselines": False, "tearsheet": False}})


@pytest.fixture(scope="module")
def bars(btc_hourly):
    return window(btc_hourly, "2021-01-01", "2022-07-01")


def reference(bars: pd.DataFrame, side: str, constant: float, venue: LV.Venue) -> pd.DataFrame:
    """The prototype: forecasts at every origin, the fhs_ext scale, the rule, the vectorised account."""
    inputs = risk_inputs(make_forecaster("ewma"), bars, [1])
    ext = LV.daily_extremes(bars, forecast_origins(bars, "2021-01-01"))
    q = LV.risk_scale("fhs_ext", inputs["var_1d"], ext[f"x_{side}"], side=side)
    days = ext.index[(ext.index >= pd.Timestamp(START, tz="UTC")) & (ext.index < pd.Timestamp(UNTIL, tz="UTC")
                                                                    + pd.Timedelta("1D"))]
    lev = LV.rule_leverage(q.reindex(days).to_numpy(), constant, venue, side)
    return LV.simulate(ext.reindex(days), lev, venue, side)


@pytest.mark.parametrize("side, params", [
    ("long", {"constant": 1.1}),
    ("short", {"constant": 0.9, "cooldown_days": 2, "mmr": 0.005, "funding_rate": 0.0003}),
])
def test_the_backtrader_position_is_the_prototypes_bar_by_bar(bars, side, params):
    result = run_backtest(config(side=side, **params), bars)
    book = result.extras["book"]
    venue = LV.Venue(**{k: v for k, v in params.items() if k in LV.Venue.__dataclass_fields__})
    want = reference(bars, side, params.get("constant", LV.budget_constant("ewma", side)), venue)
    assert len(book) == len(want) == 272
    np.testing.assert_array_equal(book["liquidated"].to_numpy(bool), want["liquidated"].to_numpy())
    np.testing.assert_allclose(book["leverage"], want["leverage"], rtol=1e-12)
    np.testing.assert_allclose(book["pnl"] / book["equity_before"], want["account_ret"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(book["equity"] / 100_000, want["equity"], rtol=1e-10)
    assert want["liquidated"].sum() >= 2       # the liquidation path is exercised
    if side == "short":   # the cooldown keeps the account flat for two origins after each liquidation
        held = want["leverage"].to_numpy()
        for i in np.flatnonzero(want["liquidated"].to_numpy()):
            assert (held[i + 1:i + 3] == 0).all()
    # the account is cash: its value is the book's equity, nothing held at the broker
    equity = 100_000 * (1 + result.returns).cumprod()
    assert equity.iloc[-1] == pytest.approx(book["equity"].iloc[-1], rel=1e-9)
    assert result.extras["orders"] == 0


def test_next_mode_and_the_reports(bars, tmp_path):
    cfg = config()
    once = run_backtest(cfg, bars)
    streamed = run_backtest(cfg, bars, runonce=False)
    np.testing.assert_allclose(streamed.extras["book"]["leverage"], once.extras["book"]["leverage"], rtol=1e-9)
    cls = strategy_class("leveraged_perp")
    metrics = cls.decision_metrics(once)
    assert metrics["liquidations"] == int(once.extras["book"]["liquidated"].sum())
    assert metrics["liq_per_year"] == pytest.approx(metrics["liquidations"] / (272 / 365))
    assert metrics["fixed_same_liq_leverage"] > 1 and metrics["lev_ratio_vs_fixed"] > 0
    risk = metrics["risk"]
    assert risk["days"] == 272 and {"rate", "kupiec_p", "cc_p", "zones", "es_ratio"} <= set(risk["long"])
    figures = cls.report_figures(once, tmp_path)
    assert [p.name for _, p in figures] == ["leverage.png", "risk_var_es.png"]
    assert all(p.stat().st_size > 10_000 for _, p in figures)


def test_a_form_without_a_calibrated_constant_is_refused(bars):
    with pytest.raises(ConfigError, match="needs its constant"):
        run_backtest(config(form="fixed"), bars)
    fixed = run_backtest(config(form="fixed", constant=0.2), bars).extras["book"]
    assert fixed["leverage"].nunique() == 1
    assert fixed["leverage"].iloc[0] == pytest.approx(float(LV.leverage_for_distance(0.2, LV.Venue())))


def test_the_shipped_configs_validate():
    from lstm_strategies.api import load_config

    for name, forecaster in (("btc_leveraged_perp_lstm_iv", "lstm_iv"), ("eth_leveraged_perp_lstm_iv", "lstm_iv"),
                             ("btc_leveraged_perp_log_har", "log_har")):
        config = load_config(f"backtests/{name}.toml")
        assert config.strategy.name == "leveraged_perp" and config.strategy.forecaster == forecaster
    assert load_config("backtests/eth_leveraged_perp_lstm_iv.toml").strategy.params["mmr"] == 0.005
    margin = load_config("backtests/btc_variance_ladder_es_margin.toml")
    assert margin.strategy.params["collateral"] == "es"
