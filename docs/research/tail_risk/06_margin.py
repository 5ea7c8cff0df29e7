"""ES-based collateral for the variance books, beside the fixed 1.5x implied shock.

Books (ladder of 30-day swaps, as 0.3.0's variance race): always-sell and premium (log-HAR,
normaliser frozen in 0.3.0: BTC 4.98836, ETH 5.20745, cap 2, max multiple 3) on BTC and ETH.
Periods: selection = days 2021-07-01 .. 2022-12-31 (scenario pools need DVOL history: DVOL from
2021-03-24; min 100 scenarios), test = days 2023-01-01 .. 2026-04-06.
Candidates: ES 97.5% over 1 day, ES 97.5% over 7 days, ES 99% over 1 day; scenario window 500 days.
Compared at equal mean margin with the shock margin (kappa = mean shock / mean ES over the period),
and with kappa frozen from the selection period.

    python 06_margin.py selection | test
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("LSTM_STRATEGIES_DATA", "/work/shared/data")
import numpy as np
import pandas as pd

import common as C
import margin as MG

SCALES = {"btc": 4.98836, "eth": 5.20745}
PERIODS = {"selection": ("2021-07-01", "2022-12-31"), "test": ("2023-01-01", "2026-04-06")}
CANDS = {"es1d_975": (1, 0.975), "es7d_975": (7, 0.975), "es1d_99": (1, 0.99)}


def panel(asset: str, names: list[str], last_day: str) -> pd.DataFrame:
    from lstm_strategies.implied import load_implied_vol

    t, fcs = C.load(asset, names)
    day = t.index.floor("D").tz_localize(None)
    p = pd.DataFrame(index=day)
    iv = load_implied_vol(f"{asset}_dvol_daily")
    iv.index = (iv.index - pd.Timedelta("1D")).tz_localize(None)        # known at the close of that day
    p["dvol"] = iv.reindex(day).to_numpy() * 100
    p["iv2"] = p["dvol"] ** 2
    rv1 = t["rv_1d"].to_numpy()                                           # RV of day d+1, at origin d
    p["rvd"] = np.concatenate([[np.nan], rv1[:-1]]) * MG.ANN              # day d's own RV
    p["close"] = t["close"].to_numpy()
    for h in (1, 7):
        p[f"rv_{h}"] = t[f"rv_{h}d"].to_numpy()
        p[f"dlogiv_{h}"] = np.log(p["dvol"].shift(-h) / p["dvol"])
    for n, f in fcs.items():
        for h in (1, 7, 30):
            p[f"F{h}_{n}"] = f[f"var_{h}d"].to_numpy()
    p = p[p.index <= pd.Timestamp(last_day)]
    # nothing after last_day: outcomes ending later are unknown
    for h in (1, 7):
        late = p.index > pd.Timestamp(last_day) - pd.Timedelta(days=h)
        p.loc[late, [f"rv_{h}", f"dlogiv_{h}"]] = np.nan
    return p


def run(period: str) -> None:
    start, end = PERIODS[period]
    from lstm_strategies.variance import signal_weight

    margin_fc = ["har_iv"] if period == "selection" else ["log_har", "har_iv", "lstm_iv"]
    frozen = json.load(open(C.OUT / "margin_frozen.json")) if period == "test" else None
    rows = []
    for asset in ("btc", "eth"):
        p = panel(asset, ["log_har", "har_iv", "lstm_iv"], end)
        days = (p.index >= pd.Timestamp(start) - pd.Timedelta(days=29)) & (p.index <= pd.Timestamp(end))
        p = p[p.index >= pd.Timestamp("2021-03-24")]
        iv2 = p["iv2"].to_numpy()
        books = {"always": np.where(np.isfinite(iv2), 1.0, np.nan),
                 "premium_log_har": signal_weight("premium", iv2, p["F30_log_har"].to_numpy() * MG.ANN,
                                                  cap=2.0, scale=SCALES[asset], max_multiple=3.0)}
        # swaps are opened on days up to end - 30 only (they must settle inside the period)
        open_ok = (p.index >= pd.Timestamp(start) - pd.Timedelta(days=30)) & \
                  (p.index <= pd.Timestamp(end) - pd.Timedelta(days=30))
        eval_days = (p.index >= pd.Timestamp(start)) & (p.index <= pd.Timestamp(end))
        for book, w in books.items():
            w = np.where(open_ok, np.nan_to_num(w), 0.0)
            e1 = MG.ladder_exposures(w, 1)
            loss = MG.held_loss(e1, p["rvd"].to_numpy(), iv2)
            shock = MG.shock_margin(e1, iv2)
            ev = eval_days & (np.concatenate([[0.0], np.abs(e1["C"].to_numpy()[:-1])]) > 0)
            base = MG.exceedances(np.where(ev, loss, np.nan), np.where(np.roll(ev, -1) | ev, shock, np.nan))
            rows.append({"asset": asset, "book": book, "margin": "shock_1.5x", "forecaster": "-", **base,
                         "kappa": 1.0, "max_day_loss": float(np.nanmax(np.where(ev, loss, np.nan)))})
            for fc in margin_fc:
                for cand, (h, lvl) in CANDS.items():
                    eh = MG.ladder_exposures(w, h)
                    rho = p[f"rv_{h}"].to_numpy() / p[f"F{h}_{fc}"].to_numpy()
                    es = MG.es_margin(eh, iv2, p[f"F{h}_{fc}"].to_numpy(), rho, p[f"dlogiv_{h}"].to_numpy(), h, lvl)
                    m_ev = np.where(np.roll(ev, -1) | ev, es, np.nan)
                    sh_ev = np.where(np.roll(ev, -1) | ev, shock, np.nan)
                    both = np.isfinite(m_ev) & np.isfinite(sh_ev)
                    kappa = np.nanmean(sh_ev[both]) / np.nanmean(m_ev[both])
                    r_eq = MG.exceedances(np.where(ev, loss, np.nan), kappa * m_ev)
                    rows.append({"asset": asset, "book": book, "margin": cand + "@equal_mean", "forecaster": fc,
                                 **r_eq, "kappa": kappa})
                    r_raw = MG.exceedances(np.where(ev, loss, np.nan), m_ev)
                    rows.append({"asset": asset, "book": book, "margin": cand + "@raw", "forecaster": fc,
                                 **r_raw, "kappa": 1.0})
                    if frozen is not None and cand == frozen["candidate"]:
                        kf = frozen["kappa"][f"{asset}|{book}"]
                        r_f = MG.exceedances(np.where(ev, loss, np.nan), kf * m_ev)
                        rows.append({"asset": asset, "book": book, "margin": cand + "@frozen_kappa",
                                     "forecaster": fc, **r_f, "kappa": kf})
    df = pd.DataFrame(rows)
    df.to_csv(C.OUT / f"margin_{period}.csv", index=False)
    pd.set_option("display.width", 250)
    print(df.round(3).to_string())


if __name__ == "__main__":
    run(sys.argv[1])
