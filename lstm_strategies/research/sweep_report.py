"""What a finished sweep reports: the ranking in its metric's direction, the deflated Sharpe ratio of the best
run, a heatmap of two grid keys, tearsheets of the best runs and the dashboard (``index.html``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.core.atomic import atomic_write, atomic_write_text
from lstm_strategies.data.calendar import get_calendar
from lstm_strategies.research.sweep_config import SweepConfig, rankable_metrics, sweep_metrics

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


def report_sweep(config: SweepConfig, results: pd.DataFrame, out: Path, data: str | None) -> None:
    """Write the ranking, summary, heatmap, top runs' reports and the dashboard of a sweep's ``results``."""
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
        keys = {k for task in config.tasks for k in task}
        overrides = {k: _native(row[k]) for k in keys if k in row and not _isnan(row[k])}
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
