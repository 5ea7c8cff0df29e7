"""A one-module extension (a forecaster and a strategy) written to a temporary folder works everywhere: named by
--plugin or a config's [plugins] table, or installed with an entry point; through backtest, compare, evaluate, a
sweep on two local workers, a Ray sweep and the Python API; and it passes check_forecaster/check_strategy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = textwrap.dedent('''
    """calm_ext: a trailing-variance forecaster and a strategy that holds less when the forecast is high."""
    import numpy as np

    from lstm_strategies.core.declarations import Metric, Positive
    from lstm_strategies.forecasters.base import Forecaster
    from lstm_strategies.strategies import ForecastStrategy


    class TrailingRV(Forecaster):
        name = "trailing_rv"
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


    class DampedRV(TrailingRV):
        """A model, not a baseline: evaluate scores it too, built as its scoring_params say."""
        name = "damped_rv"
        kind = "model"

        @classmethod
        def scoring_params(cls, setup):
            return {"days": 10, "horizons": list(setup.horizons)}


    class CalmHold(ForecastStrategy):
        name = "calm_hold"
        metrics = (Metric("decision.mean_weight", "Mean weight", "percent", "higher", headline=True, rank=True),)

        class Params(ForecastStrategy.Params):
            calm_vol: Positive = 0.6

        params = Params.bt_params()

        def next(self):
            vol = self.forecast.vol[0]
            if self.trading() and vol == vol and self.rebalance_due():
                self.target_weight = 0.9 if vol < self.p.calm_vol else 0.3
                self.trade_to(self.target_weight)
            self.record()

        @classmethod
        def decision_metrics(cls, result):
            return {"mean_weight": float(result.records["weight"].mean())}
''')

CONFIG = textwrap.dedent('''
    name = "{name}"
    [data]
    dataset = "btc_usdt_1h"
    start = "2021-11-01"
    end = "2022-02-28"
    [backtest]
    start = "2022-01-01"
    [strategy]
    name = "calm_hold"
    forecaster = "trailing_rv"
    params = {{ calm_vol = {calm} }}
    forecaster_params = {{ days = 3 }}
    [report]
    baselines = false
    {plugins}
''')


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A user's folder: the plugin module, configs naming it (or not) and a sweep over one of them."""
    folder = tmp_path_factory.mktemp("user")
    (folder / "calm_ext.py").write_text(PLUGIN)
    (folder / "calm.toml").write_text(CONFIG.format(name="calm", calm=0.6, plugins=""))
    (folder / "calm_tight.toml").write_text(CONFIG.format(name="calm_tight", calm=0.4, plugins=""))
    (folder / "calm_declared.toml").write_text(CONFIG.format(name="calm_declared", calm=0.5,
                                                             plugins='[plugins]\nmodules = ["calm_ext.py"]'))
    (folder / "grid.toml").write_text('base = "calm_declared.toml"\n[grid]\n"params.calm_vol" = [0.4, 0.6]\n'
                                      '[report]\nmetric = "mean_weight"\ntop = 1\n')
    return folder


def cli(*args, cwd: Path, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    run = subprocess.run([sys.executable, "-m", "lstm_strategies.cli.app", *args], cwd=cwd, capture_output=True,
                         text=True, timeout=timeout, env={**os.environ, **(env or {})})
    assert run.returncode == 0, run.stderr[-3000:]
    return run


@pytest.mark.slow
def test_backtest_and_compare_with_plugin(workspace):
    cli("backtest", "calm.toml", "--plugin", "calm_ext.py", "--out", "out/calm", cwd=workspace)
    metrics = json.loads((workspace / "out/calm/metrics.json").read_text())
    assert 0.3 <= metrics["decision"]["mean_weight"] <= 0.9
    run = cli("compare", "calm.toml", "calm_declared.toml", "--plugin", "calm_ext.py", "--out", "out/both",
              cwd=workspace)
    assert "Mean weight" in run.stdout and "calm_declared" in run.stdout


@pytest.mark.slow
def test_a_config_names_its_plugin(workspace):
    cli("backtest", "calm_declared.toml", "--out", "out/declared", cwd=workspace)  # no --plugin: [plugins] says it
    assert (workspace / "out/declared/tearsheet.html").exists()


@pytest.mark.slow
def test_evaluate_scores_a_plugin_forecaster(workspace):
    cli("--plugin", "calm_ext.py", "evaluate", "--data", "btc_usdt_1h", "--start", "2025-07-01", "--end",
        "2025-08-31", "--mcs-reps", "50", "--out", "out/eval", cwd=workspace)
    table = (workspace / "out/eval").glob("*.csv")
    text = "".join(path.read_text() for path in table)
    assert "trailing_rv" in text and "damped_rv" in text   # a baseline and a model, neither named by hand


@pytest.mark.slow
def test_a_sweep_loads_the_plugin_in_every_local_worker(workspace):
    run = cli("sweep", "grid.toml", "--workers", "2", "--out", "out/sweep_local", cwd=workspace)
    assert "2 configurations tried" in run.stdout


@pytest.mark.slow
def test_a_ray_sweep_loads_the_plugin_in_every_worker(workspace):
    pytest.importorskip("ray", reason="the [ray] extra is not installed (README's test command installs it)")
    import pandas as pd

    run = cli("sweep", "grid.toml", "--workers", "2", "--executor", "ray", "--out", "out/sweep_ray",
              "--plugin", "calm_ext.py", cwd=workspace)
    assert "2 configurations tried" in run.stdout
    if not (workspace / "out/sweep_local/results.csv").exists():
        cli("sweep", "grid.toml", "--workers", "1", "--out", "out/sweep_local", cwd=workspace)
    local = pd.read_csv(workspace / "out/sweep_local/results.csv").set_index("task_id").sort_index()
    ray = pd.read_csv(workspace / "out/sweep_ray/results.csv").set_index("task_id").sort_index()
    pd.testing.assert_series_equal(local["mean_weight"], ray["mean_weight"])


@pytest.mark.slow
def test_an_installed_entry_point_needs_no_option(workspace, tmp_path):
    """A package that declares [project.entry-points."lstm_strategies.plugins"] is loaded with the built-ins."""
    site = tmp_path / "site"
    (site / "calm_pkg").mkdir(parents=True)
    (site / "calm_pkg" / "__init__.py").write_text(PLUGIN)
    info = site / "calm_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: calm-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[lstm_strategies.plugins]\ncalm = calm_pkg\n")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    cli("backtest", "calm.toml", "--out", "out/entry_point", cwd=workspace, env=env)
    assert (workspace / "out/entry_point/metrics.json").exists()


def test_the_api_and_the_contract_checks(workspace):
    from lstm_strategies.strategies import STRATEGIES

    from lstm_strategies.api import load_config, run
    from lstm_strategies.core.plugins import load_plugins
    from lstm_strategies.forecasters import REGISTRY
    from lstm_strategies.testing import check_forecaster, check_strategy

    try:
        (module,) = load_plugins([str(workspace / "calm_ext.py")])
        result = run(load_config(workspace / "calm.toml"))
        assert "mean_weight" in result.metrics["decision"]
        check_forecaster(module.TrailingRV, params={"days": 3})
        check_forecaster(module.DampedRV, params={"days": 3})
        check_strategy(module.CalmHold, forecaster="trailing_rv", forecaster_params={"days": 3})
    finally:
        REGISTRY.pop("trailing_rv", None)
        REGISTRY.pop("damped_rv", None)
        STRATEGIES.pop("calm_hold", None)
        sys.modules.pop("calm_ext", None)
        from lstm_strategies.core import plugins

        plugins._LOADED.pop(str((workspace / "calm_ext.py").resolve()), None)


def test_an_unknown_name_says_how_to_register_one():
    from lstm_strategies.api import load_config
    from lstm_strategies.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"strategy 'calm_hold' is unknown; choose one of .*--plugin MODULE.*"
                                          r"\[plugins\] modules.*entry point"):
        load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml", strategy="calm_hold")


def test_a_bad_plugin_is_one_clear_error(tmp_path):
    from lstm_strategies.cli.app import main

    (tmp_path / "broken.py").write_text("import numpy as np\nraise RuntimeError('half-written plugin')\n")
    assert main(["models", "--plugin", str(tmp_path / "nothere.py")]) == 2
    assert main(["models", "--plugin", "no_such_module_xyz"]) == 2
    assert main(["models", "--plugin", str(tmp_path / "broken.py")]) == 2
