"""Calibration of the forecasts: mean(realized) / mean(forecast) per calendar year and horizon (issue #29).

For a forecast to be compared with a variance strike (the variance strategies) it must be unbiased in
**level**, not only accurate in QLIKE. :func:`bias_table` gives, per forecaster, horizon and calendar year of
the origins, the bias ratio ``r = mean(RV) / mean(F)`` (1: unbiased), its Newey-West standard error
(:func:`lstm_strategies.stats.power.newey_west_variance` of ``(RV - r F) / mean(F)`` with at least ``h - 1``
lags: ``h``-day targets of daily origins overlap), its 95% interval, the minimum deviation from 1 the year
could detect at 80% power (:mod:`lstm_strategies.stats.power`), and beside them the year's mean QLIKE and
Mincer-Zarnowitz regression. ``lstm-strategies evaluate`` writes it as ``bias_by_year.csv`` and prints it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lstm_strategies.research.evaluation import mincer_zarnowitz, qlike
from lstm_strategies.stats.power import mde_from_se, newey_west_lags, newey_west_variance

#: the band the issue's goal asks of a calibrated forecaster, per year at 7 and 30 days
BAND = (0.9, 1.1)


def bias_ratio(rv: np.ndarray, f: np.ndarray, horizon: int) -> dict:
    """``mean(rv) / mean(f)``, its Newey-West standard error and the MDE of a deviation from 1 (80% power)."""
    rv, f = np.asarray(rv, dtype="float64"), np.asarray(f, dtype="float64")
    r = float(rv.mean() / f.mean())
    n = len(rv)
    se = math.nan
    if n > 2:
        z = (rv - r * f) / f.mean()
        se = math.sqrt(newey_west_variance(z, newey_west_lags(n, horizon)) / n)
    return {"days": n, "bias": r, "se": se, "lo": r - 1.96 * se, "hi": r + 1.96 * se, "mde": mde_from_se(se)}


def bias_table(frames: dict[int, pd.DataFrame], min_days: int = 30) -> pd.DataFrame:
    """One row per forecaster, horizon and calendar year of the origins (at least ``min_days`` of them):
    ``bias`` = mean(realized) / mean(forecast), ``se``, ``lo``/``hi`` (95%), ``mde``, ``in_band`` (within
    0.9-1.1), ``qlike``, ``mz_alpha``, ``mz_beta``, ``mz_r2``. ``frames``: :func:`collect_forecasts`' output
    (per horizon, ``realized`` and one column per forecaster). Fractions, not percent."""
    rows = []
    for h, frame in frames.items():
        rv = frame["realized"]
        for name in frame.columns.drop("realized"):
            for year, idx in rv.groupby(rv.index.year).groups.items():
                if len(idx) < min_days:
                    continue
                y, f = rv.loc[idx].to_numpy(), frame.loc[idx, name].to_numpy()
                b = bias_ratio(y, f, h)
                mz = mincer_zarnowitz(y, f)
                rows.append({"forecaster": name, "horizon": h, "year": int(year), **b,
                             "in_band": BAND[0] <= b["bias"] <= BAND[1], "qlike": float(qlike(y, f).mean()),
                             "mz_alpha": mz["alpha"], "mz_beta": mz["beta"], "mz_r2": mz["r2"]})
    return pd.DataFrame(rows)


def bias_pivot(table: pd.DataFrame) -> pd.DataFrame:
    """The printed form: per horizon and forecaster, each year's ``bias (+-1.96 se)``."""
    if not len(table):
        return pd.DataFrame()
    text = table.assign(cell=[f"{r.bias:.2f} ±{1.96 * r.se:.2f}" for r in table.itertuples()])
    order = list(dict.fromkeys(table["forecaster"]))
    out = text.pivot_table(index=["horizon", "forecaster"], columns="year", values="cell", aggfunc="first")
    return out.reindex(sorted(out.index, key=lambda k: (k[0], order.index(k[1]))))
