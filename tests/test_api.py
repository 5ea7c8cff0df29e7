"""The Python API: README's example runs as written; results and configs behave as documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lstm_strategies.api import load_config, run
from lstm_strategies.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## From Python", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    out = tmp_path / "notebook_run"
    monkeypatch.chdir(ROOT)
    exec(compile(block.replace("backtests/output/notebook_run", str(out)), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "TE30 (pts)" in printed and "buy and hold" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["provenance"]["strategy_params"]["target_vol"] == 0.3
    assert (out / "tearsheet.html").stat().st_size > 10_000


def test_a_config_is_frozen_and_overrides_are_validated():
    config = load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml")
    with pytest.raises(Exception, match="frozen"):
        config.backtest.cash = 5.0
    with pytest.raises(ConfigError, match="backtest.commission"):
        load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml", commission=-1)
    assert load_config(config.to_dict()).strategy == config.strategy


def test_a_result_exposes_returns_records_and_metrics():
    config = load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml",
                         **{"data.start": "2021-11-01", "data.end": "2022-03-31", "report.baselines": False})
    result = run(config)
    assert len(result.returns) >= 80 and result.returns.index.is_monotonic_increasing
    assert {"forecast_vol", "weight", "target_weight"} <= set(result.records.columns)
    assert result.metrics["decision"]["target_vol"] == 0.4
    assert list(result.summary().index)[0] == config.name


@pytest.mark.parametrize(("call", "message"), [
    (lambda: load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml", forecaster_params=None),
     r"override forecaster_params = None: give a dict of parameters"),
    (lambda: load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml", strategy_params="notadict"),
     r"override strategy_params = 'notadict': give a dict"),
    (lambda: load_config(123), r"load_config\(123\): give a TOML file's path or a dict of its tables"),
])
def test_api_entries_refuse_wrong_types_with_one_clear_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_compare_needs_configs(tmp_path):
    from lstm_strategies.api import compare

    with pytest.raises(ConfigError, match=r"compare\(\[\]\): give a list of one or more configs"):
        compare([], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_run_on_a_frame_keeps_the_configs_data_window():
    from lstm_strategies.data.datasets import load_dataset

    config = load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml",
                         **{"data.start": "2021-10-01", "data.end": "2022-02-28", "report.baselines": False})
    result = run(config, data=load_dataset("btc_usdt_1h"))
    assert str(result.backtest.data.index[-1]) == "2022-02-28 23:00:00+00:00"
    assert str(result.backtest.data.index[0]) == "2021-10-01 00:00:00+00:00"


def test_run_on_a_microsecond_or_naive_frame():
    """pandas 3's read_csv(parse_dates=...) gives microseconds: the same run; a naive index needs [data] tz."""
    from lstm_strategies.core.errors import DataError
    from lstm_strategies.data.datasets import load_dataset

    config = load_config(ROOT / "backtests" / "btc_vol_target_ewma.toml",
                         **{"data.start": "2021-10-01", "data.end": "2022-02-28", "report.baselines": False})
    bars = load_dataset("btc_usdt_1h")
    micro = bars.copy()
    micro.index = micro.index.as_unit("us")
    assert run(config, data=micro).metrics["sharpe"] == pytest.approx(run(config, data=bars).metrics["sharpe"])
    naive = bars.copy()
    naive.index = naive.index.tz_localize(None)
    with pytest.raises(DataError, match="tz"):
        run(config, data=naive)
