"""Nothing a user sees changes by accident: the main job's table and every number of ``metrics.json`` for one
run of each strategy kind, against the copies stored in ``tests/golden/`` (written by 0.3.0, before the run
spec and the subpackage layout; ``tests/golden/make_golden.py`` writes them).

A new key in ``metrics.json`` is allowed; a stored number that moves (beyond float noise across CPUs: a relative
1e-6, far below the digits any table shows) or disappears fails. Provenance fields that name this machine
(absolute paths), versions, or the representation of objects are not compared.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
from contextlib import redirect_stdout
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
ROOT = GOLDEN.parents[1]
_spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
make_golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_golden)

#: provenance keys that describe the machine, the versions or object reprs, not the run's numbers
UNCOMPARED = {"config", "forecaster_repr", "model", "model_train_window", "lstm_strategies", "library", "quantstats"}


def _differences(stored, now, where: str = "") -> list[str]:
    out = []
    if isinstance(stored, dict):
        if not isinstance(now, dict):
            return [f"{where}: was a table, now {now!r}"]
        for key, value in stored.items():
            if where == "provenance" and key in UNCOMPARED:
                continue
            if key not in now:
                out.append(f"{where}.{key}: missing")
                continue
            out += _differences(value, now[key], f"{where}.{key}" if where else key)
        return out
    if isinstance(stored, list):
        if not isinstance(now, list) or len(now) != len(stored):
            return [f"{where}: {stored!r} -> {now!r}"]
        for i, (a, b) in enumerate(zip(stored, now, strict=True)):
            out += _differences(a, b, f"{where}[{i}]")
        return out
    if isinstance(stored, float) and isinstance(now, (int, float)) and not isinstance(now, bool):
        if not math.isclose(stored, now, rel_tol=1e-6, abs_tol=1e-12):
            out.append(f"{where}: {stored!r} -> {now!r}")
        return out
    if stored != now:
        out.append(f"{where}: {stored!r} -> {now!r}")
    return out


_CACHE: dict[str, dict] = {}


def metrics_of(name: str) -> dict:
    """The run's metrics.json now (each run once per session: a test per run keeps each under the timeout)."""
    from lstm_strategies.api import load_config, run

    if name not in _CACHE:
        file, overrides = next((f, o) for n, f, o in make_golden.RUNS if n == name)
        _CACHE[name] = run(load_config(ROOT / "backtests" / file, **overrides)).metrics
    return _CACHE[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name, _, _ in make_golden.RUNS])
def test_metrics_json_numbers_are_unchanged(name):
    stored = json.loads((GOLDEN / f"{name}.json").read_text())["metrics"]
    differences = _differences(stored, metrics_of(name))
    assert not differences, f"{name}: " + "; ".join(differences[:20])


@pytest.mark.slow
def test_the_main_jobs_table_is_unchanged():
    from lstm_strategies.reports.metrics import format_table, summary_table

    buf = io.StringIO()
    with redirect_stdout(buf):
        print(format_table(summary_table({k: metrics_of(k) for k in ("btc_vol_target_lstm", "btc_synthetic_put_lstm")}))
              .to_string())
    assert buf.getvalue() == (GOLDEN / "main_job_table.txt").read_text()
