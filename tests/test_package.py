"""The house: one-way imports, nothing named `strategies` installed, documented commands, no pickles."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lstm_strategies"
STRATEGIES = ROOT / "strategies"


def module_name(path: Path) -> str:
    if path.is_relative_to(STRATEGIES):
        rel = path.relative_to(STRATEGIES).with_suffix("")
        parts = ["lstm_strategies", "strategies", *rel.parts]
    else:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (module level or in functions)."""
    files = [p for p in [*PACKAGE.rglob("*.py"), *STRATEGIES.rglob("*.py")]]
    names = {module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps = set()
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in names:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                if target and target != name and not name.startswith(target + ".") and target != "lstm_strategies":
                    deps.add(target)
        graph[name] = deps
    return graph


def test_no_import_cycle_between_modules():
    graph = import_graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep] if dep in stack else [node, dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, f"import cycles: {cycles}"


def test_layers_flow_one_way():
    """data -> features -> forecasters (no Backtrader) -> indicators -> strategies -> backtest -> reports;
    evaluation reads forecasters and data only; plotting sits at the bottom."""
    graph = import_graph()

    def reaches(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in graph.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    trading = {"lstm_strategies.indicators", "lstm_strategies.strategies", "lstm_strategies.backtest",
               "lstm_strategies.reports", "lstm_strategies.sweep", "lstm_strategies.btfeed"}
    for low in ("lstm_strategies.bars", "lstm_strategies.timestamps", "lstm_strategies.readers",
                "lstm_strategies.data", "lstm_strategies.features", "lstm_strategies.forecasters",
                "lstm_strategies.evaluation", "lstm_strategies.plotting", "lstm_strategies.training"):
        assert not reaches(low) & trading, f"{low} reaches {reaches(low) & trading}"
    assert "lstm_strategies.btfeed" not in reaches("lstm_strategies.data")
    # the bar contract is below the file loader, never the other way round
    assert "lstm_strategies.data" not in reaches("lstm_strategies.bars")
    assert "lstm_strategies.bars" in reaches("lstm_strategies.data")
    for name in [m for m in graph if m.startswith("lstm_strategies.forecasters")]:
        source = Path(PACKAGE / name.split(".", 1)[1].replace(".", "/")).with_suffix(".py")
        if source.exists():
            assert "backtrader" not in source.read_text(), f"{name} imports Backtrader"


def test_a_clean_environment_cannot_import_strategies(tmp_path):
    """strategies/ installs as lstm_strategies.strategies only: nothing can shadow or be shadowed."""
    probe = "import importlib.util, sys; print(importlib.util.find_spec('strategies'))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"
    ok = subprocess.run([sys.executable, "-c", "import lstm_strategies.strategies as s; print(len(s.STRATEGIES))"],
                        cwd=tmp_path, capture_output=True, text=True, check=True)
    assert ok.stdout.strip() == "8"


def test_documented_commands_never_write_into_the_package():
    readme = (ROOT / "README.md").read_text()
    outs = re.findall(r"--out[= ]+(\S+)", readme)
    assert outs, "README documents --out folders"
    inside = [o for o in outs if o.strip("`'\"").lstrip("./").startswith("lstm_strategies")]
    assert not inside, f"README commands write into the package: {inside}"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    block = readme.split("Run the tests", 1)[1].split("```bash", 1)[1].split("```", 1)[0].strip()
    assert "pytest" in block and "constraints.txt" in block
    assert "Run the tests" in ci and "bash -c \"$cmd\"" in ci  # CI extracts and runs README's own line


def test_nothing_loads_pickles():
    """Model files load without executing code: no torch.load, pickle or joblib anywhere."""
    banned = re.compile(r"torch\.load\(|pickle\.load|joblib\.load|np\.load\([^)]*allow_pickle=True")
    for path in [*PACKAGE.rglob("*.py"), *STRATEGIES.rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]:
        assert not banned.search(path.read_text()), path
