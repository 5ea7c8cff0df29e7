"""Walk-forward training: retrain on an expanding window every N months, forecast the next block.

Every forecast in the concatenated output was made by a model that never saw its target: fold k
trains on data up to ``train_end_k`` and forecasts ``(train_end_k, train_end_{k+1}]``. Folds are
independent tasks, run through :func:`lstm_strategies.executors.run_tasks` (local pool or Ray), and
use the same fold training and cache as the self-refitting LSTM forecaster
(:mod:`lstm_strategies.models.lstm_refit`), so a backtest reuses the folds trained here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.atomic import atomic_write, claim_folder
from lstm_strategies.models.lstm_refit import default_cache_dir, fold_ends, train_fold
from lstm_strategies.models.training import TrainConfig


def run_fold(data: str, train_end: str, forecast_end: str | None, config: dict, members: int,
             cache_dir: str | None = None) -> dict:
    """Train one fold (or reuse it from the fold cache) and return its out-of-sample forecasts."""
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.models.lstm import LSTMForecaster

    df = load_dataset(data)
    start = pd.Timestamp(train_end)
    network, card, _ = train_fold(df, start, config, members, cache_dir=cache_dir)
    var = LSTMForecaster.from_network(network, card).predict_batch(df)
    mask = df.index > start
    if forecast_end:
        mask &= df.index <= pd.Timestamp(forecast_end)
    return {"train_end": str(start), "index": df.index[mask].asi8, "var": var[mask],
            "horizons": list(card.horizons), "val_qlike": card.metrics["val_qlike"]}


def walk_forward(df_or_path, first_train_end: str, every_months: int = 6, config: TrainConfig | None = None,
                 out: str | Path = "backtests/output/walk_forward", executor: str = "local",
                 address: str | None = None, members: int = 3, workers: int | None = None,
                 cache_dir: str | Path | None = None) -> Path:
    """Run all folds and write ``forecasts.csv`` (timestamp, ``var_<h>d`` per horizon, fold) and a
    QLIKE summary per horizon. Fold models go to ``cache_dir`` (default: the fold cache shared with
    the self-refitting LSTM, :func:`~lstm_strategies.forecasters.lstm_refit.default_cache_dir`)."""
    from lstm_strategies.core.executors import run_tasks
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.forecasters.registry import make_forecaster
    from lstm_strategies.research.evaluation import daily_targets, diebold_mariano, qlike

    out = claim_folder(out, "walk-forward forecasts")  # refused before any fold trains
    path = str(df_or_path)
    df = load_dataset(path)
    ends = fold_ends(df.index, first_train_end, every_months)
    cfg = dataclasses.asdict(config or TrainConfig())
    cfg["horizons"] = TrainConfig(**cfg).resolved_horizons()  # the key the self-refitting LSTM uses too
    tasks = [{"data": path, "train_end": str(end), "forecast_end": str(ends[i + 1]) if i + 1 < len(ends) else None,
              "config": cfg, "members": members,
              "cache_dir": str(cache_dir or default_cache_dir())} for i, end in enumerate(ends)]
    frames = []
    for task, res in run_tasks(run_fold, tasks, executor, workers, address):
        cols = {f"var_{h}d": res["var"][:, j] for j, h in enumerate(res["horizons"])}
        frames.append(pd.DataFrame({**cols, "fold_train_end": res["train_end"]},
                                   index=pd.DatetimeIndex(res["index"], tz="UTC")))
        print(f"fold trained to {task['train_end'][:10]}: validation QLIKE {res['val_qlike']:.4f}")
    forecasts = pd.concat(frames).sort_index()
    atomic_write(out / "forecasts.csv", lambda tmp: forecasts.to_csv(tmp, index_label="timestamp"))
    horizons = [int(c[4:-1]) for c in forecasts.columns if c.startswith("var_")]
    har = make_forecaster("log_har", cfg["calendar"], horizons=horizons).fit(df).predict_batch(df)
    for j, h in enumerate(horizons):
        rv, pos = daily_targets(df, str(ends[0] + pd.Timedelta(1, "ns")), days=h, calendar=cfg["calendar"])
        f = forecasts[f"var_{h}d"].reindex(df.index[pos]).to_numpy()
        ok = np.isfinite(f) & np.isfinite(har[pos, j])
        y = rv.to_numpy()[ok]
        lstm_loss, har_loss = qlike(y, f[ok]).mean(), qlike(y, har[pos, j][ok]).mean()
        dm = diebold_mariano(y, f[ok], har[pos, j][ok], horizon=h)
        print(f"{h}-day horizon: walk-forward out-of-sample QLIKE {lstm_loss:.4f} over {ok.sum()} days, "
              f"{len(ends)} folds; log-HAR (refit every 30 days) {har_loss:.4f}; ratio {lstm_loss / har_loss:.3f}, "
              f"Diebold-Mariano (HLN) p {dm['pvalue']:.4f}")
    return out / "forecasts.csv"
