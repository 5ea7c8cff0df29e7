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


#: the layers, bottom first: a module imports its own layer and the ones below, never one above
LAYERS = ("core", "stats", "data", "market", "features", "forecasters", "models", "trading", "strategies",
          "backtest", "reports", "research", "api", "testing", "cli")
#: top-level modules outside the layers: the version and the old import paths (they import nothing of the package)
FLOOR = {"lstm_strategies._version", "lstm_strategies._compat"}


def module_name(path: Path) -> str:
    if path.is_relative_to(STRATEGIES):
        rel = path.relative_to(STRATEGIES).with_suffix("")
        parts = ["lstm_strategies", "strategies", *rel.parts]
    else:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(package_edges: bool = True) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (module level or in functions), imports of
    its own package (``__init__``) included unless ``package_edges`` is false."""
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
                own_package = name.startswith(target + ".")
                if target and target != name and target != "lstm_strategies" and (package_edges or not own_package):
                    deps.add(target)
        graph[name] = deps
    return graph


def layer_of(module: str) -> int | None:
    if module == "lstm_strategies" or module in FLOOR:
        return None
    return LAYERS.index(module.split(".")[1])


def test_no_import_cycle_counting_imports_of_a_modules_own_package():
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


def test_every_module_sits_in_a_layer_and_imports_down_only():
    """core -> stats -> data -> market -> features -> forecasters -> models -> trading -> strategies -> backtest ->
    reports -> research -> api -> testing -> cli; the version and the old-path aliases import nothing."""
    graph = import_graph()
    upward = []
    for module, deps in graph.items():
        if module in FLOOR:
            assert not deps, f"{module} imports {deps}"
            continue
        mine = layer_of(module)
        if mine is None:
            continue
        upward += [f"{module} -> {dep}" for dep in deps if (layer_of(dep) or 0) > mine]
    assert not upward, f"imports of a higher layer: {upward}"


def test_the_longest_chain_of_imports_is_short():
    """At most 16 modules from the top to the bottom (0.2.0: 14; 0.3.0: 28), imports of a module's own package
    not counted (as ../shared/tools/import_graph.py --no-package-edges --floors counts)."""
    graph = import_graph(package_edges=False)
    memo: dict[str, int] = {}

    def height(node: str, seen: frozenset = frozenset()) -> int:
        if node not in memo:
            memo[node] = 1 + max((height(d, seen | {node}) for d in graph[node] if d not in seen), default=0)
        return memo[node]

    longest = max(height(m) for m in graph)
    assert longest <= 16, longest


def test_no_module_is_longer_than_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in [*PACKAGE.rglob("*.py"), *STRATEGIES.rglob("*.py")]
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_no_function_is_too_complex():
    """No function or method has a cyclomatic complexity above 20 (radon's count: branches, loops, boolean
    operators, handlers, comprehensions; 0.3.0 had nine between 21 and 30)."""
    from radon.complexity import cc_visit
    from radon.visitors import Function

    heavy = {}
    for path in [*PACKAGE.rglob("*.py"), *STRATEGIES.rglob("*.py")]:
        blocks = cc_visit(path.read_text())
        functions = [b for b in blocks if isinstance(b, Function)]
        functions += [m for b in blocks if not isinstance(b, Function) for m in b.methods]
        heavy.update({f"{path.relative_to(ROOT)}:{f.fullname}": f.complexity for f in functions if f.complexity > 20})
    assert not heavy, heavy


def test_layers_flow_one_way():
    """No Backtrader below the trading layer: the bar contract, the loader, features, forecasters, models,
    statistics and plotting reach no Backtrader code; the loader depends on the bar contract, never the reverse."""
    graph = import_graph()

    def reaches(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in graph.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    low_layers = ("core", "stats", "data", "market", "features", "forecasters", "models")
    for path in PACKAGE.rglob("*.py"):
        module = module_name(path)
        if layer_of(module) is None or module.split(".")[1] not in low_layers:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "backtrader" for n in names), f"{module} imports Backtrader"
    assert "lstm_strategies.data.load" not in reaches("lstm_strategies.data.bars")
    assert "lstm_strategies.data.bars" in reaches("lstm_strategies.data.load")


def test_the_old_import_paths_work_for_one_release_with_a_warning():
    """0.3.0's module paths load the moved modules (the same objects) with a DeprecationWarning naming the new one."""
    import importlib
    import warnings

    from lstm_strategies._compat import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert module is importlib.import_module(new), old
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught), old
    from lstm_strategies.data import load_ohlcv  # packages that kept their names re-export
    from lstm_strategies.reports import write_report  # noqa: F401

    assert callable(load_ohlcv)


def test_a_clean_environment_cannot_import_strategies(tmp_path):
    """strategies/ installs as lstm_strategies.strategies only: nothing can shadow or be shadowed."""
    probe = "import importlib.util, sys; print(importlib.util.find_spec('strategies'))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "None"
    ok = subprocess.run([sys.executable, "-c", "import lstm_strategies.strategies as s; print(len(s.STRATEGIES))"],
                        cwd=tmp_path, capture_output=True, text=True, check=True)
    assert ok.stdout.strip() == "9"


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
