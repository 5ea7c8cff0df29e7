"""Forecast evaluation: QLIKE, MSE, MAE of logs, Mincer-Zarnowitz, Diebold-Mariano, the MCS.

Depends on the data, the forecasters and the plotting floor only (no backtest code).

The out-of-sample protocol of :func:`evaluate_forecasters`: forecasts made at the close of each
UTC day's last bar, scored against the realized variance (sum of squared intraday log returns)
of the next ``h`` days, for each horizon ``h`` of the term structure. Diebold-Mariano tests use
``statsmodels``' implementation with the Harvey-Leybourne-Newbold small-sample correction and a
Newey-West variance with at least ``h - 1`` lags (multi-day targets overlap); the Model
Confidence Set is ``arch``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.data.calendar import STRESS_WINDOWS, get_calendar
from lstm_strategies.features.realized import forecast_origins, forward_realized_variance, log_returns
from lstm_strategies.forecasters.scoring import REFERENCE  # the strong benchmark of the literature

REGIMES = ("calm", "normal", "turbulent")


def qlike(rv, f) -> np.ndarray:
    r"""Per-observation QLIKE loss :math:`RV/f - \log(RV/f) - 1` (0 for a perfect forecast)."""
    ratio = np.asarray(rv, dtype="float64") / np.asarray(f, dtype="float64")
    return ratio - np.log(ratio) - 1.0


def mincer_zarnowitz(rv, f) -> dict:
    """OLS of ``rv`` on ``f``: intercept, slope and R² (unbiased: 0 and 1)."""
    x, y = np.asarray(f, dtype="float64"), np.asarray(rv, dtype="float64")
    X = np.column_stack([np.ones_like(x), x])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    r2 = 1.0 - resid.var() / y.var()
    return {"alpha": float(beta[0]), "beta": float(beta[1]), "r2": float(r2)}


def diebold_mariano(rv, f_a, f_b, horizon: int = 1, loss=qlike) -> dict:
    """Diebold-Mariano test of equal accuracy of forecasts ``f_a`` and ``f_b`` of ``rv``.

    ``statsmodels.tsa.stattools.diebold_mariano_test`` with the Harvey-Leybourne-Newbold
    correction (Student-t p-value); ``stat < 0`` means ``f_a`` has the lower loss.
    """
    from statsmodels.tsa.stattools import diebold_mariano_test

    rv, f_a, f_b = (np.asarray(a, dtype="float64") for a in (rv, f_a, f_b))
    res = diebold_mariano_test(rv, f_a, f_b, criterion=loss, harvey_adj=True, horizon=int(horizon))
    d = loss(rv, f_a) - loss(rv, f_b)
    return {"stat": float(res.statistic), "pvalue": float(res.pvalue), "lags": int(res.lags),
            "mean_diff": float(d.mean())}


@dataclass(frozen=True)
class MCSSettings:
    """Settings of the Model Confidence Set (Hansen, Lunde & Nason 2011; ``arch.bootstrap.MCS``)."""

    size: float = 0.05
    reps: int = 1000
    block_size: int = 10
    method: str = "R"
    seed: int = 0


def model_confidence_set(losses: pd.DataFrame, settings: MCSSettings = MCSSettings()) -> pd.Series:
    """MCS p-values per model; a model with p-value >= ``settings.size`` is in the set.

    Models whose losses are identical (e.g. a self-refitting LSTM whose correction is gated off
    equals log-HAR) are one model to the MCS: it runs on the distinct ones and each copy gets its
    twin's p-value (``attrs["note"]`` says which). When the MCS cannot be computed the p-values are
    NaN and the note says why, instead of an exception after minutes of forecasting.
    """
    from arch.bootstrap import MCS

    firsts: dict[str, str] = {}
    for name in losses:
        twin = next((kept for kept in dict.fromkeys(firsts.values())
                     if np.array_equal(losses[name].to_numpy(), losses[kept].to_numpy())), None)
        firsts[name] = twin or name
    distinct = list(dict.fromkeys(firsts.values()))
    notes = [f"{name} has the same losses as {twin}: one model in the MCS" for name, twin in firsts.items()
             if twin != name]
    pvalues = pd.Series(np.nan, index=losses.columns, name="Pvalue")
    if len(distinct) > 1:
        try:
            mcs = MCS(losses[distinct], size=settings.size, reps=settings.reps, block_size=settings.block_size,
                      method=settings.method, seed=settings.seed)
            mcs.compute()
            found = mcs.pvalues["Pvalue"]
            pvalues = pd.Series([found.get(firsts[name], np.nan) for name in losses], index=losses.columns,
                                name="Pvalue")
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            notes.append(f"the MCS could not be computed ({type(exc).__name__}: {exc}); its p-values are empty")
    else:
        pvalues[:] = 1.0
    pvalues.attrs["note"] = "; ".join(notes)
    return pvalues


def score_table(rv: pd.Series, forecasts: pd.DataFrame, reference: str = "lstm", horizon: int = 1,
                against: str | list[str] | None = None, mcs: MCSSettings | None = MCSSettings()) -> pd.DataFrame:
    """One row per forecaster: QLIKE, MSE, MAE of log variance, MZ R², DM vs ``reference``, MCS p-value.

    ``against`` (e.g. ``"log_har"``, or several names) adds the ratio and DM p-value of every
    forecaster against each (p-value NaN where the two forecasts are identical: no test to make).
    """
    refs = [against] if isinstance(against, str) else list(against or [])
    y = rv.to_numpy()
    losses = pd.DataFrame({name: qlike(y, forecasts[name]) for name in forecasts}, index=rv.index)
    rows = {}
    for name in forecasts:
        f = forecasts[name].to_numpy()
        row = {"qlike": losses[name].mean(), "mse": float(np.mean((y - f) ** 2)),
               "mae_log": float(np.mean(np.abs(np.log(y) - np.log(f)))),
               "mz_r2": mincer_zarnowitz(y, f)["r2"]}
        if reference in forecasts and name != reference:
            dm = diebold_mariano(y, forecasts[reference], f, horizon)
            row.update({f"{reference}_qlike_ratio": losses[reference].mean() / losses[name].mean(),
                        "dm_stat": dm["stat"], "dm_pvalue": dm["pvalue"]})
        for ref in refs:
            if ref in forecasts and name != ref:
                same = np.array_equal(f, forecasts[ref].to_numpy())
                row.update({f"ratio_vs_{ref}": losses[name].mean() / losses[ref].mean(),
                            f"dm_pvalue_vs_{ref}": np.nan if same else diebold_mariano(y, f, forecasts[ref],
                                                                                       horizon)["pvalue"]})
        rows[name] = row
    table = pd.DataFrame(rows).T
    if mcs is not None and len(forecasts.columns) > 1:
        pvalues = model_confidence_set(losses, mcs)
        table["mcs_pvalue"] = pvalues
        table.attrs["mcs_note"] = pvalues.attrs.get("note", "")
    return table


def daily_targets(df: pd.DataFrame, start: str, end: str | None = None, days: int = 1,
                  calendar: str = "crypto") -> tuple[pd.Series, np.ndarray]:
    """Realized variance of the next ``days`` days at each day's last bar, and those bars' positions."""
    pos = forecast_origins(df, start, end)
    y = forward_realized_variance(df, days, calendar).to_numpy()[pos]
    ok = np.isfinite(y) & (y > 0)
    pos = pos[ok]
    return pd.Series(y[ok], index=df.index[pos], name=f"rv_{days}d"), pos


def trailing_variance(df: pd.DataFrame, days: int = 30, calendar: str = "crypto") -> np.ndarray:
    """Mean daily realized variance over the trailing ``days`` at every bar (known at its close)."""
    cal = get_calendar(calendar)
    b = cal.bars_per_day(df.attrs.get("timeframe") or (df.index[1] - df.index[0]))
    r2 = (log_returns(df["close"]) ** 2).fillna(0.0)
    return (r2.rolling(days * b, min_periods=days * b).sum() / days).to_numpy()


def regime_labels(trailing: np.ndarray) -> np.ndarray:
    """Terciles of the trailing variance over the evaluation days: calm / normal / turbulent."""
    lo, hi = np.nanquantile(trailing, [1 / 3, 2 / 3])
    return np.where(trailing <= lo, REGIMES[0], np.where(trailing <= hi, REGIMES[1], REGIMES[2]))


def _subset_rows(rv: pd.Series, forecasts: pd.DataFrame, mask, horizon: int, label: str,
                 models: list[str]) -> dict:
    y, f = rv[mask], forecasts[mask]
    row = {"group": label, "days": int(len(y))}
    for name in models:
        row[f"qlike_{name}"] = float(qlike(y, f[name]).mean())
    if REFERENCE in f and len(y) >= 5:
        for name in _models(f.columns):
            row[f"{name}_vs_{REFERENCE}"] = row[f"qlike_{name}"] / row[f"qlike_{REFERENCE}"]
            row[f"dm_pvalue_{name}_vs_{REFERENCE}"] = diebold_mariano(y, f[name], f[REFERENCE], horizon)["pvalue"]
    return row


def _models(names) -> list[str]:
    """The forecasters of kind "model" among ``names`` (the ones compared with the reference)."""
    from lstm_strategies.forecasters.registry import REGISTRY

    return [n for n in names if n in REGISTRY and REGISTRY[n].kind == "model"]


def regime_table(rv: pd.Series, forecasts: pd.DataFrame, trailing: np.ndarray, horizon: int = 1) -> pd.DataFrame:
    """QLIKE per forecaster and DM of the LSTM(s) vs log-HAR, by tercile of trailing 30-day variance."""
    labels = regime_labels(trailing)
    rows = [_subset_rows(rv, forecasts, labels == regime, horizon, regime, list(forecasts)) for regime in REGIMES]
    return pd.DataFrame(rows).set_index("group")


def stress_table(rv: pd.Series, forecasts: pd.DataFrame, windows: dict = STRESS_WINDOWS,
                 horizon: int = 1) -> pd.DataFrame:
    """The same scores inside named stress windows (target days in the window)."""
    rows = []
    for name, (a, b) in windows.items():
        mask = (rv.index >= pd.Timestamp(a, tz="UTC")) & (rv.index < pd.Timestamp(b, tz="UTC") + pd.Timedelta("1D"))
        if mask.sum() >= 3:
            rows.append(_subset_rows(rv, forecasts, mask, horizon, name, list(forecasts)))
    return pd.DataFrame(rows).set_index("group") if rows else pd.DataFrame()


@dataclass
class Evaluation:
    """Everything :func:`evaluate_forecasters` measured."""

    horizons: list[int]
    calendar: str
    overall: dict[int, pd.DataFrame]           # horizon -> score table
    by_year: pd.DataFrame                      # 1-day QLIKE per year
    by_regime: pd.DataFrame                    # 1-day, by tercile of trailing variance
    stress: pd.DataFrame                       # 1-day, in named stress windows
    forecasts: dict[int, pd.DataFrame]         # horizon -> forecasts + realized
    notes: dict = field(default_factory=dict)  # e.g. GARCH convergence warnings


def forecaster_set(model: str = "btc-1h", start: str = "2022-01-01", refit_every: str | None = None,
                   first_train_end: str | None = None, refit_kwargs: dict | None = None,
                   implied: pd.Series | None = None, iv_model: str | None = None, extra: dict | None = None) -> dict:
    """The forecasters :func:`collect_forecasts` runs, by column: every registered forecaster (built-in,
    entry point or plugin) whose :meth:`~lstm_strategies.forecasters.base.Forecaster.scoring_params` takes
    part given the LSTM ``model``, ``refit_every``, the LSTM-IV ``iv_model`` and the inputs given, in
    :func:`~lstm_strategies.forecasters.scoring.scoring_order`; then ``extra`` (column -> (registry name,
    parameters), e.g. :mod:`lstm_strategies.forecasters.calibrated`'s variants; one reading an input not given
    is left out). A model forecasting inside its training window is a :class:`LeakageError`."""
    from lstm_strategies.forecasters.registry import make_forecaster
    from lstm_strategies.forecasters.scoring import ScoringSetup, scored

    reference = make_forecaster("lstm", model=model)   # the checkpoint scored sets calendar and horizons
    horizons = tuple(reference.horizons)
    refit = None if not refit_every else {
        "refit_every": refit_every, "horizons": list(horizons), **(refit_kwargs or {}),
        "first_train_end": first_train_end or str((pd.Timestamp(start) - pd.Timedelta("1D")).date())}
    setup = ScoringSetup(model=model, horizons=horizons, calendar=reference.calendar,
                         inputs=frozenset() if implied is None else frozenset({"implied_vol"}),
                         iv_model=iv_model, refit=refit)
    inputs = {} if implied is None else {"implied_vol": implied}
    return _completed({}, {**scored(setup), **(extra or {})}, inputs, setup.calendar, start)


def _completed(models: dict, extra: dict | None, inputs: dict, cal: str, start: str) -> dict:
    from lstm_strategies.forecasters.registry import forecaster_class, make_forecaster

    for column, (name, params) in (extra or {}).items():
        if set(forecaster_class(name).inputs) <= set(inputs):  # an LSTM's calendar is its card's
            models[column] = make_forecaster(name, None if "model" in params else cal, **params)
    for m in models.values():
        if hasattr(m, "check_out_of_sample"):
            m.check_out_of_sample(pd.Timestamp(start, tz="UTC"))
        if m.inputs:
            m.set_inputs(**{k: inputs[k] for k in m.inputs})
    return models


def _predict(models: dict, df: pd.DataFrame, first: pd.Timestamp, progress: bool) -> dict[str, np.ndarray]:
    from tqdm.auto import tqdm

    predictions = {}
    bar = tqdm(models.items(), desc="forecasts", unit="forecaster", leave=False, disable=not progress)
    for name, m in bar:
        bar.set_postfix_str(name)
        with np.errstate(over="ignore", invalid="ignore"):
            predictions[name] = m.fit(df).predict_batch(df, start=first)
    bar.close()
    return predictions


def _scored_frame(models: dict, predictions: dict, rv: pd.Series, pos: np.ndarray, j: int, h: int,
                  span: str) -> pd.DataFrame:
    """Horizon ``h``'s forecasts on the days every forecaster forecast, with ``realized`` (or a ForecastError)."""
    from lstm_strategies.core.errors import ForecastError

    fc = pd.DataFrame({name: p[pos, j] for name, p in predictions.items()}, index=rv.index)
    broken = fc.columns[((np.isinf(fc) | (fc <= 0)) & fc.notna()).any()]
    if len(broken):
        name = broken[0]
        bad = fc.index[(np.isinf(fc[name]) | (fc[name] <= 0)).to_numpy()]
        raise ForecastError(f"forecaster {name} ({models[name]!r}) gave {len(bad)} infinite or non-positive "
                            f"{h}-day variance forecast(s) on scored days (first {bad[0].date()}): its model "
                            "is unusable (a checkpoint with corrupted weights?); retrain or restore it")
    ok = fc.notna().all(axis=1).to_numpy()
    if not ok.any():
        raise ForecastError(f"no scored day {span} has a {h}-day forecast from every forecaster "
                            f"({', '.join(fc.columns[fc.isna().all()])} never forecast); "
                            "pass a longer history before the start")
    return fc[ok].assign(realized=rv[ok])


def collect_forecasts(df: pd.DataFrame, model: str = "btc-1h", start: str = "2022-01-01", end: str | None = None,
                      refit_every: str | None = None, first_train_end: str | None = None,
                      refit_kwargs: dict | None = None, implied: pd.Series | None = None,
                      iv_model: str | None = None, progress: bool = False, extra: dict | None = None
                      ) -> tuple[list[int], str, dict[int, pd.DataFrame], dict]:
    """The forecasts :func:`evaluate_forecasters` scores: per horizon, one column per forecaster and
    ``realized``, on the days every forecaster has a forecast.

    With ``implied`` (an implied-vol series) the forecasters that read it join: the baselines that
    declare it (HAR-IV, raw, level-corrected and anchored implied), the LSTM-IV ``iv_model`` (a bundled name
    such as ``"btc-1h-iv"`` or a folder; None: none) and, with ``refit_every``, the self-refitting LSTM-IV.
    ``extra`` adds forecasters (:func:`forecaster_set`). Each forecasts the bars up to the last origin scored.

    A forecaster that gives an infinite or non-positive variance on a scored day (a corrupted model)
    is a :class:`~lstm_strategies.errors.ForecastError` naming it, not a failure deep in the scoring.
    """
    models = forecaster_set(model, start, refit_every, first_train_end, refit_kwargs, implied, iv_model, extra)
    lstm = models["lstm"]
    cal, horizons = lstm.calendar, list(lstm.horizons)
    full, origins = df, forecast_origins(df, start, end)
    if len(origins):  # forecasts are causal: the bars after the last origin change none of them
        df = df.iloc[: origins[-1] + 1]
        df.attrs = dict(full.attrs)
    predictions = _predict(models, df, pd.Timestamp(start, tz="UTC"), progress)
    notes = {f"{name}_convergence_warnings": m.convergence_warnings for name, m in models.items()
             if hasattr(m, "convergence_warnings")}
    notes |= {f"{name}_input_fallbacks": m.input_fallbacks for name, m in models.items() if m.input_fallbacks}
    span = f"between {start} and {end or 'the last bar'}"
    frames = {h: _scored_frame(models, predictions, *daily_targets(full, start, end, h, cal), j, h, span)
              for j, h in enumerate(horizons)}
    return horizons, cal, frames, notes


def score_forecasts(df: pd.DataFrame, horizons: list[int], cal: str, frames: dict[int, pd.DataFrame],
                    notes: dict | None = None, mcs: MCSSettings = MCSSettings(), progress: bool = False) -> Evaluation:
    """Score the forecasts of :func:`collect_forecasts`: per horizon, per year, by regime, in stress windows."""
    from tqdm.auto import tqdm

    overall = {}
    notes = dict(notes or {})
    for h in tqdm(horizons, desc="scores (DM tests, MCS)", unit="horizon", leave=False, disable=not progress):
        fc = frames[h].drop(columns="realized")
        overall[h] = score_table(frames[h]["realized"], fc, horizon=h, against=[REFERENCE, "har_iv", "implied"],
                                 mcs=mcs)
        note = overall[h].attrs.get("mcs_note")
        if note:
            notes[f"mcs_{h}d"] = note
    rv1 = frames[horizons[0]]["realized"]
    fc1 = frames[horizons[0]].drop(columns="realized")
    years = {}
    for year, idx in rv1.groupby(rv1.index.year).groups.items():
        if len(idx) >= 30:
            years[year] = {name: float(qlike(rv1.loc[idx], fc1.loc[idx, name]).mean()) for name in fc1}
    by_year = pd.DataFrame(years).T
    by_year.index.name = "year"
    trailing = pd.Series(trailing_variance(df, 30, cal), index=df.index).reindex(rv1.index).to_numpy()
    return Evaluation(horizons, cal, overall, by_year, regime_table(rv1, fc1, trailing, horizons[0]),
                      stress_table(rv1, fc1, horizon=horizons[0]), frames, notes)


def evaluate_forecasters(df: pd.DataFrame, model: str = "btc-1h", start: str = "2022-01-01",
                         end: str | None = None, refit_every: str | None = None,
                         first_train_end: str | None = None, mcs: MCSSettings = MCSSettings(),
                         refit_kwargs: dict | None = None, implied: pd.Series | None = None,
                         iv_model: str | None = None, extra: dict | None = None) -> Evaluation:
    """Out-of-sample term-structure forecasts of the LSTM and every baseline, scored per horizon.

    Parameters
    ----------
    df : DataFrame
        Validated OHLCV bars; baselines refit on an expanding window inside it.
    model : str
        The frozen LSTM (a bundled name or a checkpoint folder); its forecasts must all be out of
        sample (:class:`~lstm_strategies.errors.LeakageError` otherwise).
    start, end : str
        Forecast origins scored.
    refit_every : str, optional
        Also score the self-refitting LSTM (e.g. ``"6M"``), first trained to ``first_train_end``
        (default: the day before ``start``).
    implied : Series, optional
        An implied-vol series: the forecasters that read it join (see :func:`collect_forecasts`).
    extra : dict, optional
        More forecasters, column -> (registry name, parameters) (see :func:`forecaster_set`).
    """
    horizons, cal, frames, notes = collect_forecasts(df, model, start, end, refit_every, first_train_end,
                                                     refit_kwargs, implied, iv_model, extra=extra)
    return score_forecasts(df, horizons, cal, frames, notes, mcs)


def plot_forecasts(forecasts: pd.DataFrame, path: Path, days_per_year: float = 365.0, days: int = 1) -> None:
    """Forecast against realized annualised volatility, as weekly means of the daily variances: a 1-day
    forecast drawn against one day's squared returns would look biased high (a day's realized variance is
    mostly noise around its forecast); the weekly mean of both is the comparison the eye can make."""
    from lstm_strategies.core.plotting import new_figure, percent_axis, save_figure

    weekly = forecasts.resample("W-MON").mean()
    vol = np.sqrt(weekly * days_per_year / days)
    fig, ax = new_figure(11, 4.8)
    ax.plot(vol.index, vol["realized"], lw=1.0, color="0.5", label=f"realized, next {days} day(s)")
    styles = {"log_har": ("tab:blue", "-", "log-HAR"), "lstm": ("darkred", "--", "LSTM"),
              "lstm_iv": ("tab:purple", "-", "LSTM with implied vol")}
    for name, (color, ls, label) in styles.items():
        if name in vol:
            ax.plot(vol.index, vol[name], lw=1.2, color=color, ls=ls, label=f"{label} forecast")
    ax.set_ylim(bottom=0)
    percent_axis(ax)
    save_figure(fig, path, f"{days}-day volatility forecasts against what was realized (out of sample, weekly means)",
                "annualised volatility")
