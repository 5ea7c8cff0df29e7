"""Markdown tables of the race for REPORT.md, from out/race_*.csv (python report_tables.py)."""
import pandas as pd

import ivfeatures as F

LABEL = {"log_har": "log-HAR", "har_iv": "HAR-IV", "implied_raw": "raw implied DVOL²", "implied_level":
         "level-corrected implied (W 365)", "lstm_bundled": "bundled LSTM (head refit)", "lstm_iv": "**LSTM-IV**",
         "combo": "HAR-IV + bundled LSTM (extra)"}


def p(x):
    return "—" if pd.isna(x) else (f"{x:.2g}" if x >= 1e-4 else "<1e-4")


def main():
    s = pd.read_csv(F.OUT / "race_scores.csv")
    for asset in ("btc", "eth"):
        for h in F.HORIZONS:
            x = s[(s.asset == asset) & (s.h == h)]
            print(f"\n**{asset.upper()}, {h} day(s)** ({x.origins.iloc[0]} origins {x['first'].iloc[0]} → {x['last'].iloc[0]})\n")
            print("| forecaster | QLIKE | ratio to log-HAR | DM p vs log-HAR | vs HAR-IV | vs raw implied | MCS p (in 5% set) |")
            print("|---|---|---|---|---|---|---|")
            for _, r in x.iterrows():
                mcs = f"{r.mcs_p:.3f} ({'in' if r.mcs_p >= 0.05 else 'out'})"
                print(f"| {LABEL[r.forecaster]} | {r.qlike:.4f} | {r.ratio_log_har:.3f} | {p(r.dm_p_vs_log_har)} | "
                      f"{p(r.dm_p_vs_har_iv)} | {p(r.dm_p_vs_implied_raw)} | {mcs} |")
    e = pd.read_csv(F.OUT / "race_encompassing.csv")
    print("\n| 30 days: log RV = a + b1 log IVvar + b2 log model | a | b1 (NW se, p) | b2 (NW se, p) | R² |")
    print("|---|---|---|---|---|")
    for _, r in e.iterrows():
        print(f"| {r.asset.upper()} {LABEL[r.model]} | {r.a:.2f} | {r.b1_iv:.2f} ({r.se_b1:.2f}, {p(r.p_b1)}) | "
              f"{r.b2_model:.2f} ({r.se_b2:.2f}, {p(r.p_b2)}) | {r.r2:.3f} |")
    y = pd.read_csv(F.OUT / "race_by_year.csv")
    print("\n| ratio to log-HAR by year | h | 2023 | 2024 | 2025 | 2026 (to Apr 6) |")
    print("|---|---|---|---|---|---|")
    for asset in ("btc", "eth"):
        for k in ("lstm_iv", "har_iv", "implied_raw", "lstm_bundled"):
            for h in F.HORIZONS:
                z = y[(y.asset == asset) & (y.h == h)].set_index("year")[k]
                print(f"| {asset.upper()} {LABEL[k]} | {h} | " + " | ".join(f"{z[yr]:.3f}" for yr in (2023, 2024, 2025, 2026)) + " |")


if __name__ == "__main__":
    main()
