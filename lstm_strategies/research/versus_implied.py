"""The forecasts against the market's implied volatility (e.g. Deribit's DVOL).

On the evaluation's origins (each UTC day's last bar) and for each horizon ``h``, the raw implied
variance ``IV^2 h / 365`` (the ``implied`` forecaster: the value known at that bar's close) is the
market's forecast of the next ``h`` days' realized variance. Every other forecaster is compared with
it: QLIKE and its ratio to implied's, Diebold-Mariano (HLN, ``h - 1`` lags or more) against
implied, Mincer-Zarnowitz, and the **encompassing regression**
``log RV = a + b_iv log IV_var + b_model log model_var`` with Newey-West standard errors (``h``
lags: the targets overlap): a significant ``b_model`` says the model adds information beyond the
market's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.atomic import atomic_write
from lstm_strategies.research.evaluation import Evaluation, diebold_mariano, mincer_zarnowitz, qlike

REFERENCE = "implied"


@dataclass
class ImpliedComparison:
    """Every forecaster against the implied variance, per horizon."""

    table: pd.DataFrame            # one row per (horizon, forecaster)
    series: pd.DataFrame           # the longest horizon's realized variance and forecasts per origin
    source: str                    # the implied series' name
    horizon: int                   # the horizon of ``series``


def implied_model(model: str, iv_model: str | None, first: pd.Timestamp) -> tuple[str | None, str | None]:
    """The LSTM-IV to score next to ``model`` (or None) and a note saying why none (``iv_model="auto"``:
    the bundled ``<model>-iv`` when the window starts after its training)."""
    if iv_model != "auto":
        return iv_model, None
    from lstm_strategies.models.checkpoint import pretrained_names, pretrained_path, read_card

    name = f"{model}-iv"
    if name not in pretrained_names():
        return None, f"no bundled {name}: pass --iv-model to score an LSTM-IV"
    end = pd.Timestamp(read_card(pretrained_path(name)).train_end)
    if first <= end:
        return None, (f"{name} left out: it was trained on data to {end.date()} and the scored window starts "
                      f"{first.date()}; start after {end.date()} to score it")
    return name, None


def encompassing(y: pd.Series, implied: pd.Series, model: pd.Series, lags: int) -> dict:
    """OLS of log RV on a constant, log implied variance and log model variance (Newey-West, ``lags``)."""
    import statsmodels.api as sm

    X = sm.add_constant(np.column_stack([np.log(implied), np.log(model)]))
    fit = sm.OLS(np.log(y.to_numpy()), X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    return {"enc_a": fit.params[0], "enc_b_implied": fit.params[1], "enc_se_implied": fit.bse[1],
            "enc_p_implied": fit.pvalues[1], "enc_b_model": fit.params[2], "enc_se_model": fit.bse[2],
            "enc_p_model": fit.pvalues[2], "enc_r2": float(fit.rsquared), "enc_nobs": int(fit.nobs)}


def compare_with_implied(forecasts: dict[int, pd.DataFrame], source: str = REFERENCE) -> ImpliedComparison:
    """Score every forecaster of an evaluation's frames (``realized`` and one column per forecaster,
    ``implied`` among them) against the implied variance, per horizon."""
    rows = []
    for h, frame in forecasts.items():
        if REFERENCE not in frame:
            raise ValueError(f"the {h}-day forecasts hold no {REFERENCE!r} column: evaluate with an implied series")
        y, iv = frame["realized"], frame[REFERENCE]
        q_iv = float(qlike(y, iv).mean())
        for name in frame.columns.drop("realized"):
            f = frame[name]
            mz = mincer_zarnowitz(y, f)
            q = float(qlike(y, f).mean())
            row = {"horizon": h, "forecaster": name, "qlike": q, "ratio_vs_implied": q / q_iv,
                   "dm_pvalue_vs_implied": np.nan, "mz_alpha": mz["alpha"], "mz_beta": mz["beta"], "mz_r2": mz["r2"]}
            if name != REFERENCE and not np.array_equal(f.to_numpy(), iv.to_numpy()):
                row["dm_pvalue_vs_implied"] = diebold_mariano(y, f, iv, horizon=h)["pvalue"]
                row |= encompassing(y, iv, f, lags=h)
            rows.append(row)
    longest = max(forecasts)
    return ImpliedComparison(pd.DataFrame(rows), forecasts[longest], source, longest)


def plot_implied(cmp: ImpliedComparison, path: Path, days_per_year: float = 365.0) -> None:
    """Implied, forecast and realized volatility over the next ``cmp.horizon`` days, and the variance risk premium."""
    import matplotlib.pyplot as plt

    from lstm_strategies.core.plotting import configure_matplotlib, percent_axis, save_figure

    configure_matplotlib()
    days = cmp.horizon
    vol = np.sqrt(cmp.series * days_per_year / days)
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    ax.plot(vol.index, vol["realized"], color="0.55", lw=0.8, label=f"realized over the next {days} days")
    ax.plot(vol.index, vol[REFERENCE], color="tab:green", lw=1.3, label=f"implied ({cmp.source})")
    styles = {"lstm": ("darkred", "--", "LSTM"), "lstm_iv": ("tab:orange", "-.", "LSTM-IV"),
              "har_iv": ("tab:purple", ":", "HAR-IV"), "log_har": ("tab:blue", ":", "log-HAR")}
    for name, (color, ls, label) in styles.items():
        if name in vol:
            ax.plot(vol.index, vol[name], color=color, lw=1.0, ls=ls, label=f"{label} {days}-day forecast")
    percent_axis(ax)
    vrp = vol[REFERENCE] - vol["realized"]
    ax2.fill_between(vrp.index, 0, vrp, where=vrp >= 0, color="tab:green", alpha=0.4, label="implied above realized")
    ax2.fill_between(vrp.index, 0, vrp, where=vrp < 0, color="tab:red", alpha=0.4, label="implied below realized")
    ax2.axhline(0, color="black", lw=0.6)
    ax2.set_ylabel("volatility risk premium")
    ax2.legend(loc="best", fontsize=9)
    ax2.grid(alpha=0.3)
    percent_axis(ax2)
    save_figure(fig, path, f"The market's {days}-day implied volatility against the forecasts and what was realized",
                "annualised volatility")


def report_implied(ev: Evaluation, source: str, out: Path) -> ImpliedComparison:
    """``evaluate --implied``: write ``implied_vs_forecasts.csv``, ``implied_series.csv`` and the plot, print
    the table."""
    from lstm_strategies.data.calendar import get_calendar

    cmp = compare_with_implied(ev.forecasts, source)
    atomic_write(out / "implied_vs_forecasts.csv", lambda tmp: cmp.table.to_csv(tmp, index=False))
    atomic_write(out / "implied_series.csv", lambda tmp: cmp.series.to_csv(tmp))
    plot_implied(cmp, out / "implied_vs_forecast.png", get_calendar(ev.calendar).days_per_year)
    shown = cmp.table.set_index(["horizon", "forecaster"])[
        ["qlike", "ratio_vs_implied", "dm_pvalue_vs_implied", "mz_r2", "mz_beta", "enc_b_implied", "enc_p_implied",
         "enc_b_model", "enc_p_model", "enc_r2"]]
    first, last = cmp.series.index[0].date(), cmp.series.index[-1].date()
    with pd.option_context("display.width", 220, "display.max_columns", 30, "display.max_rows", 100,
                           "display.float_format", "{:.4g}".format):
        print(f"\nthe forecasts against {source} (implied^2 over each horizon), {first} .. {last}, {len(cmp.series)} "
              f"days; encompassing: log RV = a + b_implied log IV + b_model log model (Newey-West, h lags)")
        print(shown)
    print(f"wrote {out}/implied_vs_forecasts.csv, implied_series.csv, implied_vs_forecast.png")
    return cmp
