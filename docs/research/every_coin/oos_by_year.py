"""Table 5 (analysis after the run, no choice made on it): the out-of-sample QLIKE ratios to log-HAR
by calendar year, from the forecasts oos.py saved (results/oos_forecasts_*.csv.gz).

    python oos_by_year.py      # results/oos_by_year.md
"""
import pandas as pd

from common import RESULTS, load_coin
from lstm_strategies.evaluation import daily_targets, qlike

MODELS = ["bundled", "crypto-1h zero-shot (shrink head)", "crypto-1h x log-HAR refit head", "shrink head alone",
          "crypto-1h refitting"]

if __name__ == "__main__":
    rows = []
    for coin in ("btc", "eth", "sol"):
        df = load_coin(coin, cut="2026-06-30")
        fc = pd.read_csv(RESULTS / f"oos_forecasts_{coin}.csv.gz", index_col=0, parse_dates=True)
        fc.columns = [c.replace("bundled btc-1h", "bundled").replace("bundled eth-1h", "bundled") for c in fc.columns]
        for h in (1, 7, 30):
            rv, pos = daily_targets(df, "2022-01-01", "2026-06-30", h)
            sub = fc.reindex(rv.index)
            for year, idx in rv.groupby(rv.index.year).groups.items():
                y = rv.loc[idx]
                ref = qlike(y, sub.loc[idx, f"log_har|{h}"]).mean()
                for m in MODELS:
                    rows.append({"coin": coin, "horizon": h, "year": year, "model": m,
                                 "ratio": qlike(y, sub.loc[idx, f"{m}|{h}"]).mean() / ref})
    t = pd.DataFrame(rows).pivot_table(index=["coin", "horizon", "model"], columns="year", values="ratio")
    text = ("# Table 5: out-of-sample QLIKE ratio to log-HAR by year (analysis after the run)\n\n"
            + t.to_markdown(floatfmt=".3f") + "\n")
    (RESULTS / "oos_by_year.md").write_text(text)
    print(text)
