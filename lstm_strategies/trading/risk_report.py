"""A run's risk forecasts against what happened: the verdicts block and the figure of the risk section.

A strategy that records its forecaster's 1-day variance and the close at every forecast origin (from the
data's first day, so the pools hold the history before the run) gets here: the 1-day VaR (99%) and ES
(97.5%) of a long and a short position by filtered historical simulation (the frozen spec; equal to
:class:`~lstm_strategies.trading.risk_indicator.VolatilityRisk`'s lines), scored on the run's days by
:mod:`lstm_strategies.stats.risk_backtests` (:func:`risk_block`, the ``decision.risk`` block that
:func:`lstm_strategies.reports.risk_section.risk_section` renders), and the figure of VaR and ES against
the realised returns with the breaches marked (:func:`risk_figure`). The realised return of an origin is
the log return to the next origin's close (a day, unless the data miss a day's last bar).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.stats import risk_backtests as B
from lstm_strategies.stats.tail_risk import default_spec, forecast_risk

__all__ = ["origin_risk", "risk_block", "risk_figure"]


def origin_risk(origins: pd.DataFrame, spec=None) -> pd.DataFrame:
    """VaR/ES at every origin of ``origins`` (columns ``variance``, ``close``) plus ``ret``, the realised return."""
    ret = np.log(origins["close"].shift(-1) / origins["close"])
    risk = forecast_risk(origins["variance"], ret, spec or default_spec(1))
    risk["ret"] = ret
    return risk


def risk_block(origins: pd.DataFrame | None, start=None, spec=None) -> dict:
    """The verdicts of the run's 1-day risk forecasts on the origins from ``start`` (fractions): per tail the
    breaches, their rate, Kupiec, Christoffersen's conditional coverage, the Basel zones per year, loss/ES on
    the days beyond the VaR at the ES's level, McNeil-Frey; FZ0 (two tails). Empty without origins."""
    if origins is None or not len(origins):
        return {}
    spec = spec or default_spec(1)
    risk = origin_risk(origins, spec)
    keep = risk["ret"].notna() & risk["var_long"].notna()
    if start is not None:
        keep &= risk.index >= pd.Timestamp(start, tz="UTC")
    sub = risk[keep]
    if len(sub) < 30:
        return {}
    out = {"var_level": spec.var_level, "es_level": spec.es_level, "method": f"FHS {spec.window}",
           "days": int(len(sub)), "fallback_share": float((sub["source"] != "fhs").mean())}
    fz = []
    for side in ("long", "short"):
        cov = B.coverage_summary(sub["ret"], sub[f"var_{side}"], spec.var_level, side, 1)
        es = B.es_ratio(sub["ret"], sub[f"var_es_{side}"], sub[f"es_{side}"], side)
        mf = B.mcneil_frey(sub["ret"], sub[f"var_es_{side}"], sub[f"es_{side}"], sub["sigma"], side, reps=2000)
        out[side] = {"breaches": cov["breaches"], "rate": cov["rate"], "kupiec_p": cov["kupiec_p"],
                     "cc_p": cov["cc_p"], "yellow_years": cov["yellow_years"], "red_years": cov["red_years"],
                     "zones": cov["zones"], "es_ratio": es["ratio"], "mcneil_frey_p": mf["pvalue"]}
        fz.append(B.fz0_loss(sub["ret"], sub[f"var_es_{side}"], sub[f"es_{side}"], spec.es_level, side))
    out["fz0"] = float(np.mean(0.5 * (fz[0] + fz[1])))
    return out


def risk_figure(risk: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Daily returns against the VaR and ES of both tails (as returns: -VaR below, +VaR above), breaches marked."""
    from lstm_strategies.core.plotting import new_figure, percent_axis, save_figure

    fig, ax = new_figure(11, 4.6)
    r = risk["ret"]
    ax.bar(r.index, r, width=1.0, color="0.6", label="realised 1-day log return")
    ax.plot(risk.index, -risk["var_long"], color="tab:red", lw=0.9, label="-VaR 99% (long)")
    ax.plot(risk.index, risk["var_short"], color="tab:blue", lw=0.9, label="VaR 99% (short)")
    ax.plot(risk.index, -risk["es_long"], color="tab:red", lw=0.7, ls=":", label="-ES 97.5% (long)")
    ax.plot(risk.index, risk["es_short"], color="tab:blue", lw=0.7, ls=":", label="ES 97.5% (short)")
    for side, color, sign in (("long", "darkred", -1.0), ("short", "navy", 1.0)):
        hit = B.breaches(r, risk[f"var_{side}"], side)
        ax.scatter(r.index[hit], r[hit], color=color, marker="v" if sign < 0 else "^", s=28, zorder=3,
                   label=f"{side} breaches ({int(hit.sum())})")
    percent_axis(ax)
    return save_figure(fig, path, title, "1-day log return")
