"""Step 4 (selection only, data up to 2022-12-31): a 30-day forecast anchored on the market.

``F = IV^2 h / 365 x c_t``, with ``c_t`` a learned risk-premium ratio, causal (completed windows only):

* ``mr<L>_s<s>``: mean of RV/IV^2 over windows that ended in the last L days (``implied_level``'s form, L=365
  is 0.3.0's ``implied_level``), shrunk to 1 in logs by s;
* ``rom<L>_s<s>``: ratio of means sum RV / sum IV^2 (the bias ratio itself), same grid;
* ``h1rom<L>_s<s>``: the 1-day horizon's ratio of means (known a day after each forecast), applied to every
  horizon;
* ``reg_<win>``: an EW-weighted regression of the log ratio on the current variance premium,
  ``log(RV_h / IV^2_h) = a + b log(RV_month / IV^2_30) + e``, refit every 30 days on completed rows,
  ``c = exp(a + b x + s^2/2)`` (the premium depends on the state; reduces to a trailing log ratio at b=0);
* comparators: raw DVOL^2 (c=1), HAR-IV (0.3.0) and HAR-IV with the level design chosen in step 3.

Scored on daily origins 2021-06-01 .. 2022-12-01 (30-day targets end by 2022-12-31; every candidate has its
warm-up behind it: before 30 days of completed ratios the factor is 1). Rule fixed before looking: the lowest
mean over BTC and ETH of the 30-day QLIKE ratio to raw DVOL^2; within 0.01 of it, the simplest (trailing
ratio < regression; longer windows and stronger shrinkage first).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from common import (ASSETS, CACHE, DAY_NS, HORIZONS, OUT, daily_frame, level_factor, load_cache, qlike,
                    refit_points, row_weights, wls)

START, END, TARGET_END = "2021-06-01", "2022-12-01", "2022-12-31"


def raw_implied(c: dict) -> np.ndarray:
    return np.stack([c["iv"] ** 2 * h / 365.0 for h in HORIZONS], axis=1)


def premium_regression(c: dict, window: tuple, min_days: int = 60, every_days: int = 30) -> np.ndarray:
    """Factor ``c_t = exp(a + b x_t + s^2/2)`` per horizon, ``x_t = log(RV_month_t / (IV_t^2 30/365))``,
    WLS of ``log(Y / IV^2 h/365)`` on ``x`` over rows whose targets are known at the refit (every 30 days from
    the first bar with implied vol), with :func:`common.row_weights`. NaN before the first fit."""
    ts, Y, ends = c["ts"], c["Y"], c["ends"]
    raw = raw_implied(c)
    rv_month = np.exp(c["har_x"][:, 2]) * 30.0      # the HAR monthly regressor is the mean daily RV (log)
    x = np.log(rv_month / raw[:, 2])
    first = int(np.argmax(np.isfinite(c["iv"])))
    pts = [p + first for p in refit_points(ts[first:], min_days, every_days)]
    out = np.full(raw.shape, np.nan)
    for jp, k in enumerate(pts):
        stop = pts[jp + 1] if jp + 1 < len(pts) else len(ts)
        for j in range(len(HORIZONS)):
            known = ends[: k + 1, j] <= k
            y = np.log(Y[: k + 1, j] / raw[: k + 1, j])
            w = row_weights(ts, ends[:, j], k, window)
            ok = known & np.isfinite(y) & np.isfinite(x[: k + 1]) & (w > 1e-12)
            if ok.sum() < min_days * 24 // 2:
                continue
            b, s2 = wls(x[: k + 1][ok, None], y[ok], w[ok])
            out[k:stop, j] = np.exp(b[0] + b[1] * x[k:stop] + 0.5 * s2)
    return out


def candidates(c: dict, wins: dict) -> dict:
    raw = raw_implied(c)
    out = {"raw": raw}
    for L, s in itertools.product([90, 180, 365, 730], [0.5, 1.0]):
        for form, tag in [("mean_ratio", "mr"), ("ratio_of_means", "rom")]:
            out[f"{tag}{L}_s{s:g}"] = raw * level_factor(c["ts"], c["Y"], raw, c["ends"], L, s, form=form)
    for L, s in itertools.product([30, 90, 180], [0.5, 1.0]):
        out[f"h1rom{L}_s{s:g}"] = raw * level_factor(c["ts"], c["Y"], raw, c["ends"], L, s, source="h1")
    for name, win in [("reg_ew180", ("ew", 180)), ("reg_ew365", ("ew", 365)), ("reg_exp", ("expanding",))]:
        f = premium_regression(c, win)
        out[name] = raw * np.where(np.isfinite(f), f, 1.0)
    out["har_iv"] = c["har_iv"]
    F = wins["har_iv|roll365"]
    out["har_iv_cal"] = F * level_factor(c["ts"], c["Y"], F, c["ends"], 180, 0.5)
    return out


def score(c: dict, cands: dict) -> pd.DataFrame:
    rows = []
    ref = daily_frame(c, cands["raw"], START, END)
    keep = ref.index + pd.Timedelta(days=30) <= pd.Timestamp(TARGET_END)
    for name, F in cands.items():
        d = daily_frame(c, F, START, END)[keep]
        r = ref[keep]
        q = np.asarray(qlike(d["rv30"], d["f30"]))
        q0 = np.asarray(qlike(r["rv30"], r["f30"]))
        half = (d.index.year.astype(str) + np.where(d.index.month <= 6, "H1", "H2"))
        by = pd.Series(q, index=half).groupby(level=0).mean() / \
            pd.Series(q0, index=half).groupby(level=0).mean()
        rows.append({"cand": name, "n": len(d), "ql30_ratio": q.mean() / q0.mean(), "bias30": d["rv30"].mean() / d["f30"].mean(),
                     "ql7_ratio": qlike(d["rv7"], d["f7"]).mean() / qlike(r["rv7"], r["f7"]).mean(),
                     **{f"ql30_{k}": v for k, v in by.items()}})
    return pd.DataFrame(rows)


if __name__ == "__main__":
    pd.set_option("display.width", 220)
    tabs = []
    for asset in ASSETS:
        c = load_cache(asset)
        wins = dict(np.load(CACHE / f"windows_{asset}.npz"))
        t = score(c, candidates(c, wins))
        t.insert(0, "asset", asset)
        tabs.append(t)
    allt = pd.concat(tabs)
    allt.to_csv(OUT / "anchor_selection.csv", index=False)
    piv = allt.pivot_table(index="cand", columns="asset", values=["ql30_ratio", "bias30", "ql7_ratio"])
    piv["mean_ql30"] = piv["ql30_ratio"].mean(axis=1)
    piv = piv.sort_values("mean_ql30")
    piv.to_csv(OUT / "anchor_selection_summary.csv")
    print(piv.round(3).to_string())
    print(allt[[c_ for c_ in allt.columns if c_.startswith("ql30_") or c_ in ("asset", "cand")]]
          .set_index(["asset", "cand"]).round(3).loc[:, :].to_string())
