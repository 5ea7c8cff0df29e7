"""The tables of runs: which metrics each shows, in which unit and direction, from the declarations.

The numbers are computed once, by :class:`~lstm_strategies.reports.run_report.RunReport` (``metrics.json`` is
its dict); which of them a table shows, how, and which direction is better come from the declarations
(:data:`~lstm_strategies.core.declarations.COMMON_METRICS` and each strategy class's ``metrics``), so no list of
metric names lives in the reports or sweeps.
"""

from __future__ import annotations

import math

import pandas as pd

from lstm_strategies.core.declarations import COMMON_METRICS, Metric
from lstm_strategies.reports.run_report import Performance, RunReport, quantstats  # noqa: F401  (re-exported)
from lstm_strategies.stats.bootstrap import sharpe_difference  # noqa: F401  (re-exported)

__all__ = ["build_metrics", "compute_metrics", "declared_metrics", "format_table", "sharpe_difference", "summary_table"]


def compute_metrics(returns: pd.Series, benchmark: pd.Series | None = None, periods: int = 365,
                    records: pd.DataFrame | None = None) -> dict:
    """QuantStats' headline statistics of daily ``returns`` (and buy-and-hold's), as ``metrics.json`` holds them
    (:class:`~lstm_strategies.reports.run_report.Performance`); with ``records``, the weight held and the exposure."""
    out = Performance.of(returns, periods, benchmark).to_dict()
    if records is not None and len(records) and "weight" in records:
        w = records["weight"].dropna()
        out["weight"] = {"mean": float(w.mean()), "p05": float(w.quantile(0.05)), "median": float(w.median()),
                         "p95": float(w.quantile(0.95)), "max": float(w.max())}
        out["exposure"] = float((w.abs() > 1e-9).mean())
    return out


def build_metrics(result) -> dict:
    """Every number a run reports, as ``metrics.json`` holds them: :class:`RunReport` ``.of(result).to_dict()``."""
    return RunReport.of(result).to_dict()


def declared_metrics(strategy_names) -> list[Metric]:
    """The common metrics, then each named strategy's own, in declaration order, without repeats."""
    from lstm_strategies.strategies.registry import STRATEGIES

    out = {m.key: m for m in COMMON_METRICS}
    for name in strategy_names:
        cls = STRATEGIES.get(name)
        for m in getattr(cls, "metrics", ()):
            out.setdefault(m.key, m)
    return list(out.values())


def _headline(all_metrics: dict[str, dict]) -> list[Metric]:
    names = [m.get("provenance", {}).get("strategy") for m in all_metrics.values()]
    common = [m for m in COMMON_METRICS if m.headline and m.key != "costs.total_over_cash_per_year"]
    decision = [m for m in declared_metrics(names) if m.headline and m not in COMMON_METRICS]
    costs = [m for m in COMMON_METRICS if m.key == "costs.total_over_cash_per_year"]
    return common + decision + costs


def summary_table(all_metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per run with the headline numbers (raw: fractions), and one buy-and-hold row per asset.

    The columns are the declared headline metrics: the common ones always (a run that cannot define
    one, e.g. a Sharpe ratio without trades, has an empty cell), each run's strategy's own after them
    (a decision column shows when some run has a value).
    """
    metrics = _headline(all_metrics)
    rows, assets = {}, {}
    for name, m in all_metrics.items():
        rows[name] = {metric.label: metric.get(m) for metric in metrics}
        rows[name]["in-sample"] = m.get("provenance", {}).get("in_sample")
        source = m.get("provenance", {}).get("data_source") or "asset"
        period = (m.get("first_day"), m.get("last_day"))
        if "benchmark_sharpe" in m:
            assets.setdefault((source, period), m)
    for (source, period), m in assets.items():
        label = f"buy and hold {source}" + (f" {period[0]}..{period[1]}" if len({p for _, p in assets}) > 1 else "")
        rows[label] = {"Sharpe": m["benchmark_sharpe"], "CAGR": m.get("benchmark_cagr"),
                       "Vol": m.get("benchmark_volatility"), "MaxDD": m.get("benchmark_max_drawdown")}
    table = pd.DataFrame(rows).T.reindex(columns=[m.label for m in metrics] + ["in-sample"])
    empty = [m.label for m in metrics if m not in COMMON_METRICS and table[m.label].isna().all()]
    return table.drop(columns=empty)


def format_table(table: pd.DataFrame, metrics: list[Metric] | None = None, by: str = "label") -> pd.DataFrame:
    """A table of raw metric values as people read it: each metric column in its declared unit (found
    by its ``label``, or by its ``column`` in sweep results), empty cells for undefined values."""
    found = {getattr(m, by): m for m in (metrics or declared_metrics(_all_strategy_names()))}
    shown = table.copy().astype(object)
    for col in shown:
        metric = found.get(col)
        if metric is not None:
            shown[col] = [metric.format(v) for v in table[col]]
        else:
            shown[col] = ["" if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in table[col]]
    return shown


def _all_strategy_names() -> list[str]:
    from lstm_strategies.strategies.registry import STRATEGIES

    return list(STRATEGIES)
