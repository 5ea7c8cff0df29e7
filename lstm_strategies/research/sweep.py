"""Parameter sweeps: a grid of backtests as independent tasks, resumable, on a local pool or Ray.

A sweep file (:mod:`lstm_strategies.research.sweep_config`) names a base config and a grid of overrides. Each
task is one backtest in a worker, which first loads the plugins the sweep loaded (``--plugin`` and the base
config's ``[plugins]``) and validates its config once. Finished tasks are appended to ``results.csv`` as they
arrive (one line each, flushed: a sweep stopped at any moment resumes, re-running only what is missing; a line
cut by the stop is dropped and its task runs again); ``results.parquet``, the ranking, the heatmap, the best
runs' tearsheets and ``index.html`` are written at the end (:mod:`lstm_strategies.research.sweep_report`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from functools import lru_cache
from pathlib import Path

import pandas as pd
from scipy import stats

from lstm_strategies.backtest.config import apply_overrides, validate_config
from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.core.atomic import atomic_write, claim_folder, remove_stale_temporaries
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.core.plugins import load_plugins, loaded_plugins
from lstm_strategies.data.bars import fingerprint
from lstm_strategies.research.sweep_config import (  # noqa: F401  (the sweep API, importable from here)
    SweepConfig,
    rankable_metrics,
    sweep_key,
    sweep_metrics,
    task_id,
)
from lstm_strategies.research.sweep_report import deflated_sharpe_ratio, report_sweep  # noqa: F401

#: what every row records besides the overrides and the metrics (sweep_key last: a cut line lacks it)
STATS = ("sr_per_period", "skew", "kurtosis", "days", "in_sample", "orders")


def _raw(base: dict) -> tuple[dict, str]:
    """A config's tables and path from :meth:`BacktestConfig.model_dump` (what tasks carry)."""
    raw = {k: v for k, v in base.items() if k != "path"}
    return raw, str(base.get("path", "<dict>"))


@lru_cache(maxsize=4)
def _data(spec: str | None, base_json: str):
    raw, path = _raw(json.loads(base_json))
    return validate_config(raw, path).load_data(spec)


def run_sweep_task(base: dict, overrides: dict, data: str | None = None, task: str = "",
                   keep_returns: bool = False, with_baseline: bool = False, plugins: tuple = ()) -> dict:
    """One backtest of a sweep, in whatever process runs it: its parameters and metrics (a flat dict).

    ``base`` is the base config's ``model_dump()``; ``plugins`` the modules to import first (the sweep's
    :func:`~lstm_strategies.core.plugins.loaded_plugins`). ``keep_returns`` adds the daily returns
    (``returns``: a Series); ``with_baseline`` also runs the strategy's baseline (``baseline_returns``,
    ``baseline_label``).
    """
    from lstm_strategies.reports.metrics import build_metrics

    load_plugins(plugins)
    raw, path = _raw(base)
    cfg = validate_config(apply_overrides(raw, {**overrides, "baselines": False, "tearsheet": False}, path), path)
    frame = _data(data, json.dumps(base, default=str))
    result = run_backtest(cfg, frame, with_baseline=with_baseline)
    r = result.returns
    metrics = build_metrics(result)
    row = {"task_id": task or task_id(overrides), **dict(overrides.items())}
    for metric in sweep_metrics(cfg.strategy.name):
        row[metric.column] = metric.get(metrics)
    varies = r.std() > 0
    row.update(sr_per_period=float(r.mean() / r.std(ddof=1)) if varies else 0.0,
               skew=float(stats.skew(r)) if varies else 0.0,
               kurtosis=float(stats.kurtosis(r, fisher=False)) if varies else 3.0, days=len(r),
               in_sample=result.provenance["in_sample"], orders=result.extras["orders"])
    if keep_returns:
        row["returns"] = r
    if with_baseline and result.baseline is not None:
        row["baseline_label"], row["baseline_returns"] = result.baseline
    return row


# ------------------------------------------------------------------------------------------------
# results.csv: appended line by line
# ------------------------------------------------------------------------------------------------

def result_columns(config: SweepConfig) -> list[str]:
    """The columns of ``results.csv``: task id, every override key, the metrics, the statistics, the sweep key."""
    keys = list(dict.fromkeys(k for task in config.tasks for k in task))
    strategies = {config.base.strategy.name} | {t["strategy"] for t in config.tasks if "strategy" in t}
    metrics = list(dict.fromkeys(m.column for name in sorted(strategies) for m in sweep_metrics(name)))
    return ["task_id", *keys, *[m for m in metrics if m not in keys], *STATS, "sweep_key"]


def read_results(path: Path) -> pd.DataFrame:
    """The rows of an earlier run of this sweep. A last line cut by an interrupted write is dropped (its task runs
    again); any other damage, or a file not written by a sweep, is one clear error."""
    from lstm_strategies.core.readers import read_text

    advice = "move the file away (or pass another --out) to start the sweep afresh"
    text = read_text(path, "sweep results", ConfigError, advice)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        print(f"note: {path}: its last line was cut by an interrupted write; that task runs again", file=sys.stderr)
        text = "".join(lines[:-1])
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{path}: not readable as a sweep's results ({type(exc).__name__}: {exc}); "
                          f"{advice}") from None
    missing = [c for c in ("task_id", "sweep_key") if c not in frame]
    if missing or frame[["task_id", "sweep_key"]].isna().any().any():
        what = f"has no column(s) {missing}" if missing else "has rows without a task_id or sweep_key"
        raise ConfigError(f"{path}: {what}: it is damaged or not written by a sweep; {advice}")
    return frame


class ResultsFile:
    """``results.csv`` opened for appending: a header when new, then one flushed line per finished task."""

    def __init__(self, path: Path, columns: list[str], existing: pd.DataFrame | None) -> None:
        self.path, self.columns = path, columns
        if existing is not None and list(existing.columns) != columns:
            # an earlier version's layout (or another grid order): rewrite it once in this layout, atomically
            frame = existing.reindex(columns=columns)
            atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
        elif existing is not None and path.read_text()[-1:] != "\n":
            atomic_write(path, lambda tmp: existing.to_csv(tmp, index=False))  # drop a cut last line
        if not path.exists():  # the header, written (and listed in the folder's marker) as every output is
            atomic_write(path, lambda tmp: Path(tmp).write_text(",".join(_quoted(c) for c in columns) + "\n"))
        self._file = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115  (closed by close())
        self._writer = csv.DictWriter(self._file, fieldnames=columns, extrasaction="ignore")

    def _flush(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, row: dict) -> None:
        self._writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        self._flush()

    def close(self) -> None:
        self._file.close()


def _quoted(cell: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([cell])
    return buffer.getvalue()


def _write_parquet(out: Path, frame: pd.DataFrame) -> None:
    """``results.parquet`` beside the CSV when pyarrow is installed (the [parquet] extra)."""
    import importlib.util

    if importlib.util.find_spec("pyarrow") is not None:
        typed = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})
        atomic_write(out / "results.parquet", lambda tmp: typed.to_parquet(tmp))


def _previous(out: Path, key: str) -> pd.DataFrame | None:
    if not (out / "results.csv").exists():
        return None
    previous = read_results(out / "results.csv")
    keys = set(previous["sweep_key"].astype(str))
    if keys and keys != {key}:
        raise ConfigError(f"{out} holds results of another sweep context (sweep key {sorted(keys)}, this run "
                          f"{key}): the base config, the data or the library version changed since. Pass "
                          "another --out, or delete the folder to start afresh.")
    return previous


def run_sweep(config: SweepConfig, out: Path, executor: str = "local", workers: int | None = None,
              address: str | None = None, data: str | None = None, progress: bool = True,
              report: bool = True) -> pd.DataFrame:
    """Run the missing combinations of a sweep and write results, ranking, heatmap and top tearsheets.

    A folder holding results of a *different* sweep context (another base config, other data,
    another library version; see :func:`sweep_key`) is refused instead of reused.
    """
    from tqdm.auto import tqdm

    from lstm_strategies.core.executors import default_workers, run_tasks

    out = claim_folder(out, "sweep")
    for name in ("results.csv", "results.parquet"):
        remove_stale_temporaries(out, name)
    frame = config.base.load_data(data)
    key = sweep_key(config.base, fingerprint(frame))
    previous = _previous(out, key)
    done = set() if previous is None else set(previous["task_id"].astype(str))
    base = config.base.model_dump()
    todo = [{"base": base, "overrides": o, "data": data, "task": task_id(o), "plugins": loaded_plugins()}
            for o in config.tasks if task_id(o) not in done]
    if progress:
        print(f"{config.name}: {len(config.tasks):,} tasks ({len(config.tasks) - len(todo):,} done before, "
              f"{len(todo):,} to run) of {len(frame):,} bars each, on {workers or default_workers()} {executor} "
              "worker(s)", file=sys.stderr)
    results_file = ResultsFile(out / "results.csv", result_columns(config), previous)
    bar = tqdm(total=len(config.tasks), initial=len(config.tasks) - len(todo), desc=config.name,
               unit="task", disable=not progress, leave=False)
    try:
        for _, row in run_tasks(run_sweep_task, todo, executor, workers, address):
            results_file.append({**row, "sweep_key": key})  # on disk now: an interrupted sweep resumes
            bar.update(1)
    finally:
        bar.close()
        results_file.close()
    results = read_results(out / "results.csv")
    results = results[results["task_id"].astype(str).isin({task_id(o) for o in config.tasks})]
    _write_parquet(out, results)
    if report:
        report_sweep(config, results, out, data)
    return results
