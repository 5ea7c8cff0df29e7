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

import pandas as pd

from lstm_strategies.core.atomic import atomic_write, atomic_write_text, output_folder
from lstm_strategies.reports.dashboard import comparison_page
from lstm_strategies.reports.metrics import format_table, summary_table
from lstm_strategies.reports.run_report import RunReport, quantstats

__all__ = ["print_summary", "write_comparison", "write_report"]


def _naive(series: pd.Series) -> pd.Series:
    if getattr(series.index, "tz", None) is not None:
        series = series.copy()
        series.index = series.index.tz_localize(None)
    return series


#: what QuantStats' page template adds that a shared, offline report must not have: an icon fetched
#: from the network and a handler calling a function the page does not define
_QS_ONLINE = (re.compile(r'<link rel="shortcut icon" href="https?://[^"]*"[^>]*>'), re.compile(r' onload="save\(\)"'))


def _offline(_, path: str) -> None:
    """Strip :data:`_QS_ONLINE` from a QuantStats page in place: opening it makes no request, runs no script."""
    page = Path(path).read_text()
    for pattern in _QS_ONLINE:
        page = pattern.sub("", page)
    Path(path).write_text(page)


def write_report(result, out: str | Path, tearsheet: bool | None = None, report: RunReport | None = None) -> dict:
    """Write ``tearsheet.html``, ``metrics.json``, ``returns.csv`` and PNG plots into ``out``, atomically.

    The tearsheet is QuantStats' page with the plugin's own section (:mod:`lstm_strategies.reports.tearsheet`)
    below its title: decision metrics, tests against the baseline, costs, the forecast term structure,
    the weights and the provenance. The folder is built beside ``out`` and swapped in at the end: an
    interrupted report leaves the previous folder as it was. ``report`` is the run's :class:`RunReport` when it
    was made already (it is made here otherwise). Returns the metrics.
    """
    import lstm_strategies.reports.plots as report_plots
    cfg, cls = result.config, result.strategy
    tearsheet = cfg.report.tearsheet if tearsheet is None else tearsheet
    periods = int(result.calendar.days_per_year)
    returns, benchmark = result.returns, result.benchmark
    report = report or RunReport.of(result)
    metrics = report.to_dict()
    with output_folder(out, "backtest report") as tmp:
        frame = pd.DataFrame({"strategy": returns, "benchmark": benchmark})
        if result.baseline is not None:
            frame["baseline"] = result.baseline[1].reindex(frame.index)
        frame.index.name = "date"
        atomic_write(tmp / "returns.csv", lambda p: frame.to_csv(p))
        for key, table in result.extras.items():
            if isinstance(table, pd.DataFrame) and len(table):
                atomic_write(tmp / f"{key}.csv", lambda p, t=table: t.to_csv(p, index=False))
        traded = result.records
        figures = []
        if len(traded) and traded["forecast_vol"].notna().any():
            figures.append(("forecast term structure against realized volatility", report_plots.term_structure(
                tmp / "forecast_vol.png", cfg.name, traded, result.data, result.calendar.days_per_year,
                result.horizon_days)))
        # a book settled in cash beside the broker (the variance swaps) never holds the asset: no weights figure
        if len(traded) and traded.reindex(columns=["weight", "target_weight"]).abs().fillna(0).to_numpy().any():
            cap = cls.leverage_needed(result.params)
            figures.append(("weights and leverage", report_plots.weights(tmp / "weights.png", cfg.name, traded, cap)))
        figures.append(("growth of 1 after costs", report_plots.equity(tmp / "equity.png", cfg.name, returns,
                                                                      benchmark, result.baseline)))
        figures += cls.report_figures(result, tmp)
        if tearsheet:
            _write_tearsheet(tmp / "tearsheet.html", result, report, figures, periods)
        atomic_write_text(tmp / "metrics.json", json.dumps(metrics, indent=2))
    return metrics


def _write_tearsheet(path: Path, result, report: RunReport, figures: list, periods: int) -> None:
    """QuantStats' page plus the plugin's section (or the section alone when no position was ever held)."""
    import lstm_strategies.reports.tearsheet as tearsheet

    title = report.title
    plugin = tearsheet.section(report, figures)
    returns = result.returns
    if returns.std() == 0 or len(returns) < 2:
        note = ("The strategy held no position over the scored period: every daily return is zero, so "
                f"QuantStats' ratios are undefined and its tearsheet is not drawn. Exposure "
                f"{report.trading.exposure or 0:.0%}; orders {report.trading.orders}.")
        atomic_write_text(path, tearsheet.standalone(title, plugin, note))
        return
    qs = quantstats()
    bench = _naive(result.benchmark.rename("buy and hold"))

    def write(p: str) -> None:
        with warnings.catch_warnings():
            # QuantStats' seaborn plots use APIs matplotlib has deprecated: third-party noise
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="seaborn")
            warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module="seaborn")
            # QuantStats puts the title into its page as it is: escape it (names are user input)
            qs.reports.html(_naive(returns.rename(result.config.name)), benchmark=bench, output=p,
                            periods_per_year=periods, title=html_lib.escape(title), download_filename="tearsheet.html")
        _offline(None, p)
        Path(p).write_text(tearsheet.inject(Path(p).read_text(), plugin))

    atomic_write(path, write)


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
    atomic_write_text(folder / "index.html", comparison_page(shown, all_metrics))
    return table
