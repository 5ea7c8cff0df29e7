"""Step 1: daily panel per asset (DVOL, realized variance, 30-day variance forecasts).

One row per UTC day d (the forecast origin is day d's last hourly bar, 23:00 open / 24:00 close):

  dvol       DVOL close of day d, percent (known at the end of day d = the origin's close)
  rv_day     realized variance of day d: sum of squared hourly log returns of the bars opened on day d
             (the 00:00 bar carries the return from the previous day's close)
  rv30       realized variance of days d+1 .. d+30 (the next 30*24 bars), a fraction (not annualised);
             equals lstm_strategies.features.forward_realized_variance(df, 30) at the origin
  f_<name>   30-day variance forecasts made at the origin (fractions, not annualised):
             lstm       bundled model (btc-1h / eth-1h, trained to 2021-12-31, refit log-HAR head)
             lstm2020   the project's train_ensemble(df, "2020-12-31") (seeds 0..2), same head; used only
                        to get an out-of-sample LSTM on 2021 for the selection period
             lstm_sel   lstm2020 on 2021 origins, bundled lstm on 2022+ origins (each year forecast by a
                        model whose training ended before it)
             log_har    project log-HAR (hourly regressions, refit every 30 days, expanding)
             ewma       project EWMA (lambda 0.94)
             har_iv     log-HAR + log(DVOL^2 * 30/365) regressor, daily rows, refit every 30 days on an
                        expanding window of origins whose target had ended at the refit, exp(xb + s^2/2)

Writes data/panel_<asset>.parquet. Forecasts are computed on the full history with predict_batch
(which is causal: every forecast uses bars up to its origin only).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

torch.set_num_threads(1)

from lstm_strategies.datasets import load_dataset  # noqa: E402
from lstm_strategies.evaluation import forecast_origins  # noqa: E402
from lstm_strategies.features import HAR_FEATURES, FEATURE_NAMES, feature_matrix, forward_realized_variance  # noqa: E402
from lstm_strategies.forecasters import make_forecaster  # noqa: E402
from lstm_strategies.forecasters.lstm import LSTMForecaster  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DVOL_FILES = {"btc": "/work/shared/data/btc_dvol_daily.csv", "eth": "/work/shared/data/eth_dvol_daily.csv"}
HAR_COLS = [FEATURE_NAMES.index(c) for c in HAR_FEATURES]


def load_dvol(asset: str) -> pd.Series:
    d = pd.read_csv(DVOL_FILES[asset])
    s = pd.Series(d["dvol"].to_numpy(float), index=pd.DatetimeIndex(pd.to_datetime(d["timestamp"])).normalize(),
                  name="dvol")
    assert s.index.is_monotonic_increasing and not s.index.duplicated().any()
    return s


def har_iv_forecasts(day: pd.DatetimeIndex, X: np.ndarray, y: np.ndarray, min_targets: int = 120,
                     every: int = 30, horizon: int = 30) -> np.ndarray:
    """HAR-IV on daily origins: log rv30 = b0 + b'[log RV_d, log RV_w, log RV_m, log(IV^2*30/365)] + e.

    Row i's target ends at the end of day i + horizon; a refit at the end of day k uses rows with
    i + horizon <= k (calendar days), at least ``min_targets`` of them, with finite X. The fit at k
    forecasts rows k .. next refit - 1. Returns exp(xb + s^2/2) (the log-normal mean).
    """
    n = len(day)
    dayno = ((day - day[0]) / pd.Timedelta("1D")).to_numpy().astype(int)
    ok_x = np.isfinite(X).all(axis=1)
    ok_y = np.isfinite(y) & (y > 0)
    out = np.full(n, np.nan)
    first = None
    for k in range(n):
        usable = ok_x & ok_y & (dayno + horizon <= dayno[k])
        if usable.sum() >= min_targets:
            first = k
            break
    if first is None:
        return out
    k = first
    while k < n:
        stop = min(k + every, n)
        usable = ok_x & ok_y & (dayno + horizon <= dayno[k])
        A = np.column_stack([np.ones(usable.sum()), X[usable]])
        t = np.log(y[usable])
        beta, *_ = np.linalg.lstsq(A, t, rcond=None)
        s2 = float((t - A @ beta).var())
        rows = np.arange(k, stop)
        good = ok_x[rows]
        out[rows[good]] = np.exp(beta[0] + X[rows[good]] @ beta[1:] + 0.5 * s2)
        k = stop
    return out


def build(asset: str) -> pd.DataFrame:
    t0 = time.time()
    df = load_dataset(f"{asset}_usdt_1h")
    pos = forecast_origins(df, "2019-01-01")
    origin_time = df.index[pos]
    day = origin_time.tz_convert(None).normalize()  # UTC day of the origin bar (23:00 open)
    panel = pd.DataFrame(index=pd.DatetimeIndex(day, name="day"))
    panel["close"] = df["close"].to_numpy()[pos]
    r2 = (np.log(df["close"]).diff() ** 2).fillna(0.0)
    rv_day = r2.groupby(df.index.tz_convert(None).normalize()).sum()
    panel["rv_day"] = rv_day.reindex(panel.index).to_numpy()
    panel["rv30"] = forward_realized_variance(df, 30).to_numpy()[pos]
    # check: rv30 equals the sum of the next 30 daily RVs when the days are complete
    nxt = rv_day.reindex(pd.date_range(panel.index[0], panel.index[-1] + pd.Timedelta("30D"))).fillna(0.0)
    roll = nxt.rolling(30).sum().shift(-30).reindex(panel.index)
    gap = np.nanmax(np.abs(roll.to_numpy() - panel["rv30"].to_numpy()))
    print(f"{asset}: max |rv30 - sum of next 30 daily RV| = {gap:.3e}")

    feats = feature_matrix(df)[pos][:, HAR_COLS]
    f = {}
    for name, fc in [("log_har", make_forecaster("log_har")), ("ewma", make_forecaster("ewma")),
                     ("lstm", make_forecaster("lstm", model=f"{asset}-1h"))]:
        t1 = time.time()
        f[name] = fc.fit(df).predict_batch(df)[pos, 2]
        print(f"  {name}: {time.time() - t1:.0f}s")
    # an LSTM trained to 2020-12-31 (validation year 2020), for out-of-sample LSTM forecasts on 2021
    from lstm_strategies.training import train_ensemble
    t1 = time.time()
    res = train_ensemble(df, "2020-12-31", progress=False)
    print(f"  train_ensemble to 2020-12-31: {time.time() - t1:.0f}s; card train_end {res.card.train_end}, "
          f"val_qlike {res.card.metrics.get('val_qlike')}, corrections kept {res.card.metrics.get('correction_kept')}")
    fc2020 = LSTMForecaster.from_network(res.model, res.card, path="lstm2020")
    f["lstm2020"] = fc2020.fit(df).predict_batch(df)[pos, 2]
    for name, v in f.items():
        panel[f"f_{name}"] = v
    panel["f_lstm_sel"] = np.where(panel.index < "2022-01-01", panel["f_lstm2020"], panel["f_lstm"])

    dvol = load_dvol(asset)
    panel["dvol"] = dvol.reindex(panel.index)
    iv_reg = np.log((panel["dvol"].to_numpy() / 100.0) ** 2 * 30.0 / 365.0)
    X = np.column_stack([feats, iv_reg])
    panel["f_har_iv"] = har_iv_forecasts(panel.index, X, panel["rv30"].to_numpy())
    DATA.mkdir(exist_ok=True)
    panel.to_parquet(DATA / f"panel_{asset}.parquet")
    print(f"{asset}: {len(panel)} days, {time.time() - t0:.0f}s; first har_iv "
          f"{panel['f_har_iv'].first_valid_index()}")
    return panel


if __name__ == "__main__":
    for a in sys.argv[1:] or ["btc", "eth"]:
        build(a)
