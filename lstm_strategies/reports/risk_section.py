"""The risk section of a run's tearsheet: its forecaster's VaR and ES against what happened.

Self-contained (issue #30): :func:`risk_section` turns a run's ``metrics.json`` dict into HTML from the
``decision.risk`` block a strategy reports (``leveraged_perp`` does, through
:func:`lstm_strategies.trading.risk_report.risk_block`): per tail, the 1-day VaR's breaches against the
expected count, Kupiec's and Christoffersen's tests, the Basel zones of each calendar year, the ES's
loss/ES ratio on the days beyond the VaR at its level and McNeil-Frey's test, with a verdict in words; then
the figures given (title, PNG path) embedded as data URIs. :func:`risk_figure` (re-exported from
:mod:`lstm_strategies.trading.risk_report`, where a strategy's ``report_figures`` can reach it) draws
VaR and ES against the realised returns with the breaches marked. Every string is escaped; a run
without the block gives an empty string.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from lstm_strategies.trading.risk_report import risk_figure

__all__ = ["risk_figure", "risk_section", "verdict"]

ZONE = {"G": "green", "Y": "yellow", "R": "red", "N": "not zoned"}


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _p(value) -> str:
    return "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.3f}"


def verdict(tail: dict, level: float) -> str:
    """The tail's verdict in words, at the 5% test level and Basel's zones."""
    problems = []
    if tail.get("kupiec_p") is not None and tail["kupiec_p"] <= 0.05:
        problems.append("too many breaches" if tail["rate"] > 1 - level else "too few breaches")
    if tail.get("cc_p") is not None and tail["cc_p"] <= 0.05:
        problems.append("breaches cluster or miscount (conditional coverage)")
    if tail.get("red_years"):
        problems.append(f"{tail['red_years']} red year(s)")
    if (tail.get("yellow_years") or 0) > 1:
        problems.append(f"{tail['yellow_years']} yellow years")
    ratio = tail.get("es_ratio")
    if ratio is not None and math.isfinite(ratio) and not 0.9 <= ratio <= 1.1:
        problems.append("ES too small" if ratio > 1.1 else "ES too large")
    return "passes" if not problems else "fails: " + "; ".join(problems)


def _zones(text: str) -> str:
    parts = []
    for item in (text or "").split():
        year, code = item.split(":", 1)
        parts.append(f"{year} {ZONE.get(code[:1], code[:1])} ({code[1:]})")
    return ", ".join(parts)


def _figure(title: str, path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{_e(title)}" title="{_e(title)}" src="data:image/png;base64,{data}">'


def risk_section(metrics: dict, figures: list[tuple[str, object]] = ()) -> str:
    """HTML of the risk verdicts of a run's ``metrics.json`` (``decision.risk``) and the given figures."""
    risk = (metrics.get("decision") or {}).get("risk") or {}
    if not risk or "long" not in risk:
        return ""
    level, es_level = risk.get("var_level", 0.99), risk.get("es_level", 0.975)
    days = risk.get("days", 0)
    head = (f"<p>1-day VaR at {level:.0%} and ES at {es_level:.1%} of a long and a short position "
            f"({_e(risk.get('method', 'FHS'))} of the forecaster's own standardised returns; "
            f"{risk.get('fallback_share', 0):.0%} of the days on the t5 fallback), against the next day's "
            f"return on {days} days: {days * (1 - level):.1f} breaches expected per tail. "
            f"FZ0 (two tails, lower is better): {_p(risk.get('fz0'))}.</p>")
    rows = [("breaches (rate)", lambda t: f"{t['breaches']} ({t['rate']:.2%})"),
            ("Kupiec p", lambda t: _p(t.get("kupiec_p"))), ("Christoffersen CC p", lambda t: _p(t.get("cc_p"))),
            ("Basel zones per year (breaches)", lambda t: _zones(t.get("zones", ""))),
            ("loss / ES beyond the VaR at the ES's level", lambda t: _p(t.get("es_ratio"))),
            ("McNeil-Frey p (ES too small)", lambda t: _p(t.get("mcneil_frey_p"))),
            ("verdict", lambda t: verdict(t, level))]
    body = "".join(f"<tr><th>{_e(name)}</th><td>{_e(get(risk['long']))}</td><td>{_e(get(risk['short']))}</td></tr>"
                   for name, get in rows)
    table = f"<table><tr><th></th><th>long</th><th>short</th></tr>{body}</table>"
    pictures = "".join(_figure(title, path) for title, path in figures)
    return f'<div class="lstm-s"><h2>Risk forecasts against what happened</h2>{head}{table}{pictures}</div>'
