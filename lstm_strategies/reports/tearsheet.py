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


#: the tests against the baseline and buy-and-hold, in the units people read (files keep raw numbers)
TEST_METRICS: tuple[Metric, ...] = (
    Metric("baseline.sharpe", "baseline Sharpe", "ratio", digits=2),
    Metric("baseline.sharpe_difference.diff", "Sharpe difference against the baseline", "ratio", digits=2),
    Metric("baseline.sharpe_difference.pvalue", "bootstrap p-value (stationary, paired days)", "ratio", digits=3),
    Metric("baseline.cagr", "baseline CAGR", "percent"),
    Metric("baseline.volatility", "baseline volatility", "percent"),
    Metric("baseline.max_drawdown", "baseline max drawdown", "percent"),
    Metric("baseline.te30", "baseline TE30 (pts)", "vol_points"),
    Metric("sharpe_vs_buy_and_hold.diff", "Sharpe difference against buy-and-hold", "ratio", digits=2),
    Metric("sharpe_vs_buy_and_hold.pvalue", "bootstrap p-value against buy-and-hold", "ratio", digits=3),
)


def section(metrics: dict, declared: tuple[Metric, ...], figures: list[tuple[str, Path]]) -> str:
    """The plugin's section as HTML, from a run's ``metrics.json`` dict, the strategy's declared decision
    metrics and the figures (title, PNG path) to embed."""
    decision = metrics.get("decision") or {}
    shown = {m.key.split(".", 1)[1] for m in declared if m.key.startswith("decision.")}
    rows = [(m.label, m.format(m.get(metrics))) for m in declared]
    # the rest of the decision block, but not its nested tables (shown through the declared metrics)
    rows += [(key.replace("_", " "), _num(value)) for key, value in decision.items()
             if key not in shown and not isinstance(value, (dict, list))]
    parts = [f'<div class="lstm-s">{STYLE}<h2>What the forecast did (lstm-strategies)</h2>']
    parts += [f'<div class="warn">warning: {_e(w)}</div>' for w in metrics.get("warnings") or []]
    tests = [("baseline", (metrics.get("baseline") or {}).get("label", ""))]
    tests += [(m.label, m.format(m.get(metrics))) for m in TEST_METRICS]
    costs = metrics.get("costs") or {}
    weight = metrics.get("weight") or {}
    trading = [("commission paid", _money(costs.get("commission"))), ("slippage paid", _money(costs.get("slippage"))),
               ("interest paid on borrowing", _money(costs.get("borrow_interest"))),
               ("option fees paid beside the broker", _money(costs.get("option_fees"))),
               ("spread paid beside the broker", _money(costs.get("option_spread"))),
               ("costs per year (share of starting cash)", _pct(costs.get("total_over_cash_per_year"))),
               ("turnover per year (books)", Metric("turnover_per_year", "", "per_year").format(
                   metrics.get("turnover_per_year"))),
               ("orders", _num(metrics.get("orders"))), ("orders rejected", _num(metrics.get("orders_rejected"))),
               ("share of bars holding the asset", _pct(metrics.get("exposure"))),
               ("weight in the asset: mean / 95th percentile / max",
                " / ".join(_pct(weight.get(k)) for k in ("mean", "p95", "max")) if weight else "")]
    parts.append('<div class="grid">' + _table("Decision metrics", rows) + _table("Tests", tests)
                 + _table("Costs and trading", trading) + "</div>")
    parts.append(risk_section(metrics))  # issue #30: the decision.risk block's verdicts, when a strategy reports one
    parts += [_figure(title, path) for title, path in figures]
    prov = metrics.get("provenance") or {}
    window = prov.get("model_train_window")
    p = {key: _num(value) for key, value in prov.items()}
    provenance = [("config", p.get("config", "")), ("strategy", p.get("strategy", "")),
                  ("strategy parameters", p.get("strategy_params", "")),
                  ("forecaster", p.get("forecaster_repr") or p.get("forecaster", "")),
                  ("model", p.get("model", "")), ("model weights SHA-256", p.get("model_weights_sha256", "")),
                  ("model trained on", " .. ".join(window) if window else ""),
                  ("in-sample", "YES: the model saw these dates" if prov.get("in_sample") else "no"),
                  ("forecast horizon of the decision (days)", p.get("horizon_days", "")),
                  ("data", p.get("data_source", "")), ("data fingerprint (SHA-256)", p.get("data_fingerprint", "")),
                  ("bars", f"{p.get('bars')} ({p.get('timeframe')}), {p.get('data_first_bar')} .. "
                           f"{p.get('data_last_bar')}"),
                  ("trading and scoring from", p.get("trading_start", "")),
                  ("calendar", f"{p.get('calendar')} ({p.get('periods_per_year')} days a year)"),
                  ("versions", f"lstm-strategies {p.get('library')}, QuantStats {p.get('quantstats')}")]
    parts.append(_table("Provenance", provenance))
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
