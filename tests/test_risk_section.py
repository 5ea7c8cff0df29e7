"""reports.risk_section: the tearsheet's risk verdicts and figure, from a metrics dict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.reports.risk_section import risk_figure, risk_section, verdict
from lstm_strategies.reports.tearsheet import section
from lstm_strategies.stats.tail_risk import RiskSpec, forecast_risk

GOOD = {"breaches": 9, "rate": 0.011, "kupiec_p": 0.5, "cc_p": 0.6, "yellow_years": 1, "red_years": 0,
        "zones": "2023:G3 2024:Y7 2025:G2", "es_ratio": 1.02, "mcneil_frey_p": 0.4}


def metrics(long=GOOD, short=GOOD) -> dict:
    return {"decision": {"risk": {"var_level": 0.99, "es_level": 0.975, "method": "FHS 250", "days": 800,
                                  "fallback_share": 0.0, "fz0": -2.6, "long": long, "short": short}}}


def test_verdicts_in_words():
    assert verdict(GOOD, 0.99) == "passes"
    bad = {**GOOD, "rate": 0.03, "kupiec_p": 0.001, "red_years": 1, "es_ratio": 1.3}
    assert verdict(bad, 0.99) == "fails: too many breaches; 1 red year(s); ES too small"
    assert "too few breaches" in verdict({**GOOD, "rate": 0.001, "kupiec_p": 0.01}, 0.99)


def test_section_html_escapes_and_embeds(tmp_path):
    rng = np.random.default_rng(0)
    idx = pd.date_range("2023-01-01 23:00", periods=400, freq="D", tz="UTC")
    var = pd.Series(4e-4, index=idx)
    ret = pd.Series(rng.standard_normal(400) * 0.02, index=idx)
    risk = forecast_risk(var, ret, RiskSpec(window=100, min_residuals=100))
    risk["ret"] = ret
    path = risk_figure(risk, tmp_path / "risk.png", "BTC <test>: VaR and ES")
    html = risk_section(metrics(short={**GOOD, "zones": "2023:R14", "red_years": 1}), [("risk <figure>", path)])
    assert "Risk forecasts against what happened" in html and "8.0 breaches expected per tail" in html
    assert "2024 yellow (7)" in html and "2023 red (14)" in html
    text = html.split("<img")[0]
    assert text.count(">passes<") == 1 and "fails: 1 red year(s)" in text
    assert "risk &lt;figure&gt;" in html and "data:image/png;base64," in html and "<figure>" not in html
    assert risk_section({"decision": {}}) == "" and risk_section({}) == ""


def test_the_tearsheet_section_shows_it():
    from conftest import make_report
    from lstm_strategies.strategies import STRATEGIES

    html = section(make_report(STRATEGIES["leveraged_perp"], metrics()["decision"]), [])
    assert "Risk forecasts against what happened" in html
    assert "Risk forecasts" not in section(make_report(STRATEGIES["vol_target"], {"te30": 0.05}), [])
