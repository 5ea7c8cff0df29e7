"""The figures of a run's report, readable at a glance: weekly points over years, caps on the axes, units.

Each function writes one titled PNG (:mod:`lstm_strategies.core.plotting`) and returns its path. Daily
points over four years are too dense to read, so the series are aggregated by week (volatility as
the root of the week's mean variance, weights as the week's last value).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.plotting import growth_axis, new_figure, percent_axis, save_figure

#: weekly points (Monday-based weeks of UTC days)
WEEK = "W-MON"


def equity(path: Path, name: str, returns: pd.Series, benchmark: pd.Series,
           baseline: tuple[str, pd.Series] | None) -> Path:
    """Growth of 1 after costs: the strategy, its baseline run and buy-and-hold (log scale)."""
    fig, ax = new_figure(10, 4.5)
    ax.plot(returns.index, (1 + returns).cumprod(), lw=1.6, label=name)
    ax.plot(benchmark.index, (1 + benchmark).cumprod(), lw=1.0, color="grey", label="buy and hold")
    if baseline is not None:
        label, series = baseline
        ax.plot(series.index, (1 + series).cumprod(), lw=1.0, ls="--", label=label)
    growth_axis(ax)
    return save_figure(fig, path, f"{name}: growth of 1 after costs", "growth of 1 (log scale)")


def realized_weekly_vol(data: pd.DataFrame, start, days_per_year: float) -> pd.Series:
    """Each week's realized volatility from its bars' log returns, annualised (sum of squared returns
    per day of the week, times the days in a year)."""
    r2 = np.log(data["close"]).diff().pow(2)
    r2 = r2[r2.index >= start]
    days = r2.resample("1D").sum()
    days = days[r2.resample("1D").count() > 0]
    return np.sqrt(days.resample(WEEK).mean() * days_per_year)


def term_structure(path: Path, name: str, records: pd.DataFrame, data: pd.DataFrame, days_per_year: float,
                   horizon_days: int | None) -> Path:
    """The forecast term structure (weekly mean of each horizon's annualised forecast) against each week's
    realized volatility, with implied volatility where the strategy priced at it."""
    fig, ax = new_figure(10, 4.4)
    realized = realized_weekly_vol(data, records.index[0], days_per_year)
    ax.plot(realized.index, realized, lw=1.0, color="0.5", label="realized (each week's returns)")
    styles = {"vol_1d": ("darkred", "-", 1.0), "vol_7d": ("tab:orange", "-", 1.2), "vol_30d": ("tab:purple", "-", 1.4)}
    drawn = False
    for col, (color, ls, lw) in styles.items():
        if col in records and records[col].notna().any():
            ax.plot(*_weekly_mean_vol(records[col]), color=color, ls=ls, lw=lw,
                    label=f"forecast, {col.split('_')[1].replace('d', '-day')} horizon")
            drawn = True
    if not drawn and "forecast_vol" in records:
        ax.plot(*_weekly_mean_vol(records["forecast_vol"]), color="darkred", lw=1.3,
                label=f"forecast, {horizon_days or 1}-day horizon")
    if "implied_vol" in records and records["implied_vol"].notna().any():
        ax.plot(*_weekly_mean_vol(records["implied_vol"]), color="tab:green", lw=1.1, ls="--", label="implied vol")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    return save_figure(fig, path, f"{name}: forecast term structure against realized volatility (weekly)",
                       "annualised volatility")


def _weekly_mean_vol(vol: pd.Series) -> tuple[pd.Index, np.ndarray]:
    weekly = np.sqrt((vol.astype(float) ** 2).resample(WEEK).mean())
    return weekly.index, weekly.to_numpy()


def weights(path: Path, name: str, records: pd.DataFrame, cap: float) -> Path:
    """The share of the portfolio in the asset (held and target, weekly), with the leverage cap drawn and
    the axis reaching above it, so a weight at the cap is visible as such."""
    weekly = records.resample(WEEK).last()
    fig, ax = new_figure(10, 3.8)
    ax.plot(weekly.index, weekly["weight"], lw=1.2, label="weight held (end of week)")
    ax.plot(weekly.index, weekly["target_weight"], lw=0.8, ls="--", label="target weight")
    if "hedged" in weekly and weekly["hedged"].fillna(0).any():
        held = records["hedged"].fillna(0).resample(WEEK).mean()
        ax.fill_between(held.index, 0, cap, where=(held > 0).to_numpy(), color="tab:orange", alpha=0.15,
                        step="post", label="put held during the week")
    elif "floor" in weekly and weekly["floor"].notna().any():
        ax.plot(weekly.index, weekly["hedge_ratio"], lw=0.8, alpha=0.8, label="delta of asset + options")
    ax.axhline(cap, color="black", lw=0.8, ls=":", label=f"cap {cap:g}")
    top = max(cap, float(np.nanmax(weekly["weight"])) if weekly["weight"].notna().any() else cap)
    ax.set_ylim(min(0.0, float(np.nanmin(weekly["weight"])) if weekly["weight"].notna().any() else 0.0), top * 1.12)
    percent_axis(ax)
    return save_figure(fig, path, f"{name}: share of the portfolio in the asset (weekly)", "share of portfolio")
