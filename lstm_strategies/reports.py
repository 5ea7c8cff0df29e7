"""QuantStats tearsheets, metrics.json, returns.csv and plots for a backtest, written atomically.

QuantStats is used fully offline: the benchmark is always a pandas Series (a ticker string would
make it try to download), returns are daily (hourly results are compounded to days first) and
annualisation uses 365 days for crypto, 252 for equities.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.atomic import atomic_write, atomic_write_text
from lstm_strategies.features import DAYS_PER_YEAR, realized_variance


def configure_matplotlib() -> None:
    """Headless plotting: the Agg backend before backtrader.plot can force TkAgg; quiet font noise."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot  # noqa: F401  (binds the backend)

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _qs():
    configure_matplotlib()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import quantstats as qs
    return qs


def save_figure(fig, path: Path, ylabel: str) -> None:
    """Label, legend and grid an axes figure, then write it as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    ax = fig.axes[0]
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def _naive(series: pd.Series) -> pd.Series:
    if getattr(series.index, "tz", None) is not None:
        series = series.copy()
        series.index = series.index.tz_localize(None)
    return series


def compute_metrics(returns: pd.Series, benchmark: pd.Series | None = None, periods: int = 365,
                    records: pd.DataFrame | None = None, target_vol: float | None = None) -> dict:
    """Headline statistics with QuantStats' own functions, plus exposure and turnover.

    Parameters
    ----------
    returns : Series
        Daily simple returns.
    periods : int
        Periods per year (365 crypto, 252 equities).
    records : DataFrame, optional
        Per-bar strategy records (weights, forecast, hedge ratio).
    target_vol : float, optional
        The vol-target strategy's target, reported next to the realized volatility.
    """
    qs = _qs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = {
            "sharpe": float(qs.stats.sharpe(returns, periods=periods)),
            "sortino": float(qs.stats.sortino(returns, periods=periods)),
            "cagr": float(qs.stats.cagr(returns, periods=periods)),
            "volatility": float(qs.stats.volatility(returns, periods=periods)),
            "max_drawdown": float(qs.stats.max_drawdown(returns)),
            "cvar_95": float(qs.stats.cvar(returns, method="historical")),
            "calmar": float(qs.stats.calmar(returns, periods=periods)),
            "total_return": float(qs.stats.comp(returns)),
            "days": int(len(returns)),
            "first_day": str(returns.index[0].date()) if len(returns) else None,
            "last_day": str(returns.index[-1].date()) if len(returns) else None,
        }
        if benchmark is not None and len(benchmark):
            m["benchmark_sharpe"] = float(qs.stats.sharpe(benchmark, periods=periods))
            m["benchmark_max_drawdown"] = float(qs.stats.max_drawdown(benchmark))
            m["benchmark_cagr"] = float(qs.stats.cagr(benchmark, periods=periods))
            m["benchmark_volatility"] = float(qs.stats.volatility(benchmark, periods=periods))
    if target_vol is not None:
        m["target_vol"] = float(target_vol)
    if records is not None and len(records) and "weight" in records:
        w = records["weight"].dropna()
        m["weight"] = {"mean": float(w.mean()), "p05": float(w.quantile(0.05)), "median": float(w.median()),
                       "p95": float(w.quantile(0.95)), "max": float(w.max())}
        if "hedge_ratio" in records and records["hedge_ratio"].notna().any():
            m["hedge_ratio_mean"] = float(records["hedge_ratio"].mean())
    return m


def _turnover(traded_value: float, values: pd.Series, days: int) -> float:
    if days <= 0 or not len(values):
        return float("nan")
    return float(traded_value / values.mean() * 365.0 / days)


def _floor_stats(records: pd.DataFrame) -> dict:
    if "floor" not in records or records["floor"].isna().all():
        return {}
    r = records.dropna(subset=["floor"])
    gap = r["value"] / r["floor"] - 1.0
    return {"floor_breach_share": float((gap < 0).mean()), "worst_value_over_floor": float(gap.min())}


def _plot_equity(path: Path, returns: pd.Series, benchmark: pd.Series, extra: dict[str, pd.Series]) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    (1 + returns).cumprod().plot(ax=ax, label=returns.name or "strategy", lw=1.6)
    (1 + benchmark).cumprod().plot(ax=ax, label="buy and hold", lw=1.0, color="grey")
    for name, series in extra.items():
        (1 + series).cumprod().plot(ax=ax, label=name, lw=1.0, ls="--")
    ax.set_yscale("log")
    save_figure(fig, path, "growth of 1 (log scale)")


def _plot_vol(path: Path, records: pd.DataFrame, data: pd.DataFrame, periods: int) -> None:
    import matplotlib.pyplot as plt

    forecast = records["forecast_vol"].resample("1D").last()
    rv = realized_variance(data)["rv"]
    if len(data) > 1 and (data.index[1] - data.index[0]) >= pd.Timedelta("1D"):
        rv = rv.rolling(7).mean()  # one squared daily return is too noisy to read
    realized = np.sqrt(rv * periods).reindex(forecast.index)
    # the forecast made at day d's close is for day d + 1
    realized_next = realized.shift(-1)
    fig, ax = plt.subplots(figsize=(10, 4))
    realized_next.plot(ax=ax, lw=0.6, color="grey", alpha=0.8, label="realized (next day)")
    forecast.plot(ax=ax, lw=1.3, color="darkred", label="forecast")
    save_figure(fig, path, "annualised volatility")


def _plot_weights(path: Path, records: pd.DataFrame) -> None:
    import matplotlib.pyplot as plt

    daily = records[["target_weight", "weight", "hedge_ratio"]].resample("1D").last()
    fig, ax = plt.subplots(figsize=(10, 3.5))
    daily["weight"].plot(ax=ax, lw=1.2, label="actual weight")
    daily["target_weight"].plot(ax=ax, lw=0.8, ls="--", label="target weight")
    if daily["hedge_ratio"].notna().any() and not np.allclose(daily["hedge_ratio"].dropna(),
                                                               daily["target_weight"].dropna().reindex(
                                                                   daily["hedge_ratio"].dropna().index)):
        daily["hedge_ratio"].plot(ax=ax, lw=0.8, alpha=0.7, label="hedge ratio / delta")
    save_figure(fig, path, "fraction of portfolio")


def write_report(result, out: str | Path, tearsheet: bool = True) -> dict:
    """Write ``tearsheet.html``, ``metrics.json``, ``returns.csv`` and PNG plots; return the metrics."""
    import lstm_strategies

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = result.config
    periods = int(DAYS_PER_YEAR[cfg.calendar])
    returns, benchmark = result.returns, result.benchmark
    if len(returns) < 2:
        from lstm_strategies.errors import DataError

        raise DataError(f"{cfg.name}: the backtest produced {len(returns)} daily returns; check "
                        "backtest.start and the data range")
    records = result.records
    traded = records[records.index >= pd.Timestamp(result.provenance["trading_start"])]
    metrics = compute_metrics(returns, benchmark, periods, traded, cfg.strategy_params.get("target_vol"))
    metrics["turnover_per_year"] = _turnover(result.extras.get("traded_value", 0.0), traded["value"],
                                             len(returns))
    metrics.update(_floor_stats(traded))
    rolls = result.extras.get("rolls")
    if rolls is not None and len(rolls):
        metrics["rolls"] = int(len(rolls))
        metrics["option_cost_per_roll_mean"] = float(rolls["option_cost"].mean())
    hedges = result.extras.get("hedges")
    if hedges is not None and len(hedges):
        metrics["puts_bought"] = int(len(hedges))
        metrics["premium_paid_over_cash"] = float(hedges["premium"].sum() / cfg.cash)
        metrics["payoff_over_cash"] = float(hedges["payoff"].sum() / cfg.cash)
    if "constant_exposure" in result.extras:
        const = result.extras["constant_exposure"]
        metrics["constant_exposure"] = {"weight": result.extras["constant_weight"],
                                        **compute_metrics(const, None, periods)}
    qs = _qs()
    metrics["provenance"] = {**result.provenance, "quantstats": qs.__version__,
                             "periods_per_year": periods, "config_name": cfg.name,
                             "strategy_params": cfg.strategy_params,
                             "forecaster_params": {k: str(v) for k, v in cfg.forecaster_params.items()},
                             "library": lstm_strategies.__version__}
    frame = pd.DataFrame({"strategy": returns, "benchmark": benchmark})
    if "constant_exposure" in result.extras:
        frame["constant_exposure"] = result.extras["constant_exposure"].reindex(frame.index)
    frame.index.name = "date"
    atomic_write(out / "returns.csv", lambda tmp: frame.to_csv(tmp))
    if tearsheet:
        title = f"{cfg.name}: {cfg.strategy} with {cfg.forecaster}"
        if result.provenance.get("in_sample"):
            title += " [IN-SAMPLE]"
        # QuantStats compares against tz-naive indexes
        bench = _naive(benchmark.rename("buy and hold"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            atomic_write(out / "tearsheet.html", lambda tmp: qs.reports.html(
                _naive(returns.rename(cfg.name)), benchmark=bench, output=tmp, periods_per_year=periods,
                title=title, download_filename="tearsheet.html"))
    extra = {}
    if "constant_exposure" in result.extras:
        extra[f"constant {result.extras['constant_weight']:.2f}"] = result.extras["constant_exposure"]
    _plot_equity(out / "equity.png", returns, benchmark, extra)
    if len(traded) and traded["forecast_vol"].notna().any():
        _plot_vol(out / "forecast_vol.png", traded, result.data, periods)
    if len(traded):
        _plot_weights(out / "weights.png", traded)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2, default=str))
    return metrics


SUMMARY_KEYS = [("sharpe", "Sharpe", "{:.2f}"), ("sortino", "Sortino", "{:.2f}"), ("cagr", "CAGR", "{:.1%}"),
                ("volatility", "Vol", "{:.1%}"), ("max_drawdown", "MaxDD", "{:.1%}"),
                ("cvar_95", "CVaR95", "{:.2%}"), ("turnover_per_year", "Turnover/yr", "{:.1f}")]


def summary_table(all_metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per run with the headline numbers (and buy-and-hold's)."""
    rows = {}
    for name, m in all_metrics.items():
        rows[name] = {label: m.get(key) for key, label, _ in SUMMARY_KEYS}
        rows[name]["in-sample"] = m.get("provenance", {}).get("in_sample")
    first = next(iter(all_metrics.values()))
    if "benchmark_sharpe" in first:
        rows["buy and hold"] = {"Sharpe": first["benchmark_sharpe"], "CAGR": first["benchmark_cagr"],
                                "Vol": first["benchmark_volatility"], "MaxDD": first["benchmark_max_drawdown"]}
    return pd.DataFrame(rows).T


def print_summary(all_metrics: dict[str, dict]) -> None:
    table = summary_table(all_metrics)
    formats = {label: fmt for _, label, fmt in SUMMARY_KEYS}
    shown = table.copy().astype(object)
    for col, fmt in formats.items():
        if col in shown:
            shown[col] = [fmt.format(v) if isinstance(v, (int, float)) and pd.notna(v) else "" for v in table[col]]
    print(shown.where(shown.notna(), "").to_string())


def compare(config_paths: list[str], out: Path, data: str | None = None) -> pd.DataFrame:
    """Run several configs, write each tearsheet, one comparison table (CSV + markdown) and index.html."""
    from tqdm.auto import tqdm

    from lstm_strategies.backtest import BacktestConfig, run_backtest

    out = Path(out)
    all_metrics = {}
    for path in tqdm(config_paths, desc="backtests", unit="run"):
        cfg = BacktestConfig.from_toml(path)
        result = run_backtest(cfg, cfg.load_data(data))
        all_metrics[cfg.name] = write_report(result, out / cfg.name)
    table = summary_table(all_metrics)
    atomic_write(out / "comparison.csv", lambda tmp: table.to_csv(tmp))
    atomic_write_text(out / "comparison.md", table.to_markdown(floatfmt=".4f"))
    links = "\n".join(f'<li><a href="{name}/tearsheet.html">{name}</a> '
                      f'(<a href="{name}/metrics.json">metrics</a>)</li>' for name in all_metrics)
    html = (f"<!doctype html><html><head><meta charset='utf-8'><title>lstm-strategies comparison</title>"
            f"</head><body><h1>Backtest comparison</h1>{table.to_html(float_format=lambda v: f'{v:.4f}')}"
            f"<h2>Tearsheets</h2><ul>{links}</ul></body></html>")
    atomic_write_text(out / "index.html", html)
    print_summary(all_metrics)
    print(f"\nwrote {out}/comparison.csv, comparison.md and index.html")
    return table
