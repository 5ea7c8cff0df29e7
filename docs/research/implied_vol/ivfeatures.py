"""Data, implied-volatility features, targets and scoring shared by every script here.

Conventions (all causal):

* Bars are Binance hourly bars, stamped with their open time; a bar stamped ``t`` closes at ``t + 1h``.
  A forecast "at bar t" is made at that close, with bars ``<= t``.
* DVOL is a daily close, known at the END of its UTC day: at a bar closing at ``T`` we use the last
  DVOL whose day ended at or before ``T`` (``lstm_strategies.implied`` stamps each value with that
  time). A value older than ``MAX_AGE`` (3 days) counts as missing (never happens in 2021-03-25 ..
  2026-04-07; the series has no gaps).
* Targets: realized variance over the next ``h`` days = sum of squared hourly log returns of the bars
  in ``(t, t + h*24h]`` (``features.forward_variance_matrix``). A target is *known* at the close of the
  bar stamped ``t + h days`` (``target_ends``), and only known targets ever enter a fit.
* Forecast origins: each UTC day's last bar (the 23:00 bar), ``evaluation.forecast_origins``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.datasets import load_dataset
from lstm_strategies.evaluation import forecast_origins, qlike
from lstm_strategies.features import FEATURE_NAMES, feature_matrix, forward_variance_matrix
from lstm_strategies.implied import load_implied_vol

HORIZONS = [1, 7, 30]
DVOL_FILES = {"btc": "/work/shared/data/btc_dvol_daily.csv", "eth": "/work/shared/data/eth_dvol_daily.csv"}
MAX_AGE = pd.Timedelta("3D")
HOUR = pd.Timedelta("1h").value
OUT = Path(__file__).resolve().parent / "out"

IV_FEATURES = ["iv_vrp", "iv_dlog", "iv_avail"]

# the protocol's dates
TRAIN_END_1 = "2021-12-31"     # stage 1 (design): fit/train to here
VAL_START, VAL_END = "2022-01-01", "2022-12-31"   # stage 1 validation: origins in 2022, targets end in 2022
TRAIN_END_2 = "2022-12-31"     # stage 2 (final): fit/train to here
TEST_START, TEST_END = "2023-01-01", "2026-04-06"  # the race's forecast origins


def end_of_day(day: str) -> pd.Timestamp:
    """The last hourly bar stamp of a UTC day (its 23:00 bar)."""
    return pd.Timestamp(day, tz="UTC") + pd.Timedelta("23h")


def load(asset: str, end: str | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Hourly bars and the DVOL series (fractions, indexed by the time each value becomes known).

    ``end`` (a UTC day) truncates both: bars stamped after that day's 23:00 and DVOL days after it are
    never loaded, so nothing later can leak into what is computed.
    """
    df = load_dataset(f"{asset}_usdt_1h")
    iv = load_implied_vol(DVOL_FILES[asset])
    if end is not None:
        attrs = dict(df.attrs)
        df = df[df.index <= end_of_day(end)].copy()
        df.attrs = attrs
        # a DVOL day is known at its end = the next midnight
        iv = iv[iv.index <= pd.Timestamp(end, tz="UTC") + pd.Timedelta("1D")]
    return df, iv


def iv_at_bars(df: pd.DataFrame, iv: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Implied vol known at each bar's close and the value before it (fractions; NaN when none/stale)."""
    close = df.index.asi8 + HOUR
    known = iv.index.asi8
    vals = iv.to_numpy(dtype="float64")
    i = np.searchsorted(known, close, side="right") - 1
    now = np.full(len(df), np.nan)
    prev = np.full(len(df), np.nan)
    ok = i >= 0
    now[ok] = vals[i[ok]]
    stale = ok & (close - known[np.maximum(i, 0)] > MAX_AGE.value)
    now[stale] = np.nan
    okp = ok & (i >= 1) & ~stale
    prev[okp] = vals[i[okp] - 1]
    # the previous value must itself be at most one period + MAX_AGE old (no gaps in DVOL: always true)
    return now, prev


def base_features(df: pd.DataFrame) -> np.ndarray:
    """The library's 10 features (``FEATURE_NAMES``), raw (not yet in relative form)."""
    return feature_matrix(df, "crypto")


def iv_feature_block(feats: np.ndarray, iv_now: np.ndarray, iv_prev: np.ndarray) -> np.ndarray:
    """The scale-free implied-vol inputs of the LSTM, ``(n, 3)`` in the order of ``IV_FEATURES``.

    * ``iv_vrp``  = log(IV^2 / 365) - log_rv_month: the log of the implied daily variance over the
      trailing month's mean daily realized variance (the variance risk premium as the model sees it;
      equal to log(IV^2*30/365) - log(RV of the trailing 30 days)).
    * ``iv_dlog`` = log IV_D - log IV_{D-1}: the last known 1-day change of log DVOL.
    * ``iv_avail``= 1 where DVOL is known at the bar, 0 before 2021-03-25 (both others are then 0).
    """
    month = feats[:, FEATURE_NAMES.index("log_rv_month")]
    avail = np.isfinite(iv_now)
    vrp = np.where(avail, np.log(np.where(avail, iv_now, 1.0) ** 2 / 365.0) - month, 0.0)
    both = avail & np.isfinite(iv_prev)
    dlog = np.where(both, np.log(np.where(both, iv_now, 1.0)) - np.log(np.where(both, iv_prev, 1.0)), 0.0)
    return np.column_stack([vrp, dlog, avail.astype(float)])


def implied_variance(iv_now: np.ndarray, horizons=HORIZONS) -> np.ndarray:
    """Raw implied variance over each horizon: ``IV^2 * h / 365`` (n, H)."""
    return np.column_stack([iv_now ** 2 * h / 365.0 for h in horizons])


def targets(df: pd.DataFrame, horizons=HORIZONS) -> np.ndarray:
    return forward_variance_matrix(df, horizons, "crypto")


def target_ends(df: pd.DataFrame, horizons=HORIZONS) -> np.ndarray:
    """Bar index at whose close each row's target is known (``len(df)`` if after the data)."""
    ts = df.index.asi8
    spans = np.array([pd.Timedelta(days=h).value for h in horizons])
    return np.searchsorted(ts, ts[:, None] + spans[None, :], side="left")


def origins(df: pd.DataFrame, start: str, end: str) -> np.ndarray:
    """Positions of the daily forecast origins (each UTC day's last bar) from ``start`` to ``end``."""
    return forecast_origins(df, start, end)


def qlike_table(df_targets: np.ndarray, pos: np.ndarray, forecasts: dict[str, np.ndarray],
                horizons=HORIZONS, ref: str = "log_har") -> pd.DataFrame:
    """Mean QLIKE at the origins ``pos`` per forecaster and horizon, and the ratio to ``ref``.

    Origins whose target is not complete (NaN) are dropped, and so is any origin where a forecaster is
    NaN: every forecaster is scored on the same origins.
    """
    rows = {}
    for j, h in enumerate(horizons):
        y = df_targets[pos, j]
        ok = np.isfinite(y) & (y > 0)
        for f in forecasts.values():
            ok &= np.isfinite(f[pos, j])
        for name, f in forecasts.items():
            rows.setdefault(name, {})[f"q{h}"] = float(qlike(y[ok], f[pos, j][ok]).mean())
        for name in forecasts:
            rows[name][f"r{h}"] = rows[name][f"q{h}"] / rows[ref][f"q{h}"]
        rows[ref][f"n{h}"] = int(ok.sum())
    return pd.DataFrame(rows).T
