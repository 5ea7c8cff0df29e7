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
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.atomic import atomic_write, atomic_write_text, output_folder
from lstm_strategies.metrics import build_metrics, format_table, quantstats, summary_table
from lstm_strategies.plotting import growth_axis, new_figure, percent_axis, save_figure

__all__ = ["index_page", "print_summary", "write_comparison", "write_report"]


def _naive(series: pd.Series) -> pd.Series:
    if getattr(series.index, "tz", None) is not None:
        series = series.copy()
        series.index = series.index.tz_localize(None)
    return series


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


#: what QuantStats' page template adds that a shared, offline report must not have: an icon fetched
#: from the network and a handler calling a function the page does not define
_QS_ONLINE = (re.compile(r'<link rel="shortcut icon" href="https?://[^"]*"[^>]*>'), re.compile(r' onload="save\(\)"'))


def _offline(_, path: str, section: str = "") -> None:
    """Strip :data:`_QS_ONLINE` from a QuantStats page in place (opening it makes no request, runs no script)
    and add ``section`` at the end of its body."""
    page = Path(path).read_text()
    for pattern in _QS_ONLINE:
        page = pattern.sub("", page)
    if section:
        at = page.rfind("</body>")
        page = page[:at] + section + page[at:] if at >= 0 else page + section
    Path(path).write_text(page)


def _decision_section(metrics: dict, strategy: str | None) -> str:
    """The strategy's declared decision metrics as an HTML table (labels and values escaped)."""
    from lstm_strategies.strategies import STRATEGIES

    rows = [(m.label, m.format(m.get(metrics))) for m in getattr(STRATEGIES.get(strategy), "metrics", ())
            if m.get(metrics) is not None]
    if not rows:
        return ""
    cells = "".join(f"<tr><td>{html_lib.escape(label)}</td><td>{html_lib.escape(value)}</td></tr>"
                    for label, value in rows)
    return (f"<div style='margin: 2em'><h3>Decision metrics ({html_lib.escape(str(strategy))})</h3>"
            f"<table>{cells}</table></div>")


def _flat_page(title: str, metrics: dict) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html_lib.escape(title)}</title></head><body>"
            f"<h1>{html_lib.escape(title)}</h1><p>The strategy held no position over the scored period: every "
            "daily return is zero, so QuantStats' ratios are undefined and no tearsheet is drawn. "
            f"Exposure: {metrics.get('exposure', 0):.0%}; orders: {metrics.get('orders', 0)}.</p></body></html>")


def _title(result) -> str:
    cfg = result.config
    title = f"{cfg.name}: {cfg.strategy.name} with {cfg.strategy.forecaster}"
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
    tearsheet = cfg.report.tearsheet if tearsheet is None else tearsheet
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
                qs = quantstats()
                bench = _naive(benchmark.rename("buy and hold"))
                with warnings.catch_warnings():
                    # QuantStats' seaborn plots use APIs matplotlib has deprecated: third-party noise
                    warnings.filterwarnings("ignore", category=DeprecationWarning, module="seaborn")
                    warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
                    # QuantStats puts the title into its page as it is: escape it (names are user input)
                    section = _decision_section(metrics, cfg.strategy.name)
                    atomic_write(tmp / "tearsheet.html", lambda p: _offline(qs.reports.html(
                        _naive(returns.rename(cfg.name)), benchmark=bench, output=p, periods_per_year=periods,
                        title=html_lib.escape(title), download_filename="tearsheet.html"), p, section))
        traded = result.records
        _plot_equity(tmp / "equity.png", cfg.name, returns, benchmark, result.baseline)
        if len(traded) and traded["forecast_vol"].notna().any():
            _plot_vol(tmp / "forecast_vol.png", cfg.name, traded, result.data, result.calendar.days_per_year,
                      int(result.horizon_days or 1), result.calendar)
        if len(traded):
            _plot_weights(tmp / "weights.png", cfg.name, traded)
        atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def _link(href: str, text: str) -> str:
    """An ``<a>`` element: the path percent-encoded and both parts HTML-escaped (names are user input)."""
    from urllib.parse import quote

    return f'<a href="{html_lib.escape(quote(href), quote=True)}">{html_lib.escape(text)}</a>'


def index_page(shown: pd.DataFrame, names: list[str]) -> str:
    """The comparison's index.html: the table (pandas escapes its cells) and a link per run."""
    items = "\n".join(f"<li>{_link(name + '/tearsheet.html', name)} ({_link(name + '/metrics.json', 'metrics')})"
                      "</li>" for name in names)
    return ("<!doctype html><html><head><meta charset='utf-8'><title>lstm-strategies comparison</title>"
            f"</head><body><h1>Backtest comparison</h1>{shown.to_html(na_rep='', escape=True)}"
            f"<h2>Tearsheets</h2><ul>{items}</ul></body></html>")


def print_summary(all_metrics: dict[str, dict]) -> None:
    """The summary table on stdout, then each run's warnings (one line each) on stderr."""
    import sys

    print(format_table(summary_table(all_metrics)).to_string())
    sys.stdout.flush()
    for name, m in all_metrics.items():
        for line in m.get("warnings") or []:
            print(f"warning: {name}: {line}", file=sys.stderr)


def write_comparison(all_metrics: dict[str, dict], folder: Path) -> pd.DataFrame:
    """``comparison.csv`` (raw numbers), ``comparison.md`` (in units) and ``index.html`` into ``folder``."""
    table = summary_table(all_metrics)
    shown = format_table(table)
    atomic_write(folder / "comparison.csv", lambda p: table.to_csv(p))
    atomic_write_text(folder / "comparison.md", shown.to_markdown() + "\n")
    atomic_write_text(folder / "index.html", index_page(shown, list(all_metrics)))
    return table
