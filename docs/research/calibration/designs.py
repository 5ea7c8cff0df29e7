"""The designs chosen on the selection period (REPORT.md, "Frozen choices"), as functions of the cached inputs.

Each returns hourly ``(n, 3)`` variance forecasts (1, 7, 30 days; fractions, not annualised), causal.
"""

from __future__ import annotations

import numpy as np

from common import CACHE, level_factor, load_cache

# step 3: level-adaptive forecasters ("calibrated" variants; the accuracy defaults stay 0.3.0's)
LEVEL = {
    # family: (estimation window, level-correction kwargs for common.level_factor)
    "log_har": ("expanding", dict(window_days=180, shrink=1.0, form="ratio_of_means", source="h1")),
    "garch": ("expanding", dict(window_days=30, shrink=1.0, form="ratio_of_means", source="h1")),
    "har_iv": ("roll365", dict(window_days=180, shrink=0.5, form="ratio_of_means", source="own")),
    # the LSTMs' refit heads are log-HAR: same window; the correction applies to the LSTM's own forecast
    "lstm": ("expanding", dict(window_days=180, shrink=1.0, form="ratio_of_means", source="h1")),
    "lstm_iv": ("expanding", dict(window_days=180, shrink=1.0, form="ratio_of_means", source="h1")),
}
# step 4: the market-anchored forecast: IV^2 h/365 x (trailing 90-day ratio of means of the 1-day horizon)^0.5
ANCHOR = dict(window_days=90, shrink=0.5, form="ratio_of_means", source="h1")


def _cache(asset: str) -> tuple[dict, dict]:
    return load_cache(asset), dict(np.load(CACHE / f"windows_{asset}.npz"))


def raw_forecast(asset: str, family: str, c: dict | None = None, wins: dict | None = None) -> np.ndarray:
    """The family's forecast with the chosen estimation window, before the level correction."""
    if c is None:
        c, wins = _cache(asset)
    window = LEVEL[family][0]
    if family in ("log_har", "garch", "har_iv"):
        return wins[f"{family}|{window}"]
    # an LSTM = its log-HAR head (window as chosen) x the network's correction
    head = wins[f"log_har|{window}"]
    return head * c[f"net_{family}"]


def calibrated(asset: str, family: str, c: dict | None = None, wins: dict | None = None) -> np.ndarray:
    if c is None:
        c, wins = _cache(asset)
    F = raw_forecast(asset, family, c, wins)
    return F * level_factor(c["ts"], c["Y"], F, c["ends"], **LEVEL[family][1])


def anchored(asset: str, c: dict | None = None) -> np.ndarray:
    if c is None:
        c = load_cache(asset)
    raw = np.stack([c["iv"] ** 2 * h / 365.0 for h in (1, 7, 30)], axis=1)
    return raw * level_factor(c["ts"], c["Y"], raw, c["ends"], **ANCHOR)
