"""Sweeps: same results on the local pool and on a real local Ray runtime; resumable; DSR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lstm_strategies.research.sweep as sweep_module
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.research.sweep import SweepConfig, deflated_sharpe_ratio, run_sweep

SWEEP = """
name = "demo_grid"
base = "{base}"
[grid]
"params.target_vol" = [0.1, 0.15]
forecaster = ["lstm", "ewma"]
[report]
heatmap = ["params.target_vol", "forecaster"]
top = 1
"""
METRICS = ["sharpe", "sortino", "cagr", "volatility", "max_drawdown", "cvar_95", "orders"]


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    base = Path("backtests/spx_vol_target_demo.toml").resolve()
    path = folder / "grid.toml"
    path.write_text(SWEEP.format(base=base))
    return path


@pytest.fixture(scope="module")
def local_results(sweep_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    results = run_sweep(SweepConfig.from_toml(sweep_file), out, "local", workers=2, progress=False)
    return out, results


def sorted_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("task_id").set_index("task_id")[METRICS]


def test_local_sweep_writes_every_output(local_results):
    out, results = local_results
    assert len(results) == 4
    for name in ("results.csv", "results.parquet", "ranking.md", "summary.json", "heatmap.png",
                 "top1/tearsheet.html"):
        assert (out / name).exists(), name
    summary = (out / "ranking.md").read_text()
    assert '"configurations_tried": 4' in summary and "deflated_sharpe_ratio" in summary


def test_ray_executor_gives_the_local_results(sweep_file, local_results, tmp_path):
    import ray  # the [ray] extra; README's test command installs it

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results = run_sweep(SweepConfig.from_toml(sweep_file), tmp_path, "ray", progress=False, report=False)
    finally:
        ray.shutdown()
    pd.testing.assert_frame_equal(sorted_metrics(results), sorted_metrics(local_results[1]))


def test_an_interrupted_sweep_runs_only_the_missing_tasks(sweep_file, local_results, tmp_path, monkeypatch):
    from lstm_strategies.core.atomic import write_marker

    out, full = local_results
    partial = full.sort_values("task_id").iloc[:1]  # as if killed after the first task finished
    partial.to_csv(tmp_path / "results.csv", index=False)
    write_marker(tmp_path, "sweep")
    ran = []
    real = sweep_module.run_sweep_task

    def counting(**task):
        ran.append(task["task"])
        return real(**task)

    monkeypatch.setattr(sweep_module, "run_sweep_task", counting)
    results = run_sweep(SweepConfig.from_toml(sweep_file), tmp_path, "local", workers=1, progress=False,
                        report=False)
    assert len(ran) == 3 and partial["task_id"].iloc[0] not in ran
    pd.testing.assert_frame_equal(sorted_metrics(results), sorted_metrics(full), check_dtype=False)


def test_bad_sweep_keys_fail_before_running(tmp_path):
    from pathlib import Path

    base = Path("backtests/spx_vol_target_demo.toml").resolve()
    path = tmp_path / "bad.toml"
    path.write_text(f'base = "{base}"\n[grid]\n"params.target_volume" = [0.1]\n')
    with pytest.raises(ConfigError, match=r"strategy.params.target_volume: not a parameter of vol_target"):
        SweepConfig.from_toml(path)
    path.write_text(f'base = "{base}"\n[grid]\n"params.target_vol" = [0.1, -0.4]\n')
    with pytest.raises(ConfigError, match=r"target_vol = -0.4: must be in \(0, 5\]"):
        SweepConfig.from_toml(path)
    path.write_text(f'base = "{base}"\n[grid]\nforecaster = ["prophet"]\n')
    with pytest.raises(ConfigError, match="forecaster 'prophet' is unknown"):
        SweepConfig.from_toml(path)


def test_resume_refuses_results_of_a_changed_base(sweep_file, local_results, tmp_path):
    """Raising the base commission must not reuse rows computed at the old one."""
    import shutil

    out, _ = local_results
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    config = SweepConfig.from_toml(sweep_file)
    changed = SweepConfig(config.name, config.base.with_overrides(commission=0.02), config.tasks, path=config.path)
    with pytest.raises(ConfigError, match="holds results of another sweep context"):
        run_sweep(changed, copy, "local", workers=1, progress=False, report=False)


def test_a_line_cut_by_an_interrupted_write_is_run_again(sweep_file, local_results, tmp_path, monkeypatch):
    """Rows are appended one flushed line at a time: a stop mid-line leaves a cut last line, which is dropped and
    its task run again; the rows before it are kept."""
    import shutil

    out, full = local_results
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    lines = (copy / "results.csv").read_text().splitlines(keepends=True)
    (copy / "results.csv").write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])  # header, 2 rows, a cut
    ran = []
    real = sweep_module.run_sweep_task

    def counting(**task):
        ran.append(task["task"])
        return real(**task)

    monkeypatch.setattr(sweep_module, "run_sweep_task", counting)
    results = run_sweep(SweepConfig.from_toml(sweep_file), copy, "local", workers=1, progress=False, report=False)
    assert len(ran) == 2
    pd.testing.assert_frame_equal(sorted_metrics(results), sorted_metrics(full), check_dtype=False)
    assert (copy / "results.csv").read_text().count("\n") == 5  # header and four rows, each whole


def test_a_damaged_results_file_is_one_clear_error(sweep_file, local_results, tmp_path):
    import shutil

    out, _ = local_results
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    lines = (copy / "results.csv").read_text().splitlines(keepends=True)
    (copy / "results.csv").write_text(lines[0] + "garbage,,\n" + "".join(lines[1:]))
    with pytest.raises(ConfigError, match="results.csv: .*(damaged|not readable)"):
        run_sweep(SweepConfig.from_toml(sweep_file), copy, "local", workers=1, progress=False, report=False)


def test_a_grid_too_large_is_refused_before_it_is_built(tmp_path):
    """10^6 combinations: refused at once (counted, not built), with the opt-in named."""
    import time

    base = Path("backtests/spx_vol_target_demo.toml").resolve()
    path = tmp_path / "huge.toml"
    grid = "\n".join(f'"params.{k}" = [{", ".join(str(0.1 + i / 100) for i in range(10))}]'
                     for k in ("target_vol", "band", "adjust", "cash_buffer", "max_leverage", "target_vol2"))
    path.write_text(f'base = "{base}"\n[grid]\n{grid}\n')
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"the grid has 1,000,000 tasks, more than max_tasks = 1,000.*"
                                          r"set max_tasks = 1000000"):
        SweepConfig.from_toml(path)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(("line", "message"), [
    ("[report]\ntop = -1", r"report.top = -1: must be a whole number in \[0, 50\]"),
    ("[report]\ntop = 2.5", r"report.top = 2.5: must be a whole number"),
    ("[report]\nmetrik = \"sharpe\"", r"report.metrik: unknown key; \[report\] takes"),
    ("max_tasks = 0", r"max_tasks = 0: must be a whole number in \[1, 1e\+06\]"),
    ("[grid]\n\"params.band\" = []", r"grid.params.band must be a non-empty list"),
])
def test_every_key_of_a_sweep_file_is_validated(tmp_path, line, message):
    base = Path("backtests/spx_vol_target_demo.toml").resolve()
    path = tmp_path / "bad.toml"
    grid = "" if "[grid]" in line else '[grid]\n"params.target_vol" = [0.1]\n'
    path.write_text(f'base = "{base}"\n{line}\n{grid}')
    with pytest.raises(ConfigError, match=message):
        SweepConfig.from_toml(path)


def test_a_folder_of_other_files_is_never_a_sweep_folder(sweep_file, tmp_path):
    from lstm_strategies.core.errors import OutputError

    (tmp_path / "thesis.tex").write_text("mine")
    with pytest.raises(OutputError, match="did not write"):
        run_sweep(SweepConfig.from_toml(sweep_file), tmp_path, "local", workers=1, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]


def test_deflated_sharpe_ratio_properties():
    rng = np.random.default_rng(0)
    trials = rng.normal(0, 0.02, 50)
    one = deflated_sharpe_ratio(0.05, np.array([0.05]), 1000, 0.0, 3.0)
    # one trial: the probabilistic Sharpe ratio against zero, Phi(SR * sqrt(T - 1) / sqrt(1 + SR^2 / 2))
    from scipy.stats import norm

    assert one["dsr"] == pytest.approx(norm.cdf(0.05 * np.sqrt(999) / np.sqrt(1 + 0.05**2 / 2)))
    many = deflated_sharpe_ratio(0.05, trials, 1000, 0.0, 3.0)
    more = deflated_sharpe_ratio(0.05, np.concatenate([trials, rng.normal(0, 0.02, 950)]), 1000, 0.0, 3.0)
    assert one["dsr"] > many["dsr"] > more["dsr"]  # more trials, more deflation
    fat = deflated_sharpe_ratio(0.05, trials, 1000, -1.0, 10.0)
    assert fat["dsr"] < many["dsr"]  # negative skew and fat tails deflate further


def test_local_pool_is_safe_after_torch_ran_in_the_parent():
    """Forking after torch started its thread pools can deadlock; the pool must not hang."""
    import torch

    from lstm_strategies.core.executors import run_tasks

    torch.ones(256, 256) @ torch.ones(256, 256)  # start the intra-op thread pool here
    results = sorted(r for _, r in run_tasks(_square_with_torch, [{"x": i} for i in range(4)], "local", 2))
    assert results == [0.0, 1.0, 4.0, 9.0]


def _square_with_torch(x: int) -> float:
    import torch

    return float((torch.ones(64, 64) * x @ torch.eye(64))[0, 0] * x / 1.0)


def test_a_sweep_task_passes_data_implied_to_the_forecasters_that_read_it():
    from lstm_strategies.backtest.config import validate_config
    from lstm_strategies.research.sweep import run_sweep_task

    raw = {"name": "iv_grid", "data": {"dataset": "btc_usdt_1h", "start": "2023-01-01", "end": "2023-03-31",
                                       "implied": "btc_dvol_daily"},
           "backtest": {"start": "2023-02-15"}, "strategy": {"name": "vol_target", "forecaster": "ewma"},
           "report": {"baselines": False}}
    base = validate_config(raw, "iv_grid").model_dump()
    rows = [run_sweep_task(base, {"forecaster": name}) for name in ("implied", "ewma")]
    assert all(np.isfinite(r["te30"]) and r["orders"] > 0 for r in rows)
    assert rows[0]["te30"] != rows[1]["te30"]
