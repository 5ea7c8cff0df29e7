"""The numbers of a finished run: QuantStats statistics, costs, decision metrics, bootstrap tests, warnings.

Every number is computed here once (``metrics.json`` holds them); which of them a table shows, how
and in which direction is better come from the declarations (:data:`~lstm_strategies.declarations.COMMON_METRICS`
and each strategy class's ``metrics``), so no list of metric names lives in the reports or sweeps.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from lstm_strategies._version import __version__
from lstm_strategies.core.declarations import COMMON_METRICS, Metric
from lstm_strategies.stats.bootstrap import sharpe_difference

__all__ = ["build_metrics", "compute_metrics", "data_warnings", "declared_metrics", "format_table", "sharpe_difference",
           "summary_table"]


def quantstats():
    from lstm_strategies.core.plotting import configure_matplotlib

    configure_matplotlib()
    import quantstats as qs

    return qs


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def compute_metrics(returns: pd.Series, benchmark: pd.Series | None = None, periods: int = 365,
                    records: pd.DataFrame | None = None) -> dict:
    """Headline statistics with QuantStats' own functions, plus exposure.

    A run that never held the asset (all returns zero) gets ``None`` for the ratios QuantStats
    cannot define, instead of an exception.

    Parameters
    ----------
    returns : Series
        Daily simple returns.
    periods : int
        Periods per year (365 crypto, 252 equities).
    records : DataFrame, optional
        Per-bar strategy records (weights, forecast, hedge ratio).
    """
    qs = quantstats()
    flat = len(returns) < 2 or float(returns.std()) == 0.0
    with warnings.catch_warnings():
        # QuantStats divides by a zero std on flat series; the result is reported as None
        warnings.simplefilter("ignore", RuntimeWarning)
        m = {
            "sharpe": None if flat else _finite(qs.stats.sharpe(returns, periods=periods)),
            "sortino": None if flat else _finite(qs.stats.sortino(returns, periods=periods)),
            "cagr": _finite(qs.stats.cagr(returns, periods=periods)) if len(returns) else None,
            "volatility": _finite(qs.stats.volatility(returns, periods=periods)) if len(returns) > 1 else None,
            "max_drawdown": _finite(qs.stats.max_drawdown(returns)) if len(returns) else None,
            "cvar_95": _finite(qs.stats.cvar(returns, method="historical")) if len(returns) else None,
            "calmar": None if flat else _finite(qs.stats.calmar(returns, periods=periods)),
            "total_return": _finite(qs.stats.comp(returns)) if len(returns) else 0.0,
            "days": int(len(returns)),
            "first_day": str(returns.index[0].date()) if len(returns) else None,
            "last_day": str(returns.index[-1].date()) if len(returns) else None,
        }
        if benchmark is not None and len(benchmark) > 1:
            m["benchmark_sharpe"] = _finite(qs.stats.sharpe(benchmark, periods=periods))
            m["benchmark_max_drawdown"] = _finite(qs.stats.max_drawdown(benchmark))
            m["benchmark_cagr"] = _finite(qs.stats.cagr(benchmark, periods=periods))
            m["benchmark_volatility"] = _finite(qs.stats.volatility(benchmark, periods=periods))
    if records is not None and len(records) and "weight" in records:
        w = records["weight"].dropna()
        m["weight"] = {"mean": float(w.mean()), "p05": float(w.quantile(0.05)), "median": float(w.median()),
                       "p95": float(w.quantile(0.95)), "max": float(w.max())}
        m["exposure"] = float((w.abs() > 1e-9).mean())
        if "hedge_ratio" in records and records["hedge_ratio"].notna().any():
            m["hedge_ratio_mean"] = float(records["hedge_ratio"].mean())
    return m


def _clean(obj):
    """JSON-safe: NaN and inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (pd.Timestamp,)):
        return str(obj)
    return obj


def build_metrics(result) -> dict:
    """Every number the report writes: QuantStats statistics, costs, turnover, decision metrics."""
    from lstm_strategies.backtest.runner import turnover_per_year
    from lstm_strategies.strategies.registry import strategy_class

    cfg, cal = result.config, result.calendar
    periods = int(cal.days_per_year)
    metrics = compute_metrics(result.returns, result.benchmark, periods, result.records)
    years = len(result.returns) / cal.days_per_year if len(result.returns) else float("nan")
    extras = result.extras
    borrowing = extras.get("borrowing", {})
    # cash-settled positions (options, variance swaps) pay the venue's fees and a spread beside the broker
    settled = {k: extras[k] for k in ("option_fees", "option_spread") if k in extras}
    costs = (extras.get("commission", 0.0) + extras.get("slippage", 0.0) + borrowing.get("interest_paid", 0.0)
             + sum(settled.values()))
    metrics.update({
        "turnover_per_year": turnover_per_year(result), "orders": extras.get("orders", 0),
        "orders_rejected": extras.get("rejected_orders", 0),
        "costs": {"commission": extras.get("commission", 0.0), "slippage": extras.get("slippage", 0.0),
                  "borrow_interest": borrowing.get("interest_paid", 0.0), **settled,
                  "total_over_cash_per_year": costs / cfg.backtest.cash / years if years and years > 0 else None},
        "borrowing": borrowing,
        "decision": strategy_class(cfg.strategy.name).decision_metrics(result),
    })
    if result.baseline is not None:
        label, series = result.baseline
        metrics["baseline"] = {"label": label, **compute_metrics(series, None, periods),
                               "sharpe_difference": sharpe_difference(result.returns, series, periods)}
        metrics["baseline"].update(strategy_class(cfg.strategy.name).baseline_metrics(result, series))
    metrics["sharpe_vs_buy_and_hold"] = sharpe_difference(result.returns, result.benchmark, periods)
    metrics["warnings"] = data_warnings(result)
    metrics["provenance"] = {**result.provenance, "quantstats": quantstats().__version__, "periods_per_year": periods,
                             "config_name": cfg.name, "strategy_params": cfg.strategy.params,
                             "forecaster_params": {k: str(v) for k, v in cfg.strategy.forecaster_params.items()},
                             "library": __version__}
    return _clean(metrics)


def data_warnings(result) -> list[str]:
    """One line per degenerate input or outcome: constant prices, zero volume, no trades."""
    out = []
    df, start = result.data, pd.Timestamp(result.provenance.get("trading_start") or result.data.index[0])
    traded = df[df.index >= start]
    if len(traded) > 1 and float(traded["close"].max()) == float(traded["close"].min()):
        out.append(f"the close price is constant ({float(traded['close'].iloc[0]):g}) over the traded period: "
                   "returns are all zero, so Sharpe ratios and volatility forecasts mean nothing")
    if len(df) and not bool((df["volume"] > 0).any()):
        out.append("the volume column is zero on every bar: volume features carry no information (the LSTM's "
                   "volume input is constant); check the data source")
    missing = result.extras.get("days_without_implied", 0)
    if missing:
        out.append(f"no implied volatility from {result.extras.get('implied_source')} was known on {missing} decision "
                   "day(s): nothing was opened or marked at implied on them; check that the series covers the run")
    if result.extras.get("orders", 0) == 0 and not result.extras.get("cash_settled_positions", 0):
        out.append("the strategy placed no orders and held no cash-settled position over the traded period (zero "
                   "exposure): check the forecaster's warm-up, [backtest] start and the strategy's parameters")
    return out




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
