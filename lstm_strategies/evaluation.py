"""Forecast evaluation: QLIKE, MSE, MAE of logs, Mincer-Zarnowitz, Diebold-Mariano, the MCS.

All functions take the realized variance ``rv`` and a forecast ``f`` of it, aligned. The
out-of-sample protocol of :func:`evaluate_forecasters`: forecasts made at the close of each day's
last bar for the next UTC day, scored against that day's realized variance (sum of squared
intraday log returns).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from lstm_strategies.atomic import atomic_write, atomic_write_text
from lstm_strategies.features import forward_realized_variance


def qlike(rv, f) -> np.ndarray:
    r"""Per-observation QLIKE loss :math:`RV/f - \log(RV/f) - 1` (0 for a perfect forecast)."""
    ratio = np.asarray(rv) / np.asarray(f)
    return ratio - np.log(ratio) - 1.0


def mincer_zarnowitz(rv, f) -> dict:
    """OLS of ``rv`` on ``f``: intercept, slope and R² (unbiased: 0 and 1)."""
    x, y = np.asarray(f), np.asarray(rv)
    X = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    r2 = 1.0 - resid.var() / y.var()
    return {"alpha": float(beta[0]), "beta": float(beta[1]), "r2": float(r2)}


def diebold_mariano(loss_a, loss_b, lags: int | None = None) -> dict:
    """Diebold-Mariano test of equal predictive accuracy, HAC (Newey-West) variance.

    ``stat < 0`` means model A has the lower loss. Two-sided p-value from the normal law.
    """
    d = np.asarray(loss_a) - np.asarray(loss_b)
    n = len(d)
    lags = int(np.floor(4 * (n / 100) ** (2 / 9))) if lags is None else lags
    dc = d - d.mean()
    var = dc @ dc / n
    for k in range(1, lags + 1):
        var += 2 * (1 - k / (lags + 1)) * (dc[k:] @ dc[:-k]) / n
    stat = d.mean() / np.sqrt(var / n)
    return {"stat": float(stat), "pvalue": float(2 * stats.norm.sf(abs(stat))), "lags": lags,
            "mean_diff": float(d.mean())}


def model_confidence_set(losses: pd.DataFrame, size: float = 0.05, seed: int = 0) -> pd.Series:
    """MCS p-values (Hansen, Lunde & Nason 2011) with ``arch.bootstrap.MCS``; >= size: in the set."""
    from arch.bootstrap import MCS

    mcs = MCS(losses, size=size, reps=1000, block_size=10, method="R", seed=seed)
    mcs.compute()
    return mcs.pvalues["Pvalue"].reindex(losses.columns)


def score_table(rv: pd.Series, forecasts: pd.DataFrame, reference: str = "lstm") -> pd.DataFrame:
    """One row per forecaster: QLIKE, MSE, MAE of log variance, MZ R², DM vs ``reference``, MCS."""
    losses = pd.DataFrame({name: qlike(rv, forecasts[name]) for name in forecasts}, index=rv.index)
    rows = {}
    for name in forecasts:
        f = forecasts[name]
        row = {"qlike": losses[name].mean(), "mse": float(np.mean((rv - f) ** 2)),
               "mae_log": float(np.mean(np.abs(np.log(rv) - np.log(f)))),
               "mz_r2": mincer_zarnowitz(rv, f)["r2"]}
        if reference in forecasts and name != reference:
            dm = diebold_mariano(losses[reference], losses[name])
            row.update({"dm_stat_vs_" + reference: dm["stat"], "dm_pvalue": dm["pvalue"],
                        reference + "_qlike_ratio": losses[reference].mean() / losses[name].mean()})
        rows[name] = row
    table = pd.DataFrame(rows).T
    table["mcs_pvalue"] = model_confidence_set(losses)
    return table


def daily_targets(df: pd.DataFrame, start: str, end: str | None = None) -> tuple[pd.Series, np.ndarray]:
    """Next-day realized variance at each day's last bar, and the positions of those bars."""
    step = df.index[1] - df.index[0]
    y = forward_realized_variance(df, "1D")
    closes_at = df.index + step
    last_of_day = closes_at.floor("1D") != (closes_at - pd.Timedelta(1, "ns")).floor("1D")
    keep = last_of_day & (df.index >= pd.Timestamp(start, tz="UTC")) & y.notna().to_numpy()
    keep &= (y > 0).to_numpy()
    if end:
        keep &= df.index <= pd.Timestamp(end, tz="UTC")
    pos = np.flatnonzero(keep)
    return y.iloc[pos], pos


def evaluate_forecasters(df: pd.DataFrame, model: str = "btc-1h", start: str = "2022-01-01",
                         end: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Out-of-sample forecasts of the LSTM and every baseline, scored overall and per year.

    Returns
    -------
    overall, by_year, forecasts : DataFrame
    """
    from lstm_strategies.forecasters.ewma import EWMAForecaster
    from lstm_strategies.forecasters.garch import GARCHForecaster
    from lstm_strategies.forecasters.har import HARForecaster
    from lstm_strategies.forecasters.lstm import load_pretrained

    lstm = load_pretrained(model)
    lstm.check_out_of_sample(pd.Timestamp(start, tz="UTC"))
    rv, pos = daily_targets(df, start, end)
    models = {"lstm": lstm, "log_har": HARForecaster(log=True), "har": HARForecaster(log=False),
              "ewma": EWMAForecaster(), "garch": GARCHForecaster()}
    forecasts = pd.DataFrame({name: m.fit(df).predict_batch(df)[pos] for name, m in models.items()},
                             index=rv.index)
    ok = forecasts.notna().all(axis=1)
    rv, forecasts = rv[ok], forecasts[ok]
    overall = score_table(rv, forecasts)
    years = {}
    for year, idx in rv.groupby(rv.index.year).groups.items():
        if len(idx) >= 30:
            t = score_table(rv.loc[idx], forecasts.loc[idx])
            years[year] = t["qlike"]
    by_year = pd.DataFrame(years).T
    by_year.index.name = "year"
    forecasts = forecasts.assign(realized=rv)
    return overall, by_year, forecasts


def plot_forecasts(forecasts: pd.DataFrame, path: Path, periods: int = 365) -> None:
    """Forecast vs realized annualised volatility (LSTM and log-HAR)."""
    from lstm_strategies.reports import configure_matplotlib, save_figure

    configure_matplotlib()
    import matplotlib.pyplot as plt

    vol = np.sqrt(forecasts * periods)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    vol["realized"].plot(ax=ax, lw=0.5, color="grey", alpha=0.8, label="realized (next day)")
    vol["log_har"].plot(ax=ax, lw=1.0, color="tab:blue", label="log-HAR")
    vol["lstm"].plot(ax=ax, lw=1.0, color="darkred", label="LSTM")
    save_figure(fig, path, "annualised volatility")


def evaluate_cli(args) -> None:
    from lstm_strategies.datasets import load_dataset

    df = load_dataset(args.data)
    overall, by_year, forecasts = evaluate_forecasters(df, args.model, args.start, args.end)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "evaluation.csv", lambda tmp: overall.to_csv(tmp))
    atomic_write(out / "evaluation_by_year.csv", lambda tmp: by_year.to_csv(tmp))
    atomic_write(out / "forecasts.csv", lambda tmp: forecasts.to_csv(tmp))
    atomic_write_text(out / "evaluation.md", overall.to_markdown(floatfmt=".4g") + "\n\nQLIKE by year\n\n"
                      + by_year.to_markdown(floatfmt=".4f") + "\n")
    plot_forecasts(forecasts, out / "forecast_vs_realized.png")
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(f"out-of-sample {forecasts.index[0].date()} .. {forecasts.index[-1].date()}, "
              f"{len(forecasts)} days, next-day realized variance from {args.data}")
        print(overall)
        print("\nQLIKE by calendar year")
        print(by_year)
    print(f"\nwrote {out}/evaluation.csv, evaluation_by_year.csv, forecasts.csv, forecast_vs_realized.png")
