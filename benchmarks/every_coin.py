"""A model for every coin (issue #20): accuracy per horizon on BTC, ETH and SOL, and the issue's goal lines.

Forecasts at each UTC day's last bar, 2022-01-01 -> 2026-06-30, scored against the realized variance of
the next 1, 7 and 30 days: QLIKE ratio to log-HAR refit monthly on the coin's own expanding history
(BTC/ETH from 2019-01-01, SOL from its listing, 2020-08-11), DM-HLN p-values (two-sided), on the days
every forecaster has a forecast. Nothing here is chosen: the models and the design were fixed on BTC/ETH
data up to 2021-12-31 (docs/research/every_coin/REPORT.md); SOL is in no training and no choice.

* ``bundled LSTM``: btc-1h / eth-1h (SOL: btc-1h), refit head;
* ``crypto-1h, shrink head`` (the pooled BTC+ETH model, its shrinkage head; on SOL: zero-shot);
* ``crypto-1h, refit head`` (the pooled correction on the library's log-HAR head);
* ``self-refitting, fine-tuned``: ``lstm_refit(init="crypto-1h")``, 6-month folds from 2021-12-31 fine-tuned
  on the coin's own bars;
* ``self-refitting, from scratch``: ``lstm_refit`` as README's race runs it (6-month folds from
  2021-12-31; BTC/ETH from the shipped folds, SOL trains its own, cached afterwards);
* ``shrinkage head alone``.

SOL's bars are read from $LSTM_STRATEGIES_DATA (default ../shared/data), as the decision race reads them.
``--scratch-threads 8`` adds the from-scratch folds trained with 8 torch threads (trained, not shipped).

    python benchmarks/every_coin.py [--assets btc eth sol] [--scratch-threads 8]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.models.lstm import LSTMForecaster
from lstm_strategies.research.evaluation import daily_targets, diebold_mariano, qlike

START, END, DATA_START = "2022-01-01", "2026-06-30", "2019-01-01"
HORIZONS = [1, 7, 30]
REFIT = {"refit_every": "6M", "first_train_end": "2021-12-31"}
OUT = Path(__file__).resolve().parent / "output" / "every_coin"
DEFAULT_1D, FINE, SCRATCH = "crypto-1h, shrink head", "self-refitting, fine-tuned", "self-refitting, from scratch"
BUNDLED = "bundled LSTM (eth-1h on ETH, else btc-1h)"


def bars(asset: str) -> pd.DataFrame:
    df = load_dataset(f"{asset}_usdt_1h")
    keep = (df.index >= pd.Timestamp(DATA_START, tz="UTC")) & (df.index < pd.Timestamp(END, tz="UTC")
                                                               + pd.Timedelta("1D"))
    out = df[keep]
    out.attrs = dict(df.attrs)
    return out


def forecasts(asset: str, df: pd.DataFrame, scratch_threads: int | None = None
              ) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Every model's variance forecasts on ``df`` (each fitted and run as a user would), and the fold logs."""
    bundled = "eth-1h" if asset == "eth" else "btc-1h"
    shrink = LSTMForecaster("crypto-1h", head="shrink").fit(df)
    out = {"log-HAR": make_forecaster("log_har", "crypto").fit(df).predict_batch(df),
           BUNDLED: LSTMForecaster(bundled).fit(df).predict_batch(df),
           DEFAULT_1D: shrink.predict_batch(df),
           "crypto-1h, refit head": LSTMForecaster("crypto-1h").fit(df).predict_batch(df),
           "shrinkage head alone": shrink.head_forecaster.predict_batch(df)}
    folds = []
    runs = [(FINE, {**REFIT, "init": "crypto-1h"}), (SCRATCH, REFIT)]
    if scratch_threads:  # the same folds trained at another thread count (other weights: README)
        runs.append((f"{SCRATCH}, {scratch_threads} threads", {**REFIT, "train": {"threads": scratch_threads}}))
    for label, params in runs:
        started = time.perf_counter()
        model = make_forecaster("lstm_refit", "crypto", **params).fit(df)
        out[label] = model.predict_batch(df, start=START)
        seconds = time.perf_counter() - started
        folds += [e | {"asset": asset, "model": label} for e in model.fold_log]
        found = sum(bool(e.get("cached")) for e in model.fold_log)
        print(f"{asset} {label}: {len(model.fold_log)} folds ({found} found shipped or cached), {seconds:.0f} s")
    return out, folds


def score(df: pd.DataFrame, fc: dict[str, np.ndarray], asset: str) -> pd.DataFrame:
    rows = []
    for j, h in enumerate(HORIZONS):
        rv, pos = daily_targets(df, START, END, h)
        table = pd.DataFrame({name: f[pos, j] for name, f in fc.items()}, index=rv.index)
        ok = (np.isfinite(table) & (table > 0)).all(axis=1).to_numpy()
        y, ref = rv.to_numpy()[ok], table["log-HAR"].to_numpy()[ok]
        ref_loss = float(qlike(y, ref).mean())
        for name in table:
            f = table[name].to_numpy()[ok]
            loss = float(qlike(y, f).mean())
            p = np.nan if name == "log-HAR" or np.array_equal(f, ref) else diebold_mariano(y, f, ref, h)["pvalue"]
            rows.append({"asset": asset, "model": name, "horizon": h, "qlike": loss, "ratio": loss / ref_loss,
                         "dm_p": p, "days": int(ok.sum())})
    return pd.DataFrame(rows)


def p_text(p: float) -> str:
    return "" if p != p else f"{p:.2g}"


def cell(row) -> str:
    return f"{row.ratio:.3f}" + (f" ({p_text(row.dm_p)})" if row.dm_p == row.dm_p else "")


def goals(table: pd.DataFrame, assets: list[str]) -> list[str]:
    t = table.set_index(["asset", "model", "horizon"])
    lines = []

    def check(name: str, cells: list[tuple[str, str, int]], bound: float, need_p: bool = False) -> None:
        misses = []
        for asset, model, h in cells:
            r, p = t.loc[(asset, model, h), "ratio"], t.loc[(asset, model, h), "dm_p"]
            if r > bound or (need_p and not p < 0.05):
                misses.append(f"{asset} {h}d {model} {r:.3f}" + (f" (p {p_text(p)})" if need_p else ""))
        lines.append(f"goal {name}: " + ("met" if not misses else f"not met ({'; '.join(misses)})"))

    check("1d <= 0.95x log-HAR, DM p < 0.05 (crypto-1h; SOL zero-shot)",
          [(a, DEFAULT_1D, 1) for a in assets], 0.95, need_p=True)
    for label, model in (("crypto-1h", DEFAULT_1D), ("self-refitting from scratch", SCRATCH)):
        check(f"7d and 30d <= 1.0x on every asset ({label})", [(a, model, h) for a in assets for h in (7, 30)], 1.0)
    coins = [a for a in assets if a in ("btc", "eth")]
    for model in (SCRATCH, FINE):
        check(f"7d and 30d <= 0.95x on BTC/ETH ({model})", [(a, model, h) for a in coins for h in (7, 30)], 0.95)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth", "sol"])
    parser.add_argument("--scratch-threads", type=int, default=None,
                        help="also score the from-scratch folds trained with this many torch threads")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    tables, folds = [], []
    for asset in args.assets:
        df = bars(asset)
        fc, log = forecasts(asset, df, args.scratch_threads)
        tables.append(score(df, fc, asset))
        folds += log
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(OUT / "accuracy.csv", index=False)
    pd.DataFrame(folds).to_csv(OUT / "folds.csv", index=False)
    wide = table.assign(cell=table.apply(cell, axis=1)).pivot_table(
        index=["asset", "model"], columns="horizon", values="cell", aggfunc="first", sort=False)
    days = table.groupby(["asset", "horizon"])["days"].max().unstack()
    print(f"\nQLIKE ratio to log-HAR refit monthly (DM-HLN p), {START} .. {END}, daily origins per asset and horizon:")
    print(days.to_string())
    print()
    print(wide.to_markdown())
    print()
    print("\n".join(goals(table, args.assets)))


if __name__ == "__main__":
    main()
