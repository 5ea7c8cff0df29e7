"""A new forecaster or strategy is one module: defined in a temporary module (no other file touched),
they are found by configs, evaluate, the report's summary and a sweep's ranking."""

from __future__ import annotations

import sys
import textwrap

import pandas as pd
import pytest
from conftest import window

from lstm_strategies.backtest.config import validate_config
from lstm_strategies.core.errors import ConfigError

TOY = textwrap.dedent('''
    """A toy plugin: a trailing-variance forecaster and a half-invested strategy with its own metric."""
    import numpy as np

    from lstm_strategies.core.declarations import Metric, Positive
    from lstm_strategies.forecasters.base import Forecaster
    from lstm_strategies.strategies import ForecastStrategy


    class ToyForecaster(Forecaster):
        name = "toy_rv"
        kind = "baseline"

        def __init__(self, days: int = 5, *, calendar="crypto", horizons=None, timeframe=None):
            self.days = days
            super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

        @property
        def lookback(self):
            return self.days * self.bars_in_day + 1

        def _predict_batch(self, df, first=0):
            r2 = np.log(df["close"]).diff().pow(2)
            per_bar = r2.rolling(self.lookback - 1).mean().to_numpy()
            return per_bar[:, None] * np.asarray(self.horizons, dtype=float) * self.bars_in_day


    class ToyStrategy(ForecastStrategy):
        name = "toy_half"
        metrics = (Metric("decision.toy_score", "Toy score", "ratio", "higher", headline=True, rank=True),)

        class Params(ForecastStrategy.Params):
            weight: Positive = 0.5

        params = Params.bt_params()

        def next(self):
            if self.trading() and self.rebalance_due():
                self.target_weight = self.p.weight
                self.trade_to(self.p.weight)
            self.record()

        @classmethod
        def decision_metrics(cls, result):
            return {"toy_score": float(result.returns.mean() * 365)}
''')


@pytest.fixture
def toy(tmp_path, monkeypatch):
    from lstm_strategies.strategies import STRATEGIES

    from lstm_strategies.forecasters import REGISTRY

    (tmp_path / "toy_plugin.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    import toy_plugin

    yield toy_plugin
    REGISTRY.pop("toy_rv", None)
    STRATEGIES.pop("toy_half", None)
    sys.modules.pop("toy_plugin", None)


def toy_config(tmp_path, weight: float = 0.3) -> dict:
    return {"name": "toy", "data": {"dataset": "btc_usdt_1h", "start": "2021-11-01", "end": "2022-03-31"},
            "backtest": {"start": "2022-01-01"},
            "strategy": {"name": "toy_half", "forecaster": "toy_rv", "params": {"weight": weight},
                         "forecaster_params": {"days": 3}},
            "report": {"baselines": False, "tearsheet": False}}


def test_configs_know_the_toy_forecaster_and_strategy(toy, tmp_path):
    cfg = validate_config(toy_config(tmp_path), "toy.toml")
    assert cfg.strategy.name == "toy_half" and cfg.strategy.forecaster == "toy_rv"
    with pytest.raises(ConfigError, match="strategy.params.weight = -1: must be > 0"):
        validate_config(toy_config(tmp_path, -1), "toy.toml")
    with pytest.raises(ConfigError, match="not a parameter of toy_half"):
        validate_config({**toy_config(tmp_path), "strategy": {**toy_config(tmp_path)["strategy"],
                                                              "params": {"wieght": 1}}}, "toy.toml")


def test_evaluate_scores_the_toy_baseline(toy, eth_hourly):
    from lstm_strategies.research.evaluation import collect_forecasts

    _, _, frames, _ = collect_forecasts(window(eth_hourly, "2024-11-01", "2025-09-01"), "eth-1h", "2025-07-01")
    assert "toy_rv" in frames[1].columns and frames[1]["toy_rv"].notna().all()


def test_the_summary_shows_the_toy_metric(toy, tmp_path):
    from lstm_strategies.api import run

    result = run(validate_config(toy_config(tmp_path), "toy.toml"))
    assert "toy_score" in result.metrics["decision"]
    table = result.summary()
    assert "Toy score" in table.columns and table.loc["toy", "Toy score"] != ""


def test_a_sweep_ranks_by_the_toy_metric(toy, tmp_path):
    from lstm_strategies.research.sweep import SweepConfig, run_sweep

    base = tmp_path / "toy.toml"
    base.write_text(textwrap.dedent('''
        name = "toy"
        [data]
        dataset = "btc_usdt_1h"
        start = "2021-11-01"
        end = "2022-03-31"
        [backtest]
        start = "2022-01-01"
        [strategy]
        name = "toy_half"
        forecaster = "toy_rv"
        params = { weight = 0.3 }
        forecaster_params = { days = 3 }
        [report]
        baselines = false
    '''))
    (tmp_path / "grid.toml").write_text('base = "toy.toml"\n[grid]\n"params.weight" = [0.2, 0.6]\n'
                                        '[report]\nmetric = "toy_score"\ntop = 1\n')
    results = run_sweep(SweepConfig.from_toml(tmp_path / "grid.toml"), tmp_path / "out", "local", workers=1,
                        progress=False)
    assert "toy_score" in results.columns
    ranking = pd.read_csv(tmp_path / "out" / "ranking.csv")
    assert list(ranking["toy_score"]) == sorted(ranking["toy_score"], reverse=True)  # higher is better, declared
    assert "toy_score" in (tmp_path / "out" / "ranking.md").read_text()


def test_every_strategy_gives_backtrader_its_declared_parameters():
    from lstm_strategies.strategies import RUNNER_PARAMS, STRATEGIES

    runner = dict(RUNNER_PARAMS)
    for name, cls in STRATEGIES.items():
        bt_defaults = {k: getattr(cls.params, k) for k in cls.params._getkeys()}
        declared = cls.Params.defaults()
        assert {k: bt_defaults[k] for k in declared} == declared, name
        assert set(bt_defaults) == set(declared) | set(runner), name
