"""Leverage rule: choice of form and budget constant on the calibration periods.

Bar-only: origins 2019-07-01 .. 2021-12-30 (holding periods end by 2021-12-31), BTC and ETH pooled,
forecasters log_har, har, ewma, garch (causal).  The bundled LSTM (in-sample) gets log-HAR's constant.
IV-aware: origins 2021-07-01 .. 2022-12-30 (HAR-IV has >= 90 days of DVOL from 2021-06-22), HAR-IV's
constant; the LSTM-IV (in-sample in 2022) gets HAR-IV's constant.
Forms of the risk scale q_t (the liquidation distance is V_t = c q_t):
  sigma    : sqrt of the 1-day variance forecast
  fhs_var  : the frozen FHS 99% 1-day VaR of the close-to-close loss (window 250)
  fhs_ext  : FHS of the standardised adverse extreme x_t / sigma_t (causal pool, 250 days, 99%) x sigma_t
  fixed    : q = 1 (a fixed leverage)
Budget: 1 liquidation a year per asset.
"""
from __future__ import annotations

import json
import os

os.environ.setdefault("LSTM_STRATEGIES_DATA", "/work/shared/data")
import numpy as np
import pandas as pd

import common as C
import leverage as LV
import risk as R

SPEC1 = R.RiskSpec(window=250)          # frozen 1-day VaR spec (see REPORT, Frozen choices)
SPEC_EXT = R.RiskSpec(window=250, var_level=0.99)


def extremes(asset: str) -> pd.DataFrame:
    from lstm_strategies.datasets import load_dataset
    from lstm_strategies.features import forecast_origins

    path = C.CACHE / f"{asset}_ext.parquet"
    if path.exists():
        return pd.read_parquet(path)
    bars = load_dataset(f"{asset}_usdt_1h")
    ext = LV.daily_extremes(bars, forecast_origins(bars, str(bars.index[0].date())))
    ext.to_parquet(path)
    return ext


def scales(asset: str, name: str, side: str = "long", cutoff: str | None = None) -> pd.DataFrame:
    """q_t for every form, known at each origin; `cutoff` drops everything after it (no later row read)."""
    ext = extremes(asset)
    t, fcs = C.load(asset, [name])
    fc = fcs[name]
    if cutoff is not None:
        end = pd.Timestamp(cutoff + " 23:00", tz="UTC")
        ext, t, fc = ext[ext.index <= end].copy(), t[t.index <= end].copy(), fc[fc.index <= end]
        # the last origin's period ends after the cutoff
        ext.loc[ext.index[-1], ["ret", "x_long", "x_short"]] = np.nan
        t.loc[t.index[-1], ["ret_1d"]] = np.nan
    ext = ext.reindex(fc.index)
    x = ext[f"x_{side}"]
    sig = np.sqrt(fc["var_1d"])
    rk = R.forecast_risk(fc["var_1d"], t["ret_1d"].reindex(fc.index), SPEC1)
    # the standardised adverse extreme as a "return" whose lower tail is -x: FHS on it gives q_99(x/sigma)
    rk_ext = R.forecast_risk(fc["var_1d"], -x, SPEC_EXT)
    out = pd.DataFrame({"x": x, "ret": ext["ret"], "sigma": sig, "fhs_var": rk[f"var_{side}"],
                        "fhs_ext": rk_ext["var_long"], "fixed": 1.0,
                        "z": t["ret_1d"].reindex(fc.index) / sig}, index=fc.index)
    return out


FORMS = ["sigma", "fhs_var", "fhs_ext", "fixed"]


def calibrate(assets, names, start, end, side="long", budget=1.0) -> tuple[dict, pd.DataFrame]:
    rows, consts = [], {}
    s, e = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end + " 23:00", tz="UTC")
    mid = s + (e - s) / 2
    for name in names:
        frames = {a: scales(a, name, side, cutoff=end) for a in assets}
        for form in FORMS:
            pooled = pd.concat([f.loc[(f.index >= s) & (f.index <= e)] for f in frames.values()])
            pooled = pooled[np.isfinite(pooled["x"]) & np.isfinite(pooled[form])]
            c = LV.calibrate_constant(pooled["x"], pooled[form], budget)
            consts[(name, form)] = c
            row = {"forecaster": name, "form": form, "c": c}
            for a, f in frames.items():
                f = f.loc[(f.index >= s) & (f.index <= e)]
                f = f[np.isfinite(f["x"]) & np.isfinite(f[form])]
                venue = LV.venue_defaults(a)
                n, m = LV.liquidations_for(f["x"].to_numpy(), f[form].to_numpy(), c, venue, side)
                row[f"{a}_liq_per_yr"] = n / (len(f) / 365)
                row[f"{a}_mean_lev"] = m
            # split-half stability: c from the first half, liquidations on the second
            h1 = pooled[pooled.index < mid]
            h2 = pooled[pooled.index >= mid]
            c1 = LV.calibrate_constant(h1["x"], h1[form], budget)
            n2 = np.sum(h2["x"].to_numpy() >= c1 * h2[form].to_numpy())
            row["c_first_half"] = c1
            row["second_half_liq_per_yr_per_asset"] = n2 / (len(h2) / 365)
            rows.append(row)
    return consts, pd.DataFrame(rows)


def main() -> None:
    pd.set_option("display.width", 250)
    out = {}
    for side in ("long", "short"):
        consts, tab = calibrate(["btc", "eth"], ["log_har", "har", "ewma", "garch"], "2019-07-01", "2021-12-30", side)
        tab["mean_lev"] = tab[["btc_mean_lev", "eth_mean_lev"]].mean(axis=1)
        print(f"bar-only calibration, {side}\n", tab.round(3).to_string())
        tab.to_csv(C.OUT / f"leverage_calibration_baronly_{side}.csv", index=False)
        consts_iv, tab_iv = calibrate(["btc", "eth"], ["har_iv"], "2021-07-01", "2022-12-30", side)
        tab_iv["mean_lev"] = tab_iv[["btc_mean_lev", "eth_mean_lev"]].mean(axis=1)
        print(f"IV-aware calibration, {side}\n", tab_iv.round(3).to_string())
        tab_iv.to_csv(C.OUT / f"leverage_calibration_iv_{side}.csv", index=False)
        out[side] = {"baronly": {f"{k[0]}|{k[1]}": v for k, v in consts.items()},
                     "iv": {f"{k[0]}|{k[1]}": v for k, v in consts_iv.items()}}
    # range scaling: adverse extreme vs close-to-close, on the bar-only calibration period (log-HAR)
    rows = []
    for a in ("btc", "eth"):
        f = scales(a, "log_har", "long", cutoff="2021-12-30")
        f = f[(f.index >= pd.Timestamp("2019-07-01", tz="UTC"))].dropna(subset=["x", "z"])
        u, zl = f["x"] / f["sigma"], -f["z"]
        for p in (0.99, 1 - 1 / 365):
            rows.append({"asset": a, "p": p, "q_extreme": np.quantile(u, p), "q_close": np.quantile(zl, p),
                         "q_close_half_tail": np.quantile(zl, 1 - (1 - p) / 2),
                         "ratio_ext_to_close": np.quantile(u, p) / np.quantile(zl, p),
                         "mean_x_over_sigma": u.mean(), "mean_abs_z": np.abs(zl).mean()})
    rs = pd.DataFrame(rows)
    print("range scaling (log-HAR, 2019-07..2021-12)\n", rs.round(3).to_string())
    rs.to_csv(C.OUT / "range_scaling.csv", index=False)
    json.dump(out, open(C.OUT / "leverage_constants.json", "w"), indent=1)


if __name__ == "__main__":
    main()
