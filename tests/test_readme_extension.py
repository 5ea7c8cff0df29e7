"""README's "Write your own" runs as written: its module, its config (naming the module in [plugins]), the commands
it shows and the contract test it gives."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def blocks(kind: str) -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Write your own", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{kind}\n(.*?)```", section, flags=re.S)


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    module, contract = blocks("python")
    config = blocks("toml")[0]
    (tmp_path / "calm_ext.py").write_text(module)
    (tmp_path / "calm.toml").write_text(config)
    (tmp_path / "test_calm.py").write_text(contract)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    from lstm_strategies.strategies import STRATEGIES

    from lstm_strategies.core import plugins
    from lstm_strategies.forecasters import REGISTRY

    REGISTRY.pop("trailing_rv", None)
    STRATEGIES.pop("calm_hold", None)
    sys.modules.pop("calm_ext", None)
    plugins._LOADED.pop(str((tmp_path / "calm_ext.py").resolve()), None)


@pytest.mark.slow
def test_the_module_config_and_contract_test_run_as_written(workspace, capsys):
    from lstm_strategies.cli.app import main

    assert main(["backtest", "calm.toml", "--out", "out"]) == 0
    assert "Mean weight" in capsys.readouterr().out
    assert (workspace / "out" / "tearsheet.html").exists()
    from lstm_strategies.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"TrailingRV.days = 0: must be a whole number >= 1"):
        sys.modules["calm_ext"].TrailingRV(days=0)   # the range its signature declares
    sys.path.insert(0, str(workspace))
    try:
        namespace: dict = {}
        exec(compile(blocks("python")[1], "test_calm.py", "exec"), namespace)
        namespace["test_the_contract"]()
    finally:
        sys.path.remove(str(workspace))


def test_the_commands_shown_exist():
    from lstm_strategies.cli.app import build_parser

    commands = re.findall(r"^lstm-strategies (.*?)\s+#", blocks("bash")[0], flags=re.M)
    assert len(commands) == 3
    parser = build_parser()
    for command in commands:
        parser.parse_args(command.split())
