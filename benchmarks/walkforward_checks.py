"""Score walk-forward LSTM forecasts against log-HAR, with the leak checks README reports.

    lstm-strategies train --walk-forward --data btc_usdt_1h \\
        --train-end 2021-12-31 --every-months 6 --out wf_btc
    python benchmarks/walkforward_checks.py --forecasts wf_btc/forecasts.csv --data btc_usdt_1h

Prints QLIKE against log-HAR and GARCH, the Diebold-Mariano p-value, Mincer-Zarnowitz R², QLIKE
per year, how closely the forecasts track the target day against the day before it (a look-ahead
forecast would track the target day better), and log-HAR's QLIKE at its best constant scale in
hindsight (whether the gap is only a level effect).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.forecasters.garch import GARCHForecaster
from lstm_strategies.forecasters.har import LogHARForecaster
from lstm_strategies.research.evaluation import daily_targets, diebold_mariano, mincer_zarnowitz, qlike


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forecasts", required=True, help="forecasts.csv written by train --walk-forward")
    parser.add_argument("--data", required=True)
    parser.add_argument("--start", default="2022-01-01")
    args = parser.parse_args()
    df = load_dataset(args.data)
    wf = pd.read_csv(args.forecasts, index_col=0, parse_dates=True)
    rv, pos = daily_targets(df, args.start)
    when = df.index[pos]
    lstm = wf["var_1d"].reindex(when).to_numpy()
    log_har = LogHARForecaster().fit(df).predict_batch(df)[pos, 0]
    garch = GARCHForecaster().fit(df).predict_batch(df)[pos, 0]
    ok = np.isfinite(lstm) & np.isfinite(log_har) & np.isfinite(garch)
    y, lstm, log_har, garch, when = rv.to_numpy()[ok], lstm[ok], log_har[ok], garch[ok], when[ok]
    loss_l, loss_h, loss_g = qlike(y, lstm), qlike(y, log_har), qlike(y, garch)
    dm = diebold_mariano(y, lstm, log_har)
    print(f"{ok.sum()} days {when[0].date()} .. {when[-1].date()}")
    print(f"QLIKE walk-forward LSTM {loss_l.mean():.4f}, log-HAR {loss_h.mean():.4f} (ratio "
          f"{loss_l.mean() / loss_h.mean():.3f}, DM (HLN) p {dm['pvalue']:.2g}), GARCH {loss_g.mean():.4f} "
          f"(ratio {loss_l.mean() / loss_g.mean():.3f}); MZ R² {mincer_zarnowitz(y, lstm)['r2']:.3f}")
    for year in sorted(set(when.year)):
        m = when.year == year
        print(f"  {year}: LSTM {loss_l[m].mean():.3f}  log-HAR {loss_h[m].mean():.3f}")
    prev = np.concatenate([[np.nan], y[:-1]])
    both = np.isfinite(prev)
    c_next = np.corrcoef(np.log(lstm[both]), np.log(y[both]))[0, 1]
    c_prev = np.corrcoef(np.log(lstm[both]), np.log(prev[both]))[0, 1]
    print(f"correlation of log forecast with log RV of the target day {c_next:.2f}, of the day before {c_prev:.2f}")
    scales = np.linspace(0.8, 1.3, 51)
    best = min(scales, key=lambda c: qlike(y, log_har * c).mean())
    print(f"log-HAR at its best constant scale in hindsight ({best:.2f}x): QLIKE {qlike(y, log_har * best).mean():.4f}")


if __name__ == "__main__":
    main()
