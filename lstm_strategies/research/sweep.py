"""Parameter sweeps: a grid of backtests as independent tasks, resumable, local or on Ray.

A sweep config::

    name = "btc_vol_target_grid"
    base = "../btc_vol_target_ewma.toml"      # relative to this file
    [grid]                                     # every combination is one task
    "params.target_vol" = [0.3, 0.4, 0.5]
    "params.band" = [0.05, 0.1]
    forecaster = ["ewma", "log_har"]
    [report]
    metric = "sharpe"
    heatmap = ["params.target_vol", "params.band"]
    top = 3                                    # tearsheets of the best three

Keys are config fields (``forecaster``, ``start``, ``data_start``, ``commission``...) or
``params.NAME`` / ``forecaster_params.NAME``. Results land in ``results.csv`` and
``results.parquet`` as tasks finish, so re-running the same sweep skips what is done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lstm_strategies._version import __version__
from lstm_strategies.backtest.runner import BacktestConfig, read_toml, run_backtest
from lstm_strategies.core.atomic import (
    atomic_write,
    atomic_write_text,
    claim_folder,
    name_problem,
    remove_stale_temporaries,
)
from lstm_strategies.core.errors import ConfigError
from lstm_strategies.data.bars import fingerprint
from lstm_strategies.data.calendar import get_calendar

EULER_GAMMA = 0.5772156649015329


def deflated_sharpe_ratio(sr_best: float, sr_trials: np.ndarray, n_obs: int, skew: float,
                          kurtosis: float) -> dict:
    r"""Deflated Sharpe ratio (Bailey & López de Prado 2014), per-period (not annualised) inputs.

    The expected maximum Sharpe ratio of ``N`` unskilled trials with Sharpe variance ``V`` is
    :math:`SR_0 = \sqrt{V}\,((1-\gamma)\Phi^{-1}(1 - 1/N) + \gamma\Phi^{-1}(1 - 1/(Ne)))`; the DSR is
    the probability that the true Sharpe of the best trial exceeds :math:`SR_0`, given ``n_obs``
    returns with the best trial's skewness and (non-excess) kurtosis. With one trial it is the
    probabilistic Sharpe ratio against 0.
    """
    sr_trials = np.asarray(sr_trials, dtype="float64")
    n = len(sr_trials)
    if n > 1:
        sd = float(np.std(sr_trials, ddof=1))
        sr0 = sd * ((1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n) + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * math.e)))
    else:
        sr0 = 0.0
    denom = math.sqrt(max(1 - skew * sr_best + (kurtosis - 1) / 4 * sr_best**2, 1e-12))
    z = (sr_best - sr0) * math.sqrt(n_obs - 1) / denom
    return {"dsr": float(stats.norm.cdf(z)), "sr0_per_period": float(sr0), "trials": n}


SWEEP_KEYS = {"name", "description", "base", "grid", "list", "report"}
REPORT_KEYS = {"metric", "heatmap", "top"}


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
    def from_toml(cls, path: str | Path) -> SweepConfig:
        path = Path(path)
        raw = read_toml(path, "sweep config")
        unknown = sorted(set(raw) - SWEEP_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {unknown}; a sweep config takes {sorted(SWEEP_KEYS)}"
                              + ("; a backtest config goes to `lstm-strategies backtest`" if "strategy" in raw else ""))
        if "base" not in raw:
            raise ConfigError(f"{path}: 'base' (the backtest config to vary) is missing")
        base_path = Path(raw["base"]) if Path(raw["base"]).is_absolute() else (path.parent / raw["base"]).resolve()
        base = BacktestConfig.from_toml(base_path)
        grid, listed = raw.get("grid", {}), raw.get("list", [])
        if not grid and not listed:
            raise ConfigError(f"{path}: give a [grid] of values or a [[list]] of overrides")
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{path}: grid.{key} must be a non-empty list")
        keys = list(grid)
        tasks = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid.values())]
        tasks += [dict(item) for item in listed]
        for overrides in tasks:  # every combination is validated like a config file, before anything runs
            try:
                base.with_overrides(**overrides)
            except ConfigError as exc:
                raise ConfigError(f"{path}: combination {overrides}: {exc}") from None
        report = raw.get("report", {})
        bad = sorted(set(report) - REPORT_KEYS)
        if bad:
            raise ConfigError(f"{path}: [report] unknown key(s) {bad}; it takes {sorted(REPORT_KEYS)}")
        heatmap = report.get("heatmap")
        if heatmap and (len(heatmap) != 2 or any(k not in keys for k in heatmap)):
            raise ConfigError(f"{path}: report.heatmap must name two grid keys, got {heatmap}")
        metric = report.get("metric", "sharpe")
        rankable = rankable_metrics(base.strategy.name)
        if metric not in rankable:
            raise ConfigError(f"{path}: report.metric = {metric!r}; choose one of {sorted(rankable)}")
        name = raw.get("name", path.stem)
        if name_problem(name):
            raise ConfigError(f"{path}: name = {name!r}: the name {name_problem(name)}")
        return cls(name, base, tasks, metric, heatmap, int(report.get("top", 3)), str(path))


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


@lru_cache(maxsize=4)
def _data(spec: str | None, base_json: str):
    return BacktestConfig(**json.loads(base_json)).load_data(spec)


def run_sweep_task(base: dict, overrides: dict, data: str | None = None, task: str = "",
                   keep_returns: bool = False, with_baseline: bool = False) -> dict:
    """One backtest of a sweep: returns its parameters and metrics (a flat dict).

    ``keep_returns`` adds the daily returns (``returns``: a Series) for tests across runs;
    ``with_baseline`` also runs the strategy's baseline (``baseline_returns``, ``baseline_label``).
    """
    from lstm_strategies.reports.metrics import build_metrics

    base_cfg = BacktestConfig(**base)
    cfg = base_cfg.with_overrides(**overrides, baselines=False, tearsheet=False)
    frame = _data(data, json.dumps(base, default=str))
    result = run_backtest(cfg, frame, with_baseline=with_baseline)
    r = result.returns
    metrics = build_metrics(result)
    row = {"task_id": task or task_id(overrides), **dict(overrides.items())}
    for metric in sweep_metrics(cfg.strategy.name):
        row[metric.column] = metric.get(metrics)
    row.update(sr_per_period=float(r.mean() / r.std(ddof=1)) if r.std() > 0 else 0.0,
               skew=float(stats.skew(r)) if r.std() > 0 else 0.0,
               kurtosis=float(stats.kurtosis(r, fisher=False)) if r.std() > 0 else 3.0, days=len(r),
               in_sample=result.provenance["in_sample"], orders=result.extras["orders"])
    if keep_returns:
        row["returns"] = r
    if with_baseline and result.baseline is not None:
        row["baseline_label"], row["baseline_returns"] = result.baseline
    return row


def _read_results(path: Path) -> pd.DataFrame:
    """The rows of an earlier run of this sweep; a truncated or foreign file is one clear error."""
    import io

    from lstm_strategies.core.readers import read_text

    advice = "move the file away (or pass another --out) to start the sweep afresh"
    try:
        frame = pd.read_csv(io.StringIO(read_text(path, "sweep results", ConfigError, advice)))
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{path}: not readable as a sweep's results ({type(exc).__name__}: {exc}); "
                          f"{advice}") from None
    missing = [c for c in ("task_id", "sweep_key") if c not in frame]
    if missing or frame[["task_id", "sweep_key"]].isna().any().any():
        what = f"has no column(s) {missing}" if missing else "has rows without a task_id or sweep_key"
        raise ConfigError(f"{path}: {what}: it is truncated or not written by a sweep; {advice}")
    return frame


def _write_results(out: Path, rows: list[dict]) -> pd.DataFrame:
    """``results.csv`` always; ``results.parquet`` too when pyarrow is installed (the [parquet] extra)."""
    import importlib.util

    frame = pd.DataFrame(rows)
    atomic_write(out / "results.csv", lambda tmp: frame.to_csv(tmp, index=False))
    if importlib.util.find_spec("pyarrow") is not None:
        typed = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})
        atomic_write(out / "results.parquet", lambda tmp: typed.to_parquet(tmp))
    return frame


def run_sweep(config: SweepConfig, out: Path, executor: str = "local", workers: int | None = None,
              address: str | None = None, data: str | None = None, progress: bool = True,
              report: bool = True) -> pd.DataFrame:
    """Run the missing combinations of a sweep and write results, ranking, heatmap and top tearsheets.

    A folder holding results of a *different* sweep context (another base config, other data,
    another library version; see :func:`sweep_key`) is refused instead of reused.
    """
    from tqdm.auto import tqdm

    from lstm_strategies.core.executors import run_tasks

    out = claim_folder(out, "sweep")
    remove_stale_temporaries(out, "results.csv")
    remove_stale_temporaries(out, "results.parquet")
    key = sweep_key(config.base, fingerprint(config.base.load_data(data)))
    done_rows: list[dict] = []
    if (out / "results.csv").exists():
        previous = _read_results(out / "results.csv")
        keys = set(previous["sweep_key"].astype(str)) if "sweep_key" in previous else {"(none)"}
        if keys != {key}:
            raise ConfigError(f"{out} holds results of another sweep context (sweep key {sorted(keys)}, this run "
                              f"{key}): the base config, the data or the library version changed since. Pass "
                              "another --out, or delete the folder to start afresh.")
        done_rows = previous.to_dict("records")
    done = {row["task_id"] for row in done_rows}
    base = config.base.model_dump()
    todo = [{"base": base, "overrides": o, "data": data, "task": task_id(o)} for o in config.tasks
            if task_id(o) not in done]
    bar = tqdm(total=len(config.tasks), initial=len(config.tasks) - len(todo), desc=config.name,
               unit="task", disable=not progress, leave=False)
    try:
        for _, row in run_tasks(run_sweep_task, todo, executor, workers, address):
            done_rows.append({**row, "sweep_key": key})
            _write_results(out, done_rows)  # every finished task is on disk: an interrupted sweep resumes
            bar.update(1)
    finally:
        bar.close()
    results = pd.DataFrame(done_rows)
    wanted = {task_id(o) for o in config.tasks}
    results = results[results["task_id"].isin(wanted)]
    if report:
        _report(config, results, out, data)
    return results


def _report(config: SweepConfig, results: pd.DataFrame, out: Path, data: str | None) -> None:
    from tqdm.auto import tqdm

    from lstm_strategies.core.plotting import new_figure, save_figure
    from lstm_strategies.reports.dashboard import sweep_page, write_page
    from lstm_strategies.reports.metrics import format_table
    from lstm_strategies.reports.write import write_report

    metric = config.metric
    higher = rankable_metrics(config.base.strategy.name)[metric]
    ranking = results.sort_values(metric, ascending=not higher, na_position="last").reset_index(drop=True)
    best = ranking.iloc[0]
    dsr = deflated_sharpe_ratio(best["sr_per_period"], results["sr_per_period"].to_numpy(), int(best["days"]),
                                best["skew"], best["kurtosis"])
    summary = {"configurations_tried": int(len(results)), "best_task": best["task_id"],
               f"best_{metric}": float(best[metric]), "deflated_sharpe_ratio": dsr["dsr"],
               "expected_max_sharpe_of_unskilled_trials_annualised":
                   dsr["sr0_per_period"] * math.sqrt(get_calendar(config.base.data.calendar).days_per_year)}
    atomic_write(out / "ranking.csv", lambda tmp: ranking.to_csv(tmp, index=False))
    shown = ranking.drop(columns=["sr_per_period", "skew", "kurtosis", "sweep_key"], errors="ignore")
    shown = format_table(shown, sweep_metrics(config.base.strategy.name), by="column")  # people read units
    atomic_write_text(out / "ranking.md", shown.to_markdown(index=False) + "\n\n"
                      + json.dumps(summary, indent=2) + "\n")
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    if config.heatmap:
        _heatmap(results, config.heatmap, metric, out / "heatmap.png", new_figure, save_figure)
    tops = {}
    best_rows = list(ranking.head(config.top).iterrows())
    for i, row in tqdm(best_rows, desc="reports of the best runs", unit="report", leave=False):
        overrides = {k: _native(row[k]) for k in config.tasks[0] if k in row and not _isnan(row[k])}
        cfg = config.base.with_overrides(**overrides, name=f"{config.name}_top{i + 1}")
        tops[f"top{i + 1}"] = write_report(run_backtest(cfg, cfg.load_data(data)), out / f"top{i + 1}")
    write_page(out / "index.html", sweep_page(config.name, shown, summary, bool(config.heatmap), tops))
    print(shown.head(10).to_string(index=False))
    print(f"\n{len(results)} configurations tried; best {metric} {best[metric]:.3f}; deflated Sharpe ratio "
          f"{dsr['dsr']:.3f} (probability that the best is skilled after {len(results)} trials)")
    print(f"wrote {out}/index.html, results.csv, results.parquet, ranking.md, summary.json"
          + (", heatmap.png" if config.heatmap else "") + f" and top1..top{min(config.top, len(results))}/")


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _native(v):
    return v.item() if hasattr(v, "item") else v


def _heatmap(results: pd.DataFrame, keys: list[str], metric: str, path: Path, new_figure, save_figure) -> None:
    table = results.pivot_table(index=keys[0], columns=keys[1], values=metric, aggfunc="mean")
    fig, ax = new_figure(1.3 * len(table.columns) + 4.5, 0.6 * len(table) + 2.5)
    im = ax.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns])
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    ax.set_xlabel(keys[1])
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", color="white", fontsize=9)
    bar = fig.colorbar(im, ax=ax, fraction=0.08, pad=0.04)
    bar.set_label(f"{metric}\n(mean over the other parameters)", fontsize=8)
    save_figure(fig, path, f"{metric} by {keys[0]} and {keys[1]}", keys[0], legend=False)
