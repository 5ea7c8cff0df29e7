"""Part 2: the frozen forecasters scored once on origins 2023-01-01 .. 2026-04-06.

    python train_iv.py final   # the LSTM-IV networks, trained on data to 2022-12-31 (seconds)
    python race.py             # -> out/race_scores.csv, out/race_encompassing.csv, out/race_by_year.csv,
                               #    out/race_forecasts_{btc,eth}.csv, printed tables and goal lines
"""
from __future__ import annotations

import json

import torch

torch.set_num_threads(1)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels.api as sm  # noqa: E402

import har_iv as HI  # noqa: E402
import ivfeatures as F  # noqa: E402
import train_iv as T  # noqa: E402
from lstm_strategies.evaluation import MCSSettings, diebold_mariano, model_confidence_set, qlike  # noqa: E402
from lstm_strategies.forecasters import make_forecaster  # noqa: E402

NAMES = ["log_har", "har_iv", "implied_raw", "implied_level", "lstm_bundled", "lstm_iv", "combo"]


def design() -> dict:
    return json.loads((F.OUT / "frozen_design.json").read_text())


def load_lstm_iv(asset: str) -> tuple[dict, T.Variant]:
    # research only: reads back its own torch.save file (pickle); the package loads safetensors + JSON
    blob = torch.load(F.OUT / "final" / f"{asset}_har_iv_in_h17" / "model.pt", weights_only=False)
    v = T.Variant(**{k: tuple(x) if isinstance(x, list) else x for k, x in blob["variant"].items()})
    return blob, v


def forecast_all(df: pd.DataFrame, iv: pd.Series, asset: str, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Every race forecaster on ``df`` (n, H); the LSTM-IV correction only at ``rows`` (NaN elsewhere)."""
    d = design()
    blob, v = load_lstm_iv(asset)
    prep = T.prepare(asset, None, d["implied_level"]["window_days"], data=(df, iv))
    h = prep["heads"]
    fc = {"log_har": h["har"], "har_iv": h["har_iv"], "implied_raw": HI.implied_raw(prep["iv_now"]),
          "implied_level": HI.implied_level(df, prep["iv_now"], d["implied_level"]["window_days"])}
    fc["lstm_bundled"] = make_forecaster("lstm", model=f"{asset}-1h").fit(df).predict_batch(df)
    corr = T.correction(blob, prep, v, rows) * np.array(d["lstm_iv"]["gates"][asset], dtype=float)
    lstm_iv = np.full_like(h["har"], np.nan)
    lstm_iv[rows] = h["har"][rows] * np.exp(corr)
    fc["lstm_iv"] = lstm_iv
    fc["combo"] = HI.har_iv_combo(df, prep["iv_now"], fc["lstm_bundled"], d["combo"]["oos_from"],
                                  prep["feats"], h["har_iv"])
    return fc


def mcs_pvalues(losses: pd.DataFrame) -> pd.Series:
    """arch's MCS; forecasters with identical losses (LSTM-IV = log-HAR where its correction is off)
    enter once and share the p-value."""
    keep, twin = [], {}
    for c in losses:
        same = next((k for k in keep if np.array_equal(losses[k].to_numpy(), losses[c].to_numpy())), None)
        if same is None:
            keep.append(c)
        else:
            twin[c] = same
    p = model_confidence_set(losses[keep], MCSSettings())
    return pd.Series({c: p[twin.get(c, c)] for c in losses})


def main():
    scores, enc_rows, years = [], [], []
    for asset in ("btc", "eth"):
        df, iv = F.load(asset)
        pos = F.origins(df, F.TEST_START, F.TEST_END)
        fc = forecast_all(df, iv, asset, pos)
        Y = F.targets(df)[pos]
        ok = np.isfinite(Y).all(axis=1)
        for f in fc.values():
            ok &= np.isfinite(f[pos]).all(axis=1)
        assert ok.all(), f"{asset}: {np.count_nonzero(~ok)} origins without a target or a forecast"
        idx = df.index[pos]
        frame = pd.DataFrame({f"rv_{h}d": Y[:, j] for j, h in enumerate(F.HORIZONS)}, index=idx)
        for name in NAMES:
            for j, h in enumerate(F.HORIZONS):
                frame[f"{name}_{h}d"] = fc[name][pos, j]
        frame.to_csv(F.OUT / f"race_forecasts_{asset}.csv")
        for j, h in enumerate(F.HORIZONS):
            y = Y[:, j]
            losses = pd.DataFrame({k: qlike(y, fc[k][pos, j]) for k in NAMES}, index=idx)
            mcs = mcs_pvalues(losses)
            for k in NAMES:
                r = {"asset": asset, "h": h, "forecaster": k, "origins": len(y), "first": str(idx[0].date()),
                     "last": str(idx[-1].date()), "qlike": losses[k].mean(),
                     "ratio_log_har": losses[k].mean() / losses["log_har"].mean(),
                     "ratio_har_iv": losses[k].mean() / losses["har_iv"].mean(),
                     "ratio_implied_raw": losses[k].mean() / losses["implied_raw"].mean(), "mcs_p": mcs[k]}
                for ref in ("log_har", "har_iv", "implied_raw"):
                    same = np.array_equal(fc[k][pos, j], fc[ref][pos, j])
                    r[f"dm_p_vs_{ref}"] = np.nan if same else diebold_mariano(y, fc[k][pos, j], fc[ref][pos, j], h)["pvalue"]
                scores.append(r)
            for year, g in losses.groupby(losses.index.year):
                years.append({"asset": asset, "h": h, "year": year, "origins": len(g),
                              **{k: g[k].mean() / g["log_har"].mean() for k in NAMES}})
        # encompassing at 30 days: log RV = a + b1 log IVvar + b2 log model_var (Newey-West, 30 lags)
        j = F.HORIZONS.index(30)
        y = np.log(Y[:, j])
        for k in ("lstm_iv", "log_har", "har_iv", "lstm_bundled", "implied_level", "combo"):
            X = sm.add_constant(np.column_stack([np.log(fc["implied_raw"][pos, j]), np.log(fc[k][pos, j])]))
            fit = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 30})
            enc_rows.append({"asset": asset, "model": k, "a": fit.params[0], "b1_iv": fit.params[1],
                             "se_b1": fit.bse[1], "p_b1": fit.pvalues[1], "b2_model": fit.params[2],
                             "se_b2": fit.bse[2], "p_b2": fit.pvalues[2], "r2": fit.rsquared, "nobs": int(fit.nobs)})
    scores, enc, years = pd.DataFrame(scores), pd.DataFrame(enc_rows), pd.DataFrame(years)
    scores.to_csv(F.OUT / "race_scores.csv", index=False)
    enc.to_csv(F.OUT / "race_encompassing.csv", index=False)
    years.to_csv(F.OUT / "race_by_year.csv", index=False)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(scores.drop(columns=["first", "last"]).round(4).to_string(index=False))
        print(enc.round(4).to_string(index=False))
        print(years.round(3).to_string(index=False))
    goals(scores, enc)


def goals(scores: pd.DataFrame, enc: pd.DataFrame) -> None:
    s = scores.set_index(["asset", "h", "forecaster"])
    for asset in ("btc", "eth"):
        a = s.loc[asset]
        g1 = a.loc[(1, "lstm_iv")]
        g7 = a.loc[(7, "lstm_iv")]
        g30 = a.loc[(30, "lstm_iv")]
        e = enc[(enc.asset == asset) & (enc.model == "lstm_iv")].iloc[0]
        print(f"goal {asset} 1d: LSTM-IV {g1.ratio_log_har:.3f}x log-HAR (DM p {g1.dm_p_vs_log_har:.2g}; goal <= 0.92, "
              f"p < 0.01), {g1.ratio_har_iv:.3f}x HAR-IV (goal <= 0.97): "
              f"{'met' if g1.ratio_log_har <= 0.92 and g1.dm_p_vs_log_har < 0.01 and g1.ratio_har_iv <= 0.97 else 'not met'}")
        print(f"goal {asset} 7d: LSTM-IV {g7.ratio_log_har:.3f}x log-HAR (goal <= 0.90): "
              f"{'met' if g7.ratio_log_har <= 0.90 else 'not met'}")
        print(f"goal {asset} 30d: LSTM-IV {g30.ratio_implied_raw:.3f}x raw DVOL^2 (goal <= 0.95), encompassing b2 "
              f"{e.b2_model:.3f} (NW p {e.p_b2:.2g}): "
              f"{'met' if g30.ratio_implied_raw <= 0.95 and e.p_b2 < 0.05 else 'not met'}")


if __name__ == "__main__":
    main()
