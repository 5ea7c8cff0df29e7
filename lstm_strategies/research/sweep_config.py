"""A sweep config: a grid (or list) of overrides of one backtest config, validated by one schema.

::

    name = "btc_vol_target_grid"
    base = "../btc_vol_target_ewma.toml"      # relative to this file
    max_tasks = 1000                           # the most tasks it may start (raise it to run a larger grid)
    [grid]                                     # every combination is one task
    "params.target_vol" = [0.3, 0.4, 0.5]
    "params.band" = [0.05, 0.1]
    forecaster = ["ewma", "log_har"]
    [report]
    metric = "sharpe"
    heatmap = ["params.target_vol", "params.band"]
    top = 3                                    # tearsheets of the best three

Keys of ``[grid]`` and ``[[list]]`` are override keys of a backtest config (``forecaster``, ``commission``,
``data.start``, ``params.NAME``, ``forecaster_params.NAME``...). The file's tables are a pydantic schema with
the project's range types (``top`` a whole number in [0, 50], ...); the size of a grid is counted before any
combination is built, and each combination is validated like a config file, with a progress bar, before
anything runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lstm_strategies._version import __version__
from lstm_strategies.backtest.config import BacktestConfig, apply_overrides, read_toml, validate_config
from lstm_strategies.core.atomic import name_problem
from lstm_strategies.core.declarations import Range, describe_error
from lstm_strategies.core.errors import ConfigError

#: tasks a sweep starts without the file saying ``max_tasks``: a grid above it is refused before it is built
DEFAULT_MAX_TASKS = 1000
#: the largest ``max_tasks`` a file may ask for
HARD_MAX_TASKS = 1_000_000
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class SweepReport(BaseModel):
    """``[report]``: the ranking metric, an optional heatmap of two grid keys, tearsheets of the best runs."""

    model_config = STRICT
    metric: str = "sharpe"
    heatmap: list[str] | None = None
    top: Annotated[int, Range(0, 50, whole=True)] = 3


class SweepFile(BaseModel):
    """A whole sweep file."""

    model_config = STRICT
    name: str | None = None
    description: str | None = None
    base: str
    max_tasks: Annotated[int, Range(1, HARD_MAX_TASKS, whole=True)] = DEFAULT_MAX_TASKS
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    list_: list[dict[str, Any]] = Field(default_factory=list, alias="list")
    report: SweepReport = Field(default_factory=SweepReport)

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict) -> dict:
        empty = [key for key, values in grid.items() if not values]
        if empty:
            raise ValueError(f"grid.{empty[0]} must be a non-empty list")
        return grid


@dataclasses.dataclass
class SweepConfig:
    """A grid (or list) of overrides of one validated base config; every task is validated up front."""

    name: str
    base: BacktestConfig
    tasks: list[dict]
    metric: str = "sharpe"
    heatmap: list[str] | None = None
    top: int = 3
    path: str = ""

    @classmethod
    def from_toml(cls, path: str | Path, progress: bool = False) -> SweepConfig:
        """Read, size and validate a sweep file; ``progress`` shows a bar over the combinations validated."""
        path = Path(path)
        raw = read_toml(path, "sweep config")
        if "strategy" in raw and "base" not in raw:
            raise ConfigError(f"{path}: this is a backtest config; run it with `lstm-strategies backtest {path}`")
        spec = _schema(raw, path)
        base_path = Path(spec.base) if Path(spec.base).is_absolute() else (path.parent / spec.base).resolve()
        base = BacktestConfig.from_toml(base_path)
        if not spec.grid and not spec.list_:
            raise ConfigError(f"{path}: give a [grid] of values or a [[list]] of overrides")
        size = math.prod(len(v) for v in spec.grid.values()) * bool(spec.grid) + len(spec.list_)
        if size > spec.max_tasks:
            raise ConfigError(f"{path}: the grid has {size:,} tasks, more than max_tasks = {spec.max_tasks:,}; "
                              f"at a few seconds a task that is {_duration(size)} of backtests. Shrink the grid, or "
                              f"set max_tasks = {size} in the file to run it")
        keys = list(spec.grid)
        tasks = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*spec.grid.values())]
        tasks = (tasks if spec.grid else []) + [dict(item) for item in spec.list_]
        _validate_tasks(base, tasks, path, progress)
        report = spec.report
        if report.heatmap and (len(report.heatmap) != 2 or any(k not in keys for k in report.heatmap)):
            raise ConfigError(f"{path}: report.heatmap must name two grid keys, got {report.heatmap}")
        rankable = rankable_metrics(base.strategy.name)
        if report.metric not in rankable:
            raise ConfigError(f"{path}: report.metric = {report.metric!r}; choose one of {sorted(rankable)}")
        name = spec.name or path.stem
        if name_problem(name):
            raise ConfigError(f"{path}: name = {name!r}: the name {name_problem(name)}")
        return cls(name, base, tasks, report.metric, report.heatmap, report.top, str(path))


def _schema(raw: dict, path: Path) -> SweepFile:
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]).replace("list_", "list") or "(file)"
            if err["type"] == "extra_forbidden":
                known = sorted(f.alias or name for name, f in SweepFile.model_fields.items())
                where = "[report] takes: metric, heatmap, top" if key.startswith("report.") else f"it takes: {known}"
                lines.append(f"{key}: unknown key; {where}")
            elif err["type"] == "missing":
                lines.append(f"{key}: required key is missing (base: the backtest config to vary)")
            else:
                words = describe_error(err)
                lines.append(f"{key} = {err.get('input')!r}: {words}")
        raise ConfigError(f"{path}: " + "; ".join(lines)) from None


def _validate_tasks(base: BacktestConfig, tasks: list[dict], path: Path, progress: bool) -> None:
    """Every combination validated like a config file before anything runs."""
    from tqdm.auto import tqdm

    raw = base.to_dict()
    for overrides in tqdm(tasks, desc="validating the grid", unit="task", disable=not progress or len(tasks) < 20,
                          leave=False):
        try:
            validate_config(apply_overrides(raw, overrides, base.path), base.path)
        except ConfigError as exc:
            raise ConfigError(f"{path}: combination {overrides}: {exc}") from None


def _duration(tasks: int, seconds_per_task: float = 5.0) -> str:
    hours = tasks * seconds_per_task / 3600
    return f"about {hours:,.0f} hours" if hours >= 2 else f"about {hours * 60:,.0f} minutes"


def sweep_metrics(strategy: str):
    """The metrics a sweep records for runs of ``strategy``: the common ones and the strategy's own."""
    from lstm_strategies.reports.metrics import declared_metrics

    return declared_metrics([strategy])


def rankable_metrics(strategy: str) -> dict[str, bool]:
    """Result column -> True when higher is better, for the metrics a sweep of ``strategy`` may rank by."""
    return {m.column: m.better == "higher" for m in sweep_metrics(strategy) if m.rank and m.better}


def task_id(overrides: dict) -> str:
    """Identity of one combination within a sweep."""
    return hashlib.sha1(json.dumps(overrides, sort_keys=True, default=str).encode()).hexdigest()[:12]


def sweep_key(base: BacktestConfig, data_fingerprint: str) -> str:
    """Identity of the whole sweep context: base config, data and library version.

    Results in an output folder are reused only under the same key, so raising the base
    commission (or changing the data, or upgrading) never reuses stale rows.
    """
    blob = json.dumps({"base": {**base.to_dict(), "name": None, "description": None}, "data": data_fingerprint,
                       "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
