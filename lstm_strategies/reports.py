"""QuantStats tearsheets, metrics.json, returns.csv and plots for a backtest, written atomically.

QuantStats is used fully offline: the benchmark is always a pandas Series (a ticker string would
make it try to download), returns are daily (hourly results are compounded to days first) and
annualisation follows the run's calendar (365 days for crypto, 252 for equities).

The report knows no strategy by name: the strategy class supplies its decision metrics (TE30
for vol targeting, hedging errors for replicated options, premiums and payoffs for the overlay)
and its baseline run.
"""

from __future__ import annotations

import html as html_lib
import json
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies._version import __version__
from lstm_strategies.atomic import atomic_write, atomic_write_text, check_destination, child, output_folder
from lstm_strategies.plotting import configure_matplotlib, growth_axis, new_figure, percent_axis, save_figure

__all__ = ["compare", "compute_metrics", "configure_matplotlib", "print_summary", "sharpe_difference",
           "summary_table", "write_report"]


def _qs():
    configure_matplotlib()
    import quantstats as qs

    return qs


def _naive(series: pd.Series) -> pd.Series:
    if getattr(series.index, "tz", None) is not None:
        series = series.copy()
        series.index = series.index.tz_localize(None)
    return series


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
    qs = _qs()
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


def sharpe_difference(a: pd.Series, b: pd.Series, periods: int = 365, reps: int = 1000, block: int = 10,
                      seed: int = 0) -> dict:
    """Annualised Sharpe ratio of ``a`` minus that of ``b`` with a stationary-bootstrap p-value.

    ``arch.bootstrap.StationaryBootstrap`` resamples the paired daily returns in blocks (mean
    length ``block`` days), keeping their correlation and serial dependence; the p-value is
    two-sided, from the bootstrap distribution of the difference centred on the estimate.
    """
    from arch.bootstrap import StationaryBootstrap

    pair = pd.concat([a, b], axis=1).dropna().to_numpy()
    if len(pair) < 30 or pair[:, 0].std() == 0 or pair[:, 1].std() == 0:
        return {"diff": None, "pvalue": None, "days": int(len(pair))}

    def diff(x: np.ndarray) -> float:
        s = x.mean(axis=0) / x.std(axis=0, ddof=1)
        return float((s[0] - s[1]) * math.sqrt(periods))

    estimate = diff(pair)
    bs = StationaryBootstrap(block, pair, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.array([diff(data[0][0]) for data in bs.bootstrap(reps)])
    # a resample of a series that is mostly flat (a rule that rarely trades) can have zero variance:
    # its Sharpe ratio is undefined, so the draw is dropped rather than poisoning the mean with NaN
    draws = draws[np.isfinite(draws)]
    if len(draws) < reps // 2:
        return {"diff": estimate, "pvalue": None, "days": int(len(pair)), "reps": reps, "block": block,
                "note": f"only {len(draws)} of {reps} resamples had a defined Sharpe ratio"}
    centred = draws - draws.mean()
    pvalue = float(np.mean(np.abs(centred) >= abs(estimate)))
    return {"diff": estimate, "pvalue": max(pvalue, 1.0 / len(draws)), "days": int(len(pair)),
            "reps": int(len(draws)), "block": block}


def _plot_equity(path: Path, name: str, returns: pd.Series, benchmark: pd.Series,
                 baseline: tuple[str, pd.Series] | None) -> None:
    fig, ax = new_figure(10, 4.5)
    ax.plot(returns.index, (1 + returns).cumprod(), lw=1.6, label=name)
    ax.plot(benchmark.index, (1 + benchmark).cumprod(), lw=1.0, color="grey", label="buy and hold")
    if baseline is not None:
        label, series = baseline
        ax.plot(series.index, (1 + series).cumprod(), lw=1.0, ls="--", label=label)
    growth_axis(ax)
    save_figure(fig, path, f"{name}: growth of 1 after costs", "growth of 1 (log scale)")


def _plot_vol(path: Path, name: str, records: pd.DataFrame, data: pd.DataFrame, days_per_year: float,
              horizon: int, calendar) -> None:
    from lstm_strategies.features import forward_realized_variance

    forecast = records["forecast_vol"].resample("1D").last()
    realized = forward_realized_variance(data, horizon, calendar)
    realized = np.sqrt(realized * days_per_year / horizon).resample("1D").last().reindex(forecast.index)
    fig, ax = new_figure(10, 4.2)
    ax.plot(realized.index, realized, lw=0.7, color="0.55", label=f"realized over the next {horizon} day(s)")
    ax.plot(forecast.index, forecast, lw=1.3, color="darkred", label=f"forecast, {horizon}-day horizon")
    if "implied_vol" in records and records["implied_vol"].notna().any():
        iv = records["implied_vol"].resample("1D").last()
        ax.plot(iv.index, iv, lw=1.1, color="tab:green", label="implied vol (prices the put; the decision's bar)")
    percent_axis(ax)
    save_figure(fig, path, f"{name}: the forecast the strategy used against what was realized",
                "annualised volatility")


def _plot_weights(path: Path, name: str, records: pd.DataFrame) -> None:
    daily = records.resample("1D").last()
    fig, ax = new_figure(10, 3.8)
    ax.plot(daily.index, daily["weight"], lw=1.2, label="weight held")
    ax.plot(daily.index, daily["target_weight"], lw=0.8, ls="--", label="target weight")
    if "hedged" in daily and daily["hedged"].fillna(0).any():
        held = daily["hedged"].fillna(0) > 0
        top = float(np.nanmax(daily["weight"])) if daily["weight"].notna().any() else 1.0
        ax.fill_between(daily.index, 0, top, where=held.to_numpy(), color="tab:orange", alpha=0.2, step="post",
                        label="put held")
    elif "floor" in daily and daily["floor"].notna().any():
        ax.plot(daily.index, daily["hedge_ratio"], lw=0.8, alpha=0.8, label="delta of asset + options")
    percent_axis(ax)
    save_figure(fig, path, f"{name}: share of the portfolio in the asset", "share of portfolio")


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
    from lstm_strategies.backtest import turnover_per_year
    from lstm_strategies.strategies import strategy_class

    cfg, cal = result.config, result.calendar
    periods = int(cal.days_per_year)
    metrics = compute_metrics(result.returns, result.benchmark, periods, result.records)
    years = len(result.returns) / cal.days_per_year if len(result.returns) else float("nan")
    extras = result.extras
    borrowing = extras.get("borrowing", {})
    costs = extras.get("commission", 0.0) + extras.get("slippage", 0.0) + borrowing.get("interest_paid", 0.0)
    metrics.update({
        "turnover_per_year": turnover_per_year(result), "orders": extras.get("orders", 0),
        "orders_rejected": extras.get("rejected_orders", 0),
        "costs": {"commission": extras.get("commission", 0.0), "slippage": extras.get("slippage", 0.0),
                  "borrow_interest": borrowing.get("interest_paid", 0.0),
                  "total_over_cash_per_year": costs / cfg.cash / years if years and years > 0 else None},
        "borrowing": borrowing,
        "decision": strategy_class(cfg.strategy).decision_metrics(result),
    })
    if result.baseline is not None:
        label, series = result.baseline
        metrics["baseline"] = {"label": label, **compute_metrics(series, None, periods),
                               "sharpe_difference": sharpe_difference(result.returns, series, periods)}
        if cfg.strategy_params.get("target_vol") is not None:
            from lstm_strategies.strategies import rolling_tracking_error

            metrics["baseline"]["te30"] = rolling_tracking_error(series, float(cfg.strategy_params["target_vol"]),
                                                                 30, cal.days_per_year)["te30"]
    metrics["sharpe_vs_buy_and_hold"] = sharpe_difference(result.returns, result.benchmark, periods)
    metrics["warnings"] = data_warnings(result)
    metrics["provenance"] = {**result.provenance, "quantstats": _qs().__version__, "periods_per_year": periods,
                             "config_name": cfg.name, "strategy_params": cfg.strategy_params,
                             "forecaster_params": {k: str(v) for k, v in cfg.forecaster_params.items()},
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
    if result.extras.get("orders", 0) == 0:
        out.append("the strategy placed no orders over the traded period (zero exposure): check the forecaster's "
                   "warm-up, [backtest] start and the strategy's parameters")
    return out


#: what QuantStats' page template adds that a shared, offline report must not have: an icon fetched
#: from the network and a handler calling a function the page does not define
_QS_ONLINE = (re.compile(r'<link rel="shortcut icon" href="https?://[^"]*"[^>]*>'), re.compile(r' onload="save\(\)"'))


def _offline(_, path: str) -> None:
    """Strip :data:`_QS_ONLINE` from a QuantStats page in place: opening it makes no request, runs no script."""
    page = Path(path).read_text()
    for pattern in _QS_ONLINE:
        page = pattern.sub("", page)
    Path(path).write_text(page)


def _flat_page(title: str, metrics: dict) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html_lib.escape(title)}</title></head><body>"
            f"<h1>{html_lib.escape(title)}</h1><p>The strategy held no position over the scored period: every "
            "daily return is zero, so QuantStats' ratios are undefined and no tearsheet is drawn. "
            f"Exposure: {metrics.get('exposure', 0):.0%}; orders: {metrics.get('orders', 0)}.</p></body></html>")


def _title(result) -> str:
    cfg = result.config
    title = f"{cfg.name}: {cfg.strategy} with {cfg.forecaster}"
    source = (result.extras.get("implied_source") or "")
    if source:
        title += f", options priced at implied vol ({source})"
    if result.provenance.get("in_sample"):
        title += " [IN-SAMPLE]"
    return title


def write_report(result, out: str | Path, tearsheet: bool | None = None) -> dict:
    """Write ``tearsheet.html``, ``metrics.json``, ``returns.csv`` and PNG plots into ``out``, atomically.

    The folder is built beside ``out`` and swapped in at the end: an interrupted report leaves
    the previous folder as it was. Returns the metrics.
    """
    cfg = result.config
    tearsheet = cfg.tearsheet if tearsheet is None else tearsheet
    periods = int(result.calendar.days_per_year)
    returns, benchmark = result.returns, result.benchmark
    metrics = build_metrics(result)
    with output_folder(out, "backtest report") as tmp:
        frame = pd.DataFrame({"strategy": returns, "benchmark": benchmark})
        if result.baseline is not None:
            frame["baseline"] = result.baseline[1].reindex(frame.index)
        frame.index.name = "date"
        atomic_write(tmp / "returns.csv", lambda p: frame.to_csv(p))
        for key, table in result.extras.items():
            if isinstance(table, pd.DataFrame) and len(table):
                atomic_write(tmp / f"{key}.csv", lambda p, t=table: t.to_csv(p, index=False))
        if tearsheet:
            title = _title(result)
            if returns.std() == 0 or len(returns) < 2:
                atomic_write_text(tmp / "tearsheet.html", _flat_page(title, metrics))
            else:
                qs = _qs()
                bench = _naive(benchmark.rename("buy and hold"))
                with warnings.catch_warnings():
                    # QuantStats' seaborn plots use APIs matplotlib has deprecated: third-party noise
                    warnings.filterwarnings("ignore", category=DeprecationWarning, module="seaborn")
                    warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
                    # QuantStats puts the title into its page as it is: escape it (names are user input)
                    atomic_write(tmp / "tearsheet.html", lambda p: _offline(qs.reports.html(
                        _naive(returns.rename(cfg.name)), benchmark=bench, output=p, periods_per_year=periods,
                        title=html_lib.escape(title), download_filename="tearsheet.html"), p))
        traded = result.records
        _plot_equity(tmp / "equity.png", cfg.name, returns, benchmark, result.baseline)
        if len(traded) and traded["forecast_vol"].notna().any():
            _plot_vol(tmp / "forecast_vol.png", cfg.name, traded, result.data, result.calendar.days_per_year,
                      int(result.horizon_days or 1), result.calendar)
        if len(traded):
            _plot_weights(tmp / "weights.png", cfg.name, traded)
        atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


#: (metrics key, column, format) of the summary tables; nested keys use dots
SUMMARY_KEYS = [("sharpe", "Sharpe", "{:.2f}"), ("sortino", "Sortino", "{:.2f}"), ("cagr", "CAGR", "{:.1%}"),
                ("volatility", "Vol", "{:.1%}"), ("max_drawdown", "MaxDD", "{:.1%}"),
                ("cvar_95", "CVaR95", "{:.2%}"), ("turnover_per_year", "Turnover/yr", "{:.1f}"),
                ("decision.te30", "TE30", "{:.1%}"), ("decision.hedge_error_std", "Hedge err sd", "{:.2%}"),
                ("costs.total_over_cash_per_year", "Costs/yr", "{:.2%}")]


def _get(m: dict, key: str):
    for part in key.split("."):
        if not isinstance(m, dict):
            return None
        m = m.get(part)
    return m


#: decision columns, shown only when some run has them (the headline columns always show)
OPTIONAL_COLUMNS = ("TE30", "Hedge err sd")


def summary_table(all_metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per run with the headline numbers, and one buy-and-hold row per asset.

    The headline columns stay even when a run cannot define them (a run that never trades has no
    Sharpe ratio: its cell is empty); decision columns appear when a run has them.
    """
    rows, assets = {}, {}
    for name, m in all_metrics.items():
        rows[name] = {label: _get(m, key) for key, label, _ in SUMMARY_KEYS}
        rows[name]["in-sample"] = m.get("provenance", {}).get("in_sample")
        source = m.get("provenance", {}).get("data_source") or "asset"
        period = (m.get("first_day"), m.get("last_day"))
        if "benchmark_sharpe" in m:
            assets.setdefault((source, period), m)
    for (source, period), m in assets.items():
        label = f"buy and hold {source}" + (f" {period[0]}..{period[1]}" if len({p for _, p in assets}) > 1 else "")
        rows[label] = {"Sharpe": m["benchmark_sharpe"], "CAGR": m.get("benchmark_cagr"),
                       "Vol": m.get("benchmark_volatility"), "MaxDD": m.get("benchmark_max_drawdown")}
    table = pd.DataFrame(rows).T
    empty = [c for c in OPTIONAL_COLUMNS if c in table and table[c].isna().all()]
    return table.drop(columns=empty)


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """The summary with percentages and fixed decimals as text; empty cells instead of NaN."""
    formats = {label: fmt for _, label, fmt in SUMMARY_KEYS}
    shown = table.copy().astype(object)
    for col in shown:
        fmt = formats.get(col)
        shown[col] = [("" if v is None or (isinstance(v, float) and math.isnan(v)) else
                       (fmt.format(v) if fmt and isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)))
                      for v in table[col]]
    return shown


def print_summary(all_metrics: dict[str, dict]) -> None:
    """The summary table on stdout, then each run's warnings (one line each) on stderr."""
    import sys

    print(format_table(summary_table(all_metrics)).to_string())
    sys.stdout.flush()
    for name, m in all_metrics.items():
        for line in m.get("warnings") or []:
            print(f"warning: {name}: {line}", file=sys.stderr)


def _link(href: str, text: str) -> str:
    """An ``<a>`` element: the path percent-encoded and both parts HTML-escaped (names are user input)."""
    from urllib.parse import quote

    return f'<a href="{html_lib.escape(quote(href), quote=True)}">{html_lib.escape(text)}</a>'


def _index_page(shown: pd.DataFrame, names: list[str]) -> str:
    """The comparison's index.html: the table (pandas escapes its cells) and a link per run."""
    items = "\n".join(f"<li>{_link(name + '/tearsheet.html', name)} ({_link(name + '/metrics.json', 'metrics')})"
                      "</li>" for name in names)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>lstm-strategies comparison</title>"
            f"</head><body><h1>Backtest comparison</h1>{shown.to_html(na_rep='', escape=True)}"
            f"<h2>Tearsheets</h2><ul>{items}</ul></body></html>")


def compare(config_paths: list[str], out: str | Path, data: str | None = None) -> pd.DataFrame:
    """Run several configs; write each tearsheet, one comparison table (CSV + markdown) and index.html.

    The whole folder is written beside ``out`` and swapped in at the end.
    """
    from tqdm.auto import tqdm

    from lstm_strategies.backtest import BacktestConfig, run_backtest

    configs = [BacktestConfig.from_toml(path) for path in config_paths]  # every config checked first
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise_dup = sorted({n for n in names if names.count(n) > 1})
        from lstm_strategies.errors import ConfigError

        raise ConfigError(f"two configs share the name(s) {raise_dup}; each run needs its own folder")
    out = check_destination(out)
    all_metrics = {}
    with output_folder(out, "comparison") as tmp:
        for cfg in tqdm(configs, desc="backtests", unit="run", leave=False):
            result = run_backtest(cfg, cfg.load_data(data), progress=True)
            all_metrics[cfg.name] = write_report(result, child(tmp, cfg.name, "config name"))
        table = summary_table(all_metrics)
        shown = format_table(table)
        atomic_write(tmp / "comparison.csv", lambda p: table.to_csv(p))
        atomic_write_text(tmp / "comparison.md", shown.to_markdown() + "\n")
        atomic_write_text(tmp / "index.html", _index_page(shown, list(all_metrics)))
    print_summary(all_metrics)
    print(f"\nwrote {out}/comparison.csv, comparison.md and index.html, and a folder per run")
    return table
