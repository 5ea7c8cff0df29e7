"""The plugin's own section of a run's tearsheet: what QuantStats cannot know about the run.

QuantStats draws the returns; this section adds what the plugin computed: the decision metrics the
strategy declares (TE30 and realized volatility against the target, hedging errors per roll,
premiums and payoffs...), the Sharpe-difference tests against the baseline and buy-and-hold, costs
and trading, the forecast term structure against realized volatility, the weights against their cap,
the strategy's own figures and the provenance (data, model, training window, in-sample flag).
The section is inserted into QuantStats' page below its title, so one self-contained HTML file (figures
embedded as data URIs, no script, no network request) holds the whole report. Every string comes from
user input somewhere (names, paths, parameters) and goes through :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from lstm_strategies.core.declarations import Metric
from lstm_strategies.reports.risk_section import risk_section

STYLE = ("<style>.lstm-s{margin:0 0 30px}.lstm-s h2{font-size:18px;margin:18px 0 8px}"
         ".lstm-s table{width:auto;min-width:420px;margin:0 0 14px}"
         ".lstm-s table tr th,.lstm-s table tr td{text-align:left;font-weight:400;padding:3px 10px 3px 2px}"
         ".lstm-s .warn{background:#fff3cd;border:1px solid #e0c36b;padding:6px 10px;margin:6px 0}"
         ".lstm-s img{max-width:100%;margin:4px 0 14px}.lstm-s .grid{display:flex;flex-wrap:wrap;gap:24px}</style>")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows if v != "")
    return f"<div><h3>{_e(title)}</h3><table>{body}</table></div>" if body else ""


def _figure(title: str, path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(title)}" title="{_e(title)}" src="data:image/png;base64,{data}">'


def _pct(value) -> str:
    return "" if value is None else f"{value:.2%}"


def _money(value) -> str:
    return "" if value is None else f"{value:,.0f}"


#: the tests against the baseline and buy-and-hold, in the units people read (files keep raw numbers); each p-value
#: names its test (a strategy adds its own comparison metrics: ``baseline_declared``)
TEST_METRICS: tuple[Metric, ...] = (
    Metric("baseline.sharpe", "baseline Sharpe", "ratio", digits=2),
    Metric("baseline.sharpe_difference.diff", "Sharpe difference against the baseline (daily account returns)",
           "ratio", digits=2),
    Metric("baseline.sharpe_difference.pvalue", "p-value against the baseline: stationary bootstrap of the paired "
           "daily returns' Sharpe difference, two-sided", "ratio", digits=3),
    Metric("baseline.cagr", "baseline CAGR", "percent"),
    Metric("baseline.volatility", "baseline volatility", "percent"),
    Metric("baseline.max_drawdown", "baseline max drawdown", "percent"),
    Metric("sharpe_vs_buy_and_hold.diff", "Sharpe difference against buy-and-hold (daily account returns)", "ratio",
           digits=2),
    Metric("sharpe_vs_buy_and_hold.pvalue", "p-value against buy-and-hold: stationary bootstrap of the paired daily "
           "returns' Sharpe difference, two-sided", "ratio", digits=3),
)


TURNOVER = Metric("turnover_per_year", "", "per_year")


def _decision_rows(report) -> list[tuple[str, str]]:
    """The strategy's declared decision metrics in their units, then the rest of its decision block (not its
    nested tables, which the declared metrics show)."""
    metrics = report.to_dict()
    declared = [m for m in report.strategy.metrics if not m.key.startswith("baseline.")]
    shown = {m.key.split(".", 1)[1] for m in declared if m.key.startswith("decision.")}
    rows = [(m.label, m.format(m.get(metrics))) for m in declared]
    rows += [(key.replace("_", " "), _num(value)) for key, value in report.decision.items()
             if key not in shown and not isinstance(value, (dict, list))]
    return rows


def _test_rows(report) -> list[tuple[str, str]]:
    metrics = report.to_dict()
    strategy = report.strategy
    own = [m for m in strategy.metrics if m.key.startswith("baseline.")] + list(strategy.baseline_declared)
    rows = [("baseline", report.baseline.label if report.baseline else "")]
    return rows + [(m.label, m.format(m.get(metrics))) for m in (*TEST_METRICS, *own)]


def _cost_rows(report) -> list[tuple[str, str]]:
    costs, trading = report.costs, report.trading
    weight = trading.weight or {}
    settled = [(m.label, _money(costs.settled.get(m.key.rsplit(".", 1)[-1])))
               for m in report.strategy.settled_costs]
    return [("commission paid", _money(costs.commission)), ("slippage paid", _money(costs.slippage)),
            ("interest paid on borrowing", _money(costs.borrow_interest)), *settled,
            ("costs per year (share of starting cash)", _pct(costs.total_over_cash_per_year)),
            ("turnover per year (books)", TURNOVER.format(trading.turnover_per_year)),
            ("orders", _num(trading.orders)), ("orders rejected", _num(trading.orders_rejected)),
            ("share of bars holding the asset", _pct(trading.exposure)),
            ("weight in the asset: mean / 95th percentile / max",
             " / ".join(_pct(weight.get(k)) for k in ("mean", "p95", "max")) if weight else ""),
            ("CVaR 95% of daily returns (historical: the mean of the worst 5% of days; QuantStats' Expected "
             "Shortfall below is parametric)", _pct(report.performance.cvar_95))]


def _day(text) -> str:
    """A time as people read it: the date, with the time of day only when it is not midnight or the day's end."""
    if not text:
        return ""
    stamp = str(text)
    day, _, clock = stamp.partition(" ")
    return day if clock[:8] in ("", "00:00:00", "23:59:59") else stamp[:16]


def _provenance_rows(report) -> list[tuple[str, str]]:
    prov = report.provenance.to_dict()
    p = {key: _num(value) for key, value in prov.items()}
    window = prov.get("model_train_window")
    return [("config", p.get("config", "")), ("strategy", p.get("strategy", "")),
            ("strategy parameters", p.get("strategy_params", "")),
            ("forecaster", p.get("forecaster_repr") or p.get("forecaster", "")),
            ("model", p.get("model", "")), ("model weights SHA-256", p.get("model_weights_sha256", "")),
            ("model trained on", " .. ".join(_day(w) for w in window) if window else ""),
            ("in-sample", "YES: the model saw these dates" if prov.get("in_sample") else "no"),
            ("forecast horizon of the decision (days)", p.get("horizon_days", "")),
            ("data", p.get("data_source", "")), ("data fingerprint (SHA-256)", p.get("data_fingerprint", "")),
            ("bars", f"{p.get('bars')} ({p.get('timeframe')}), {_day(prov.get('data_first_bar'))} .. "
                     f"{_day(prov.get('data_last_bar'))}"),
            ("trading and scoring from", _day(prov.get("trading_start"))),
            ("calendar", f"{p.get('calendar')} ({p.get('periods_per_year')} days a year)"),
            ("versions", f"lstm-strategies {p.get('library')}, QuantStats {p.get('quantstats')}")]


def section(report, figures: list[tuple[str, Path]]) -> str:
    """The plugin's section as HTML, from a run's :class:`~lstm_strategies.reports.run_report.RunReport` and the
    figures (title, PNG path) to embed."""
    parts = [f'<div class="lstm-s">{STYLE}<h2>What the forecast did (lstm-strategies)</h2>']
    parts += [f'<div class="warn">warning: {_e(w)}</div>' for w in report.warnings]
    parts.append('<div class="grid">' + _table("Decision metrics", _decision_rows(report))
                 + _table("Tests", _test_rows(report)) + _table("Costs and trading", _cost_rows(report)) + "</div>")
    parts.append(risk_section(report.to_dict()))  # the strategy's VaR/ES verdicts (decision.risk), when it has them
    parts += [_figure(title, path) for title, path in figures]
    parts.append(_table("Provenance", _provenance_rows(report)))
    parts.append("</div><hr>")
    return "".join(parts)


def inject(page: str, plugin_section: str) -> str:
    """QuantStats' page with the plugin's section below its header (before its first figures)."""
    marker = "<hr>"
    at = page.find(marker, page.find("<h1"))
    if at < 0:
        at = page.rfind("</body>")
        return page[:at] + plugin_section + page[at:]
    at += len(marker)
    return page[:at] + plugin_section + page[at:]


def standalone(title: str, plugin_section: str, note: str) -> str:
    """A whole page for a run QuantStats cannot draw (no position held): the title, a note and the section."""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title></head><body>"
            f"<h1>{_e(title)}</h1><p>{_e(note)}</p><hr>{plugin_section}</body></html>")
