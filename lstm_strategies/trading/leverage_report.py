"""The ``leveraged_perp`` book's decision metrics and figures (from the strategy's daily book)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.trading import leverage as LV
from lstm_strategies.trading.risk_report import origin_risk, risk_block, risk_figure

__all__ = ["leverage_metrics", "leverage_figures", "book_simulation"]


def _venue(params: dict) -> LV.Venue:
    return LV.Venue(mmr=params["mmr"], liq_fee=params["liq_fee"], taker_fee=params["taker_fee"],
                    funding_rate=params["funding_rate"], max_leverage=params["max_leverage"],
                    min_leverage=params["min_leverage"], margin_fraction=params["margin_fraction"],
                    cooldown_days=params["cooldown_days"])


def book_simulation(book: pd.DataFrame) -> pd.DataFrame:
    """The book in :func:`lstm_strategies.trading.leverage.simulate`'s form: leverage, liquidated, account
    return (the day's P&L over the equity before it), equity (starting at 1), fee."""
    first = float(book["equity_before"].iloc[0])
    return pd.DataFrame({"leverage": book["leverage"].to_numpy(), "liquidated": book["liquidated"].to_numpy(bool),
                         "account_ret": (book["pnl"] / book["equity_before"]).to_numpy(),
                         "equity": (book["equity"] / first).to_numpy(), "fee": (book["fee"] / first).to_numpy()},
                        index=pd.DatetimeIndex(book["day"]))


def leverage_metrics(book: pd.DataFrame | None, origins: pd.DataFrame | None, params: dict, constant: float,
                     start=None) -> dict:
    """Liquidations (a year, against the budget), mean leverage, the account's CAGR, Sharpe and worst day, and
    the equal-liquidation comparison: the most leverage a *fixed* leverage reaches on the run's own days with
    at most the run's liquidations (an ex-post point), its CAGR and Sharpe, and the ratio of mean leverages;
    plus ``risk``, the verdicts of the forecaster's 1-day VaR/ES over the run (:func:`risk_block`)."""
    if book is None or not len(book):
        return {"days": 0, "risk": risk_block(origins, start)}
    sim = book_simulation(book)
    budget = float(params["budget_per_year"])
    out = LV.summary(sim, budget)
    out.update(side=params["side"], form=params["form"], constant=constant, budget_per_year=budget)
    venue, side = _venue(params), params["side"]
    x = book["x"].to_numpy(dtype="float64")
    c_fix, _ = LV.max_leverage_with(x, np.ones(len(x)), out["liquidations"], venue, side)
    fixed = float(LV.leverage_for_distance(c_fix, venue, side))
    ext = pd.DataFrame({"ret": book["ret"].to_numpy(), f"x_{side}": x, "fundings": book["fundings"].to_numpy()},
                       index=sim.index)
    fixed_sum = LV.summary(LV.simulate(ext, np.full(len(x), fixed), venue, side), budget)
    out.update(fixed_same_liq_leverage=fixed, fixed_same_liq_cagr=fixed_sum["cagr"],
               fixed_same_liq_sharpe=fixed_sum["sharpe"], lev_ratio_vs_fixed=out["mean_leverage"] / fixed,
               liquidation_days=[str(d.date()) for d in sim.index[sim["liquidated"]]],
               risk=risk_block(origins, start))
    return out


def leverage_figures(book: pd.DataFrame | None, origins: pd.DataFrame | None, name: str, folder,
                     start=None) -> list[tuple[str, object]]:
    """The leverage held each day with the liquidations marked, and the risk figure (VaR/ES against returns)."""
    from lstm_strategies.core.plotting import new_figure, save_figure

    figures = []
    if book is not None and len(book):
        sim = book_simulation(book)
        fig, ax = new_figure(11, 4.0)
        ax.plot(sim.index, sim["leverage"], lw=0.9, color="tab:blue", label="leverage held")
        liq = sim[sim["liquidated"]]
        ax.scatter(liq.index, liq["leverage"], color="darkred", marker="x", s=40, zorder=3,
                   label=f"liquidations ({len(liq)})")
        path = save_figure(fig, folder / "leverage.png", f"{name}: leverage each day and liquidations", "leverage")
        figures.append(("leverage each day and liquidations", path))
    if origins is not None and len(origins) > 30:
        risk = origin_risk(origins)
        if start is not None:
            risk = risk[risk.index >= pd.Timestamp(start, tz="UTC")]
        risk = risk[risk["ret"].notna()]
        if len(risk):
            path = risk_figure(risk, folder / "risk_var_es.png",
                               f"{name}: the forecaster's 1-day VaR and ES against realised returns")
            figures.append(("Risk: 1-day VaR/ES against realised returns, breaches marked", path))
    return figures
