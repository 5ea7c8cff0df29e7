"""The calibration race (issue #29): are the forecasts unbiased in level, year by year, and does a 30-day forecast
anchored on the market beat raw DVOL^2?

Used by ``python benchmarks/decision_race.py --part accuracy``: for BTC and ETH, forecasts at each UTC day's last bar
from 2023-01-01 to 2026-04-06 (DVOL's last day; every target complete) by the 0.3.0 forecasters (log-HAR, HAR-IV,
GARCH, EWMA, the bundled LSTM and LSTM-IV, raw and level-corrected implied), their calibrated variants
(``lstm_strategies.forecasters.calibrated``: the estimation window and the causal level correction frozen on the
selection period) and the market-anchored ``implied_anchor``, on the same origins. Nothing here is chosen
(docs/research/calibration/REPORT.md, "Frozen choices"). Writes to the output folder:

* ``calibration_bias.csv``: mean(RV)/mean(F) per asset, forecaster, horizon and calendar year, its Newey-West se
  (``h - 1`` lags), 95% interval and MDE at 80% power (``lstm_strategies.research.calibration.bias_table``), QLIKE
  and Mincer-Zarnowitz;
* ``calibration_accuracy.csv``: each calibrated variant's QLIKE ratio to its 0.3.0 version per horizon, and the 30-day
  ratio of the anchor (and references) to raw DVOL^2, with DM-HLN p-values, the ratios detectable at 80% power
  (``stats.power.dm_power``), the origins that would detect the observed ratio, and for the 30-day comparisons with
  DVOL^2 the encompassing regression (log RV on log DVOL^2 and log F, Newey-West 30 lags) with its MDE.

The calibrated LSTM-IV's correction reads the LSTM-IV's forecasts of the 210 days before 2023-01-01, inside its
training window (to 2022-12-31), as the research's did: it is computed apart (``predict_batch`` on the whole
history) and marked in the tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: 0.3.0 forecaster -> its calibrated variant
PAIRS = [("log_har_cal", "log_har"), ("har_iv_cal", "har_iv"), ("garch_cal", "garch"), ("lstm_cal", "lstm"),
         ("lstm_iv_cal", "lstm_iv")]
#: 30-day comparisons with raw DVOL^2 (the anchor is the goal's; the others are reported)
VS_IMPLIED = ["implied_anchor", "implied_level", "har_iv", "har_iv_cal", "log_har_cal", "lstm_iv_cal"]
GOAL_BIAS = ["log_har_cal", "har_iv_cal", "garch_cal", "lstm_cal", "lstm_iv_cal", "implied_anchor"]
REFERENCE_BIAS = ["log_har", "har_iv", "garch", "lstm", "lstm_iv", "ewma", "implied", "implied_level"]
IN_SAMPLE = {"lstm_iv_cal": "its correction reads LSTM-IV forecasts of 2022-06 .. 2022-12, in its training window"}


def forecasts(asset: str, start: str, end: str) -> dict[int, pd.DataFrame]:
    """Every forecaster's forecasts on the common origins, per horizon (``realized`` and one column each)."""
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.forecasters import make_forecaster
    from lstm_strategies.forecasters.calibrated import calibrated, calibrated_set
    from lstm_strategies.market.implied import load_implied_vol
    from lstm_strategies.research.evaluation import collect_forecasts, daily_targets

    df = load_dataset(f"{asset}_usdt_1h")
    implied = load_implied_vol(f"{asset}_dvol_daily")
    extra = {k: v for k, v in calibrated_set(asset).items() if k not in IN_SAMPLE}
    horizons, cal, frames, _ = collect_forecasts(df, f"{asset}-1h", start, end, implied=implied,
                                                 iv_model=f"{asset}-1h-iv", extra=extra, progress=True)
    name, params = calibrated("lstm_iv_cal", asset)
    f = make_forecaster(name, **params).set_inputs(implied_vol=implied)
    last = frames[horizons[0]].index[-1]
    bars = df[df.index <= last]
    bars.attrs = dict(df.attrs)
    var = f.fit(bars).predict_batch(bars)
    for j, h in enumerate(horizons):
        rv, pos = daily_targets(df, start, end, h, cal)
        series = pd.Series(var[pos, j], index=rv.index)
        frames[h].insert(len(frames[h].columns) - 1, "lstm_iv_cal", series.reindex(frames[h].index))
    return frames


def accuracy_rows(frames: dict[int, pd.DataFrame], asset: str) -> list[dict]:
    from lstm_strategies.research.evaluation import diebold_mariano, qlike
    from lstm_strategies.research.versus_implied import encompassing
    from lstm_strategies.stats.power import dm_power, mde_from_se

    rows = []
    pairs = [(a, b, h) for a, b in PAIRS for h in frames] + [(a, "implied", 30) for a in VS_IMPLIED]
    for a, b, h in pairs:
        fr = frames[h]
        y = fr["realized"]
        p = dm_power(np.asarray(qlike(y, fr[a])), np.asarray(qlike(y, fr[b])), horizon=h)
        row = {"asset": asset, "forecaster": a, "vs": b, "horizon": h, "origins": len(fr), "ratio": p["ratio"],
               "dm_pvalue": diebold_mariano(y, fr[a], fr[b], horizon=h)["pvalue"],
               "mde_ratio_low": p["mde_ratio_low"], "mde_ratio_high": p["mde_ratio_high"],
               "n_required": p["n_required"], "note": IN_SAMPLE.get(a, "")}
        if b == "implied":
            e = encompassing(y, fr[b], fr[a], 30)
            row.update(b_dvol=e["enc_b_implied"], b_model=e["enc_b_model"], p_model=e["enc_p_model"],
                       se_model=e["enc_se_model"], mde_b_model=mde_from_se(e["enc_se_model"]))
        rows.append(row)
    return rows


def run_calibration_race(assets: list[str], start: str, end: str, out: Path) -> None:
    from lstm_strategies.research.calibration import bias_table

    bias, acc = [], []
    for asset in assets:
        frames = forecasts(asset, start, end)
        bias.append(bias_table(frames).assign(asset=asset))
        acc += accuracy_rows(frames, asset)
        pd.concat({f"{name}_{h}d": fr[name] for h, fr in frames.items() for name in fr}, axis=1).to_csv(
            out / f"calibration_forecasts_{asset}.csv")
    pd.concat(bias).to_csv(out / "calibration_bias.csv", index=False)
    pd.DataFrame(acc).to_csv(out / "calibration_accuracy.csv", index=False)


def print_tables(out: Path) -> None:
    """The 30-day bias by year and the calibrated-against-0.3.0 accuracy, in markdown (README's)."""
    b = pd.read_csv(out / "calibration_bias.csv")
    years = sorted(b["year"].unique())
    for h in (7, 30):
        print(f"\n| {h}-day mean(RV)/mean(F) | " + " | ".join(f"{a.upper()} {y}" for a in b["asset"].unique()
                                                         for y in years) + " |")
        print("|---|" + "---|" * (len(years) * b["asset"].nunique()))
        for name in GOAL_BIAS + REFERENCE_BIAS:
            x = b[(b["forecaster"] == name) & (b["horizon"] == h)].set_index(["asset", "year"])["bias"]
            print(f"| {name} | " + " | ".join(f"{x.get((a, y), np.nan):.2f}" for a in b["asset"].unique()
                                              for y in years) + " |")
    cal = b[(b["forecaster"] == "log_har_cal") & b["year"].isin([2023, 2024, 2025])]
    se30 = b[(b["horizon"] == 30) & b["year"].isin([2023, 2024, 2025])]["se"].median()
    mde = cal[cal["horizon"] == 30]["mde"]
    print(f"\npower of the bias goal: a year's 30-day bias ratio has se {se30:.3f} (median over forecasters), MDE of a "
          f"deviation from 1 at 80% power {mde.min():.2f}-{mde.max():.2f} (log-HAR cal); 7 days "
          f"{cal[cal['horizon'] == 7]['mde'].median():.2f}: the 0.9-1.1 band is narrower than one year's 95% interval")
    a = pd.read_csv(out / "calibration_accuracy.csv")
    print("\n| calibrated vs 0.3.0, QLIKE ratio (DM p; detectable at 80%) | 1 day | 7 days | 30 days |")
    print("|---|---|---|---|")
    for (asset, name), g in a[a["vs"] != "implied"].groupby(["asset", "forecaster"], sort=False):
        g = g.set_index("horizon")
        print(f"| {asset.upper()} {name} | " + " | ".join(
            f"{g.loc[h, 'ratio']:.3f} ({g.loc[h, 'dm_pvalue']:.2g}; ±{1 - g.loc[h, 'mde_ratio_low']:.3f})"
            for h in (1, 7, 30)) + " |")


def goals(out: Path) -> dict:
    """Goal 1 (bias within 0.9-1.1 at 7 and 30 days in each of 2023-2025) and goal 2 (the anchor's 30-day QLIKE <=
    1.0x raw DVOL^2; stretch 0.95x with a significant encompassing coefficient), each with its power:
    ``{name: (met, figures)}``."""
    b = pd.read_csv(out / "calibration_bias.csv")
    a = pd.read_csv(out / "calibration_accuracy.csv")
    result = {}
    for name in GOAL_BIAS + REFERENCE_BIAS:
        parts, met = [], True
        for asset, g in b[(b["forecaster"] == name) & b["horizon"].isin([7, 30])
                          & b["year"].isin([2023, 2024, 2025])].groupby("asset", sort=False):
            g = g.sort_values(["horizon", "year"])
            met &= bool(g["in_band"].all())
            parts.append(f"{asset}: " + ", ".join(f"{r.year} {r.horizon}d {r.bias:.2f}±{1.96 * r.se:.2f}"
                                                  for r in g.itertuples()))
        tag = "bias" if name in GOAL_BIAS else "bias, reference (0.3.0)"
        note = f"; {IN_SAMPLE[name]}" if name in IN_SAMPLE else ""
        result[f"{tag} {name}"] = (met, "; ".join(parts) + note)
    for name in VS_IMPLIED:
        g = a[(a["forecaster"] == name) & (a["vs"] == "implied")]
        met = bool((g["ratio"] <= 1.0).all())
        stretch = bool(((g["ratio"] <= 0.95) & (g["p_model"] < 0.05)).all())
        tag = "anchored 30-day QLIKE" if name == "implied_anchor" else "30-day QLIKE vs raw DVOL^2, reference"
        result[f"{tag} {name}"] = (met, f"stretch {'met' if stretch else 'not met'}; " + "; ".join(
            f"{r.asset} {r.ratio:.3f}x (DM p {r.dm_pvalue:.2g}; detectable at 80%: <= {r.mde_ratio_low:.3f}x or >= "
            f"{r.mde_ratio_high:.3f}x; origins for this ratio {r.n_required:,.0f}), encompassing b_model "
            f"{r.b_model:.2f} (p {r.p_model:.2g}, MDE {r.mde_b_model:.2f}), b_dvol {r.b_dvol:.2f}"
            for r in g.itertuples()))
    return result
