"""Step 8 (POST-HOC, written after the test run; not a result and not a choice): the short/flat/long
straddle rule's legs on the test period, to say why the frozen rule lost. Writes out/posthoc_legs.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bands import BandPolicy
from common import ASSETS, DECISION_TEST, OUT, daily_panel, load_cache
from designs import calibrated
from straddle_sim import hourly_grid, simulate

rows = []
days = pd.date_range(*DECISION_TEST)
for asset in ASSETS:
    c = load_cache(asset)
    F = calibrated(asset, "log_har")
    p = daily_panel(c, {"log_har_cal": F, "log_har": c["log_har"]})
    tr, _, _ = simulate(hourly_grid(c), days, BandPolicy("fixed", band=0.05))
    for fc in ["log_har_cal", "log_har"]:
        x = (p[f"F_{fc}"] / p["iv2"]).reindex(days).to_numpy()
        for leg, m, col in [("short x<=0.8", x <= 0.8, "net"), ("long x>=1.5", x >= 1.5, "net_long"),
                            ("short x<=1.1", x <= 1.1, "net"), ("flat zone 0.8<x<1.5 (short)", (x > 0.8) & (x < 1.5), "net")]:
            rows.append({"asset": asset, "fc": fc, "leg": leg, "n": int(m.sum()), "share": float(m.mean()),
                         "mean_net_pct": float(tr[col][m].mean() * 100), "always_short_pct": float(tr["net"].mean() * 100),
                         "median_x": float(np.nanmedian(x))})
t = pd.DataFrame(rows)
t.to_csv(OUT / "posthoc_legs.csv", index=False)
print(t.round(3).to_string(index=False))
