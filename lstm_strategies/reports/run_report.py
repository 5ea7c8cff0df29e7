"""The typed report of one run, computed once, from which every output renders.

:meth:`RunReport.of` measures a finished run (:class:`~lstm_strategies.backtest.runner.BacktestResult`):
QuantStats' statistics, trading, costs, the strategy's decision metrics, the tests against its baseline and
buy-and-hold, warnings and provenance. ``metrics.json`` is :meth:`RunReport.to_dict`; the summary tables, the
tearsheet's section and the dashboards read the report. Nothing here knows a strategy by name or reads one of
its keys: a strategy declares what the report shows of it (``metrics``, ``baseline_declared``,
``settled_costs``) and says what only it knows through its hooks (``decision_metrics``, ``baseline_metrics``,
``run_warnings``, ``describe``, ``positions_beside_broker``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lstm_strategies._version import __version__
from lstm_strategies.core.errors import ReportError
from lstm_strategies.stats.bootstrap import sharpe_difference

__all__ = ["BaselineComparison", "Costs", "Performance", "Provenance", "RunReport", "Trading"]


def quantstats():
    from lstm_strategies.core.plotting import configure_matplotlib

    configure_matplotlib()
    import quantstats as qs

    return qs


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Performance:
    """QuantStats' statistics of daily returns (fractions; None where a flat series leaves a ratio undefined)."""

    sharpe: float | None
    sortino: float | None
    cagr: float | None
    volatility: float | None
    max_drawdown: float | None
    cvar_95: float | None       # historical: the mean of the worst 5% of days (QuantStats' cvar(method="historical"))
    calmar: float | None
    total_return: float | None
    days: int
    first_day: str | None
    last_day: str | None
    benchmark: dict | None = None   # buy-and-hold: sharpe, max_drawdown, cagr, volatility

    @classmethod
    def of(cls, returns: pd.Series, periods: int, benchmark: pd.Series | None = None) -> Performance:
        import warnings

        qs = quantstats()
        n = len(returns)
        flat = n < 2 or float(returns.std()) == 0.0
        with warnings.catch_warnings():
            # QuantStats divides by a zero std on flat series; the result is reported as None
            warnings.simplefilter("ignore", RuntimeWarning)
            bench = None
            if benchmark is not None and len(benchmark) > 1:
                bench = {"sharpe": _finite(qs.stats.sharpe(benchmark, periods=periods)),
                         "max_drawdown": _finite(qs.stats.max_drawdown(benchmark)),
                         "cagr": _finite(qs.stats.cagr(benchmark, periods=periods)),
                         "volatility": _finite(qs.stats.volatility(benchmark, periods=periods))}
            return cls(
                sharpe=None if flat else _finite(qs.stats.sharpe(returns, periods=periods)),
                sortino=None if flat else _finite(qs.stats.sortino(returns, periods=periods)),
                cagr=_finite(qs.stats.cagr(returns, periods=periods)) if n else None,
                volatility=_finite(qs.stats.volatility(returns, periods=periods)) if n > 1 else None,
                max_drawdown=_finite(qs.stats.max_drawdown(returns)) if n else None,
                cvar_95=_finite(qs.stats.cvar(returns, method="historical")) if n else None,
                calmar=None if flat else _finite(qs.stats.calmar(returns, periods=periods)),
                total_return=_finite(qs.stats.comp(returns)) if n else 0.0,
                days=int(n), first_day=str(returns.index[0].date()) if n else None,
                last_day=str(returns.index[-1].date()) if n else None, benchmark=bench)

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("sharpe", "sortino", "cagr", "volatility", "max_drawdown", "cvar_95",
                                              "calmar", "total_return", "days", "first_day", "last_day")}
        if self.benchmark is not None:
            out.update({f"benchmark_{k}": v for k, v in self.benchmark.items()})
        return out


@dataclass(frozen=True)
class Trading:
    """What was traded at the broker: turnover, orders, the weight held."""

    turnover_per_year: float | None
    orders: int
    orders_rejected: int
    weight: dict | None = None          # mean, p05, median, p95, max of the weight held
    exposure: float | None = None       # share of bars holding the asset
    hedge_ratio_mean: float | None = None

    @classmethod
    def of(cls, result) -> Trading:
        from lstm_strategies.backtest.runner import turnover_per_year

        records, broker = result.records, result.broker
        weight = exposure = hedge = None
        if len(records) and "weight" in records:
            w = records["weight"].dropna()
            weight = {"mean": float(w.mean()), "p05": float(w.quantile(0.05)), "median": float(w.median()),
                      "p95": float(w.quantile(0.95)), "max": float(w.max())}
            exposure = float((w.abs() > 1e-9).mean())
            if "hedge_ratio" in records and records["hedge_ratio"].notna().any():
                hedge = float(records["hedge_ratio"].mean())
        return cls(turnover_per_year(result), broker.orders, broker.rejected_orders, weight, exposure, hedge)


@dataclass(frozen=True)
class Costs:
    """Costs paid: the broker's commission and slippage, interest on borrowing, and what the strategy settles in
    cash beside the broker (its declared ``settled_costs``), in money; the total a year over the starting cash."""

    commission: float
    slippage: float
    borrow_interest: float
    settled: dict[str, float] = field(default_factory=dict)
    total_over_cash_per_year: float | None = None

    @classmethod
    def of(cls, result, years: float) -> Costs:
        broker, extras = result.broker, result.extras
        settled = {m.key.rsplit(".", 1)[-1]: float(extras[m.key.rsplit(".", 1)[-1]])
                   for m in result.strategy.settled_costs if m.key.rsplit(".", 1)[-1] in extras}
        interest = broker.borrowing.get("interest_paid", 0.0)
        total = broker.commission + broker.slippage + interest + sum(settled.values())
        per_year = total / result.config.backtest.cash / years if years and years > 0 else None
        return cls(broker.commission, broker.slippage, interest, settled, per_year)

    def to_dict(self) -> dict:
        return {"commission": self.commission, "slippage": self.slippage, "borrow_interest": self.borrow_interest,
                **self.settled, "total_over_cash_per_year": self.total_over_cash_per_year}


@dataclass(frozen=True)
class BaselineComparison:
    """The strategy's comparison run: its label, statistics, the Sharpe-difference test and the strategy's own
    comparison metrics (``baseline_metrics``)."""

    label: str
    performance: Performance
    sharpe_difference: dict
    strategy_metrics: dict

    def to_dict(self) -> dict:
        return {"label": self.label, **self.performance.to_dict(), "sharpe_difference": self.sharpe_difference,
                **self.strategy_metrics}


@dataclass(frozen=True)
class Provenance:
    """What ran on what: the run's own record (config, data, model, trading start...) and the versions."""

    run: dict
    quantstats: str
    periods_per_year: int
    config_name: str
    strategy_params: dict
    forecaster_params: dict

    def to_dict(self) -> dict:
        return {**self.run, "quantstats": self.quantstats, "periods_per_year": self.periods_per_year,
                "config_name": self.config_name, "strategy_params": self.strategy_params,
                "forecaster_params": self.forecaster_params, "library": __version__}


@dataclass(frozen=True)
class RunReport:
    """Every number one run reports, computed once (:meth:`of`); ``metrics.json`` is :meth:`to_dict`."""

    name: str
    strategy: type
    performance: Performance
    trading: Trading
    costs: Costs
    borrowing: dict
    decision: dict
    baseline: BaselineComparison | None
    versus_buy_and_hold: dict
    warnings: tuple[str, ...]
    provenance: Provenance
    title: str

    @classmethod
    def of(cls, result) -> RunReport:
        """Measure a finished run. A ``decision.*`` metric the strategy declares and does not return is a
        :class:`~lstm_strategies.core.errors.ReportError` (a misspelt key would otherwise drop a column)."""
        from lstm_strategies.reports.warnings import run_warnings

        cfg, cal, strategy = result.config, result.calendar, result.strategy
        periods = int(cal.days_per_year)
        years = len(result.returns) / cal.days_per_year if len(result.returns) else float("nan")
        decision = strategy.decision_metrics(result)
        _check_declared(strategy, decision)
        baseline = None
        if result.baseline is not None:
            label, series = result.baseline
            baseline = BaselineComparison(label, Performance.of(series, periods),
                                          sharpe_difference(result.returns, series, periods),
                                          strategy.baseline_metrics(result, series))
        provenance = Provenance(result.provenance, quantstats().__version__, periods, cfg.name,
                                dict(cfg.strategy.params),
                                {k: str(v) for k, v in cfg.strategy.forecaster_params.items()})
        title = f"{cfg.name}: {cfg.strategy.name} with {cfg.strategy.forecaster}{strategy.describe(result)}"
        if result.provenance.get("in_sample"):
            title += " [IN-SAMPLE]"
        return cls(cfg.name, strategy, Performance.of(result.returns, periods, result.benchmark),
                   Trading.of(result), Costs.of(result, years), dict(result.broker.borrowing), decision, baseline,
                   sharpe_difference(result.returns, result.benchmark, periods), tuple(run_warnings(result)),
                   provenance, title)

    def to_dict(self) -> dict:
        """``metrics.json``: fractions, JSON-safe (NaN and inf as null), keys in the order of 0.3.0."""
        out = self.performance.to_dict()
        trading = self.trading
        if trading.weight is not None:
            out["weight"], out["exposure"] = trading.weight, trading.exposure
            if trading.hedge_ratio_mean is not None:
                out["hedge_ratio_mean"] = trading.hedge_ratio_mean
        out.update({"turnover_per_year": trading.turnover_per_year, "orders": trading.orders,
                    "orders_rejected": trading.orders_rejected, "costs": self.costs.to_dict(),
                    "borrowing": self.borrowing, "decision": self.decision})
        if self.baseline is not None:
            out["baseline"] = self.baseline.to_dict()
        out["sharpe_vs_buy_and_hold"] = self.versus_buy_and_hold
        out["warnings"] = list(self.warnings)
        out["provenance"] = self.provenance.to_dict()
        return clean(out)


def _check_declared(strategy: type, decision: dict) -> None:
    missing = []
    for metric in strategy.metrics:
        parts = metric.key.split(".")
        if parts[0] != "decision":
            continue
        node = decision
        for part in parts[1:]:
            if not isinstance(node, dict) or part not in node:
                missing.append(metric.key)
                break
            node = node[part]
    if missing:
        raise ReportError(f"strategy {strategy.name!r} declares the metric(s) {missing} but its decision_metrics() "
                          f"returns no such key(s) (it returns {sorted(decision)}): fix the key, or return None for "
                          "a value a run cannot define (ForecastStrategy.undefined_decisions)")


def clean(obj: Any):
    """JSON-safe: NaN and inf become null, numpy scalars become Python numbers, timestamps text."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return str(obj)
    return obj
