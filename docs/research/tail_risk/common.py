"""Shared loaders and the per-(forecaster, method) risk evaluation used by the numbered scripts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import risk as R
import risk_backtests as B

HERE = Path(__file__).parent
CACHE = HERE / "cache"
OUT = HERE / "out"
OUT.mkdir(exist_ok=True)
BAR_ONLY = ["log_har", "har", "ewma", "garch", "lstm"]
IV_AWARE = ["har_iv", "lstm_iv"]
TRAIN_END = {"lstm": "2021-12-31", "lstm_iv": "2022-12-31"}   # bundled networks' last training day


def load(asset: str, names: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    t = pd.read_parquet(CACHE / f"{asset}_targets.parquet")
    f = {n: pd.read_parquet(CACHE / f"{asset}_{n}.parquet") for n in names
         if (CACHE / f"{asset}_{n}.parquet").exists()}
    return t, f


def risk_for(t: pd.DataFrame, fc: pd.DataFrame, spec: R.RiskSpec, ref_z: pd.Series | None = None) -> pd.DataFrame:
    h = spec.horizon
    return R.forecast_risk(fc[f"var_{h}d"], t[f"ret_{h}d"], spec, reference_residuals=ref_z)


def evaluate(t: pd.DataFrame, rk: pd.DataFrame, start: str, end: str, horizon: int = 1, var_level: float = 0.99,
             es_level: float = 0.975, sims: int = 0, sides=("long", "short")) -> list[dict]:
    """Per tail: coverage, ES ratio, McNeil-Frey, AS Z2 (simulated when sims > 0), mean FZ0."""
    m = (rk.index >= pd.Timestamp(start, tz="UTC")) & (rk.index <= pd.Timestamp(end, tz="UTC"))
    r = t[f"ret_{horizon}d"].reindex(rk.index)
    m &= r.notna().to_numpy() & rk["var_long"].notna().to_numpy()
    rows = []
    sub, rr = rk[m], r[m]
    sampler = None
    if sims:
        sampler_full = R.null_sampler(rk)
        mask = np.asarray(m)
        sampler = lambda n: sampler_full(n)[:, mask]  # noqa: E731
    for side in sides:
        row = {"side": side, **B.coverage_summary(rr, sub[f"var_{side}"], var_level, side, horizon)}
        er = B.es_ratio(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], side)
        row.update({"es_ratio": er["ratio"], "es_days": er["days"]})
        if horizon == 1:
            mf = B.mcneil_frey(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], sub["sigma"], side, reps=2000)
            row["mf_p"] = mf["pvalue"]
            if sampler is not None:
                row["z2_p"] = B.acerbi_szekely_z2(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], sub["sigma"],
                                                  es_level, side, sampler, sims)["pvalue"]
        row["fz0"] = float(np.mean(B.fz0_loss(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], es_level, side)))
        row["fallback_share"] = float((sub["source"] != "fhs").mean()) if rk.attrs["spec"].method == "fhs" else 1.0
        rows.append(row)
    return rows


def fz0_series(t: pd.DataFrame, rk: pd.DataFrame, start: str, end: str, horizon: int = 1,
               es_level: float = 0.975) -> pd.Series:
    """Daily two-tail FZ0 (mean of the long and the short tail's loss) on [start, end]."""
    r = t[f"ret_{horizon}d"].reindex(rk.index)
    m = (rk.index >= pd.Timestamp(start, tz="UTC")) & (rk.index <= pd.Timestamp(end, tz="UTC")) & r.notna()
    sub, rr = rk[m], r[m]
    lo = B.fz0_loss(rr, sub["var_es_long"], sub["es_long"], es_level, "long")
    hi = B.fz0_loss(rr, sub["var_es_short"], sub["es_short"], es_level, "short")
    return pd.Series(0.5 * (lo + hi), index=sub.index)
