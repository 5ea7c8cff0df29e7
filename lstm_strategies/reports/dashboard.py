"""The results dashboards: ``index.html`` of a comparison and of a sweep, runs side by side.

A comparison's page holds the summary table and, for each run, a card with its period, strategy and
forecaster, headline numbers, its growth and forecast plots and links to its tearsheet and
metrics; a sweep's page holds the ranking, the heatmap and the best runs' cards. Everything is local
(relative links to the files beside the page, no script, no network), and every user string goes
through :func:`html.escape` (links are percent-encoded too).
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

import pandas as pd

STYLE = ("<style>body{font:13px/1.4 Arial,sans-serif;margin:24px;color:#111}h1{font-weight:400}"
         "table{border-collapse:collapse;margin:8px 0 24px}td,th{padding:3px 9px;border-bottom:1px solid #ddd;"
         "text-align:right}th:first-child,td:first-child{text-align:left}.cards{display:flex;flex-wrap:wrap;gap:18px}"
         ".card{border:1px solid #ccc;border-radius:6px;padding:10px 12px;width:560px}.card img{width:100%}"
         ".card h3{margin:2px 0 4px}.muted{color:#666}</style>")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def link(href: str, text: str) -> str:
    """An ``<a>`` element: the path percent-encoded and both parts HTML-escaped (names are user input)."""
    return f'<a href="{_e(quote(href))}">{_e(text)}</a>'


def _img(href: str, alt: str) -> str:
    return f'<img src="{_e(quote(href))}" alt="{_e(alt)}" loading="lazy">'


def _card(name: str, metrics: dict, folder: str, shown_row: pd.Series | None) -> str:
    prov = metrics.get("provenance") or {}
    head = (f"<h3>{link(folder + '/tearsheet.html', name)}</h3><div class='muted'>{_e(prov.get('strategy', ''))} "
            f"with {_e(prov.get('forecaster', ''))} on {_e(prov.get('data_source', ''))}, "
            f"{_e(metrics.get('first_day', ''))} .. {_e(metrics.get('last_day', ''))}"
            + (" <b>IN-SAMPLE</b>" if prov.get("in_sample") else "") + "</div>")
    numbers = ""
    if shown_row is not None:
        cells = [f"{_e(k)} {_e(v)}" for k, v in shown_row.items() if v not in ("", None) and k != "in-sample"]
        numbers = f"<p>{' · '.join(cells)}</p>"
    plots = _img(folder + "/equity.png", f"{name}: growth of 1") + _img(folder + "/forecast_vol.png",
                                                                         f"{name}: forecast against realized")
    files = f"<p>{link(folder + '/tearsheet.html', 'tearsheet')} · {link(folder + '/metrics.json', 'metrics.json')}</p>"
    return f"<div class='card'>{head}{numbers}{plots}{files}</div>"


def comparison_page(shown: pd.DataFrame, runs: dict[str, dict]) -> str:
    """The comparison's index.html: the table (cells escaped by pandas) and one card per run."""
    days = sorted({(m.get("first_day"), m.get("last_day")) for m in runs.values()})
    period = "; ".join(f"{a} .. {b}" for a, b in days)
    cards = "".join(_card(name, m, name, shown.loc[name] if name in shown.index else None) for name, m in runs.items())
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>lstm-strategies comparison</title>{STYLE}"
            f"</head><body><h1>Backtest comparison</h1><p class='muted'>scored {_e(period)}; returns, volatility and "
            "drawdowns in percent, tracking errors in volatility points</p>"
            f"{shown.to_html(na_rep='', escape=True)}<h2>Runs</h2><div class='cards'>{cards}</div></body></html>")


def sweep_page(name: str, ranking: pd.DataFrame, summary: dict, heatmap: bool, tops: dict[str, dict]) -> str:
    """The sweep's index.html: the ranking (in units), the deflated Sharpe ratio, the heatmap, the best runs."""
    facts = "".join(f"<tr><td>{_e(k.replace('_', ' '))}</td><td>{_e(f'{v:.4g}' if isinstance(v, float) else v)}"
                    "</td></tr>" for k, v in summary.items())
    cards = "".join(_card(folder, m, folder, None) for folder, m in tops.items())
    heat = _img("heatmap.png", "heatmap of the ranking metric") if heatmap else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(name)}: sweep</title>{STYLE}</head><body>"
            f"<h1>Sweep {_e(name)}</h1><table>{facts}</table>{heat}<h2>Ranking</h2>"
            f"{ranking.to_html(index=False, na_rep='', escape=True)}<h2>Best runs</h2><div class='cards'>{cards}</div>"
            f"<p>{link('results.csv', 'results.csv')} · {link('ranking.md', 'ranking.md')}</p></body></html>")


def write_page(path: Path, page: str) -> None:
    from lstm_strategies.core.atomic import atomic_write_text

    atomic_write_text(path, page)
