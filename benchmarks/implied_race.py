"""The race with implied volatility (issue #18): every forecaster, with and without DVOL, on one window.

Used by ``python benchmarks/decision_race.py --part accuracy``: for BTC and ETH, the forecasts made at
each UTC day's last bar from 2023-01-01 to 2026-04-06 (DVOL's last day; every target complete) by
EWMA, GARCH(1,1)-t, HAR, log-HAR, the bundled LSTM, the self-refitting LSTM and, reading Deribit's
DVOL, HAR-IV, raw and level-corrected implied variance, the bundled LSTM-IV and the self-refitting
LSTM-IV (first fold trained to 2022-12-31, then every 6 months), all on the same origins. Writes to
the output folder:

* ``implied_race.csv``: per asset, horizon and forecaster, QLIKE, ratios and DM-HLN p-values against
  log-HAR, HAR-IV, raw implied and the bundled LSTM, and the MCS p-value over all of them;
* ``implied_vs_forecasts.csv``: the forecast-against-implied table (QLIKE ratio to raw implied,
  Mincer-Zarnowitz, the encompassing regression with Newey-West);
* ``implied_race_by_year.csv`` (QLIKE ratio to log-HAR per calendar year), ``implied_forecasts_<asset>.csv``
  (every forecast and realized variance per origin) and ``implied_notes.json`` (fallbacks, MCS notes).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

LABELS = {"log_har": "log-HAR", "har_iv": "HAR-IV", "implied": "raw implied DVOL²",
          "implied_level": "level-corrected implied (W 365)", "lstm": "bundled LSTM (head refit)",
          "lstm_iv": "**LSTM-IV**", "lstm_refit": "self-refitting LSTM", "lstm_iv_refit": "self-refitting LSTM-IV",
          "ewma": "EWMA", "garch": "GARCH(1,1)-t", "har": "HAR"}
ORDER = ["log_har", "har_iv", "implied", "implied_level", "lstm", "lstm_iv", "lstm_refit", "lstm_iv_refit", "ewma",
         "garch", "har"]


def run_implied_race(assets: list[str], start: str, end: str, refit: dict, out: Path) -> None:
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.market.implied import load_implied_vol
    from lstm_strategies.research.evaluation import MCSSettings, evaluate_forecasters, qlike
    from lstm_strategies.research.versus_implied import compare_with_implied

    scores, versus, years, notes = [], [], [], {}
    for asset in assets:
        df = load_dataset(f"{asset}_usdt_1h")
        implied = load_implied_vol(f"{asset}_dvol_daily")
        ev = evaluate_forecasters(df, f"{asset}-1h", start, end, refit_every=refit["refit_every"],
                                  first_train_end=refit["first_train_end"], mcs=MCSSettings(), implied=implied,
                                  iv_model=f"{asset}-1h-iv")
        notes[asset] = {k: v for k, v in ev.notes.items() if not k.endswith("_convergence_warnings")}
        wide = pd.concat({f"{name}_{h}d": frame[name] for h, frame in ev.forecasts.items() for name in frame}, axis=1)
        wide.to_csv(out / f"implied_forecasts_{asset}.csv")
        for h, table in ev.overall.items():
            frame = ev.forecasts[h]
            for name, row in table.iterrows():
                scores.append({"asset": asset, "horizon": h, "forecaster": name, "origins": len(frame),
                               "first": str(frame.index[0].date()), "last": str(frame.index[-1].date()),
                               "qlike": row["qlike"],
                               **{f"{kind}_vs_{ref}": (1.0 if kind == "ratio" else np.nan) if name == ref else
                                  row.get(f"{kind}_vs_{ref}", np.nan)
                                  for ref in ("log_har", "har_iv", "implied") for kind in ("ratio", "dm_pvalue")},
                               "ratio_vs_lstm": 1.0 / row["lstm_qlike_ratio"] if name != "lstm" else 1.0,
                               "dm_pvalue_vs_lstm": row.get("dm_pvalue", np.nan), "mcs_pvalue": row["mcs_pvalue"]})
            losses = pd.DataFrame({n: qlike(frame["realized"], frame[n]) for n in table.index}, index=frame.index)
            for year, group in losses.groupby(losses.index.year):
                years.append({"asset": asset, "horizon": h, "year": year, "origins": len(group),
                              **(group.mean() / group["log_har"].mean()).to_dict()})
        versus.append(compare_with_implied(ev.forecasts, implied.attrs["source"]).table.assign(asset=asset))
    pd.DataFrame(scores).to_csv(out / "implied_race.csv", index=False)
    pd.concat(versus).to_csv(out / "implied_vs_forecasts.csv", index=False)
    pd.DataFrame(years).to_csv(out / "implied_race_by_year.csv", index=False)
    (out / "implied_notes.json").write_text(json.dumps(notes, indent=1, default=str))


def p_text(p: float) -> str:
    return "—" if p != p else (f"{p:.2g}" if p >= 1e-4 else "<1e-4")


def print_tables(out: Path) -> None:
    """The race's tables in markdown (README's), from the saved CSVs."""
    s = pd.read_csv(out / "implied_race.csv")
    for (asset, h), x in s.groupby(["asset", "horizon"], sort=False):
        x = x.set_index("forecaster").loc[[n for n in ORDER if n in set(x["forecaster"])]]
        print(f"\n**{asset.upper()}, {h} day(s)** ({x['origins'].iloc[0]} origins {x['first'].iloc[0]} → "
              f"{x['last'].iloc[0]})\n")
        print("| forecaster | QLIKE | ratio to log-HAR | DM p vs log-HAR | vs HAR-IV | vs raw implied "
              "| vs bundled LSTM | MCS p (in 5% set) |")
        print("|---|---|---|---|---|---|---|---|")
        for name, r in x.iterrows():
            mcs = f"{r.mcs_pvalue:.3f} ({'in' if r.mcs_pvalue >= 0.05 else 'out'})"
            print(f"| {LABELS[name]} | {r.qlike:.4f} | {r.ratio_vs_log_har:.3f} | {p_text(r.dm_pvalue_vs_log_har)} | "
                  f"{p_text(r.dm_pvalue_vs_har_iv)} | {p_text(r.dm_pvalue_vs_implied)} | {p_text(r.dm_pvalue_vs_lstm)} "
                  f"| {mcs} |")
    v = pd.read_csv(out / "implied_vs_forecasts.csv")
    v = v[(v["horizon"] == 30) & (v["forecaster"] != "implied")]
    print("\n| 30 days | QLIKE ratio to raw DVOL² (DM p) | MZ β | MZ R² | log RV = a + b1 log IVvar + b2 log model: "
          "b1 (NW se, p) | b2 (NW se, p) | R² |")
    print("|---|---|---|---|---|---|---|")
    for asset, x in v.groupby("asset", sort=False):
        x = x.set_index("forecaster").loc[[n for n in ORDER if n in set(x["forecaster"])]]
        for name, r in x.iterrows():
            print(f"| {asset.upper()} {LABELS[name]} | {r.ratio_vs_implied:.3f} ({p_text(r.dm_pvalue_vs_implied)}) | "
                  f"{r.mz_beta:.2f} | {r.mz_r2:.3f} | {r.enc_b_implied:.2f} ({r.enc_se_implied:.2f}, "
                  f"{p_text(r.enc_p_implied)}) | {r.enc_b_model:.2f} ({r.enc_se_model:.2f}, {p_text(r.enc_p_model)}) | "
                  f"{r.enc_r2:.3f} |")
    y = pd.read_csv(out / "implied_race_by_year.csv")
    yrs = sorted(y["year"].unique())
    print("\n| ratio to log-HAR by year | h | " + " | ".join(str(v) for v in yrs) + " |")
    print("|---|---|" + "---|" * len(yrs))
    for asset in y["asset"].unique():
        for name in ("lstm_iv", "lstm_iv_refit", "har_iv", "implied", "lstm"):
            for h in sorted(y["horizon"].unique()):
                z = y[(y["asset"] == asset) & (y["horizon"] == h)].set_index("year")[name]
                print(f"| {asset.upper()} {LABELS[name]} | {h} | " + " | ".join(f"{z[yr]:.3f}" for yr in yrs) + " |")


def goals(out: Path) -> dict:
    """The issue's goals for the LSTM-IVs, asset by asset: ``{name: (met, figures)}``."""
    s = pd.read_csv(out / "implied_race.csv").set_index(["asset", "horizon", "forecaster"])
    v = pd.read_csv(out / "implied_vs_forecasts.csv").set_index(["asset", "horizon", "forecaster"])
    result = {}
    for variant in ("lstm_iv", "lstm_iv_refit"):
        for asset in s.index.get_level_values(0).unique():
            if (asset, 1, variant) not in s.index:
                continue
            g1, g7, g30 = (s.loc[(asset, h, variant)] for h in (1, 7, 30))
            e = v.loc[(asset, 30, variant)]
            result[f"{variant} {asset} 1d"] = (
                g1.ratio_vs_log_har <= 0.92 and g1.dm_pvalue_vs_log_har < 0.01 and g1.ratio_vs_har_iv <= 0.97,
                f"{g1.ratio_vs_log_har:.3f}x log-HAR, DM p {g1.dm_pvalue_vs_log_har:.2g}; goal <= 0.92, p < 0.01; "
                f"{g1.ratio_vs_har_iv:.3f}x HAR-IV, goal <= 0.97")
            result[f"{variant} {asset} 7d"] = (g7.ratio_vs_log_har <= 0.90,
                                               f"{g7.ratio_vs_log_har:.3f}x log-HAR; goal <= 0.90")
            result[f"{variant} {asset} 30d"] = (
                g30.ratio_vs_implied <= 0.95 and e.enc_p_model < 0.05,
                f"{g30.ratio_vs_implied:.3f}x raw DVOL^2, goal <= 0.95; encompassing b_model {e.enc_b_model:.3f} "
                f"(NW p {e.enc_p_model:.2g}), goal p < 0.05")
    return result
