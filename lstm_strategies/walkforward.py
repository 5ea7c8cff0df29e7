"""Walk-forward training: retrain on an expanding window every N months, forecast the next block.

Every forecast in the concatenated output was made by a model that never saw its target: fold k
trains on data up to ``train_end_k`` and forecasts ``(train_end_k, train_end_{k+1}]``. Folds are
independent tasks, run through :func:`lstm_strategies.executors.run_tasks` (local pool or Ray).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.atomic import atomic_write
from lstm_strategies.training import TrainConfig


def fold_ends(index: pd.DatetimeIndex, first_train_end: str, every_months: int) -> list[pd.Timestamp]:
    """Training ends: ``first_train_end``, then every ``every_months`` until the data ends."""
    end = pd.Timestamp(first_train_end, tz="UTC") + pd.Timedelta("1D") - pd.Timedelta(1, "ns")
    ends = []
    while end < index[-1]:
        ends.append(end)
        end = (end + pd.Timedelta(1, "ns") + pd.DateOffset(months=every_months)) - pd.Timedelta(1, "ns")
    return ends


def run_fold(data: str, train_end: str, forecast_end: str | None, config: dict, members: int,
             out: str | None = None) -> dict:
    """Train one fold and return its out-of-sample forecasts (a picklable task)."""
    from lstm_strategies.checkpoint import save_checkpoint
    from lstm_strategies.datasets import load_dataset
    from lstm_strategies.forecasters.lstm import LSTMForecaster
    from lstm_strategies.training import train_ensemble

    df = load_dataset(data)
    result = train_ensemble(df, train_end, TrainConfig(**config), members=members, progress=False)
    if out:
        save_checkpoint(result.model, result.card, Path(out) / f"fold_{pd.Timestamp(train_end).date()}")
    forecaster = LSTMForecaster(result.model, result.card)
    var = forecaster.predict_batch(df)
    start = pd.Timestamp(train_end)
    mask = df.index > start
    if forecast_end:
        mask &= df.index <= pd.Timestamp(forecast_end)
    return {"train_end": str(start), "index": df.index[mask].asi8, "var": var[mask],
            "val_qlike": result.card.metrics["val_qlike"]}


def walk_forward(df_or_path, first_train_end: str, every_months: int = 6, config: TrainConfig | None = None,
                 out: str | Path = "backtests/output/walk_forward", executor: str = "local",
                 address: str | None = None, members: int = 3, workers: int | None = None) -> Path:
    """Run all folds and write ``forecasts.csv`` (timestamp, var, fold) and a QLIKE summary."""
    from lstm_strategies.datasets import load_dataset
    from lstm_strategies.evaluation import daily_targets, diebold_mariano, qlike
    from lstm_strategies.executors import run_tasks
    from lstm_strategies.forecasters.har import HARForecaster

    path = str(df_or_path)
    df = load_dataset(path)
    ends = fold_ends(df.index, first_train_end, every_months)
    cfg = dataclasses.asdict(config or TrainConfig())
    tasks = [{"data": path, "train_end": str(end), "forecast_end": str(ends[i + 1]) if i + 1 < len(ends) else None,
              "config": cfg, "members": members, "out": str(out)} for i, end in enumerate(ends)]
    frames = []
    for task, res in run_tasks(run_fold, tasks, executor, workers, address):
        frames.append(pd.DataFrame({"var": res["var"], "fold_train_end": res["train_end"]},
                                   index=pd.DatetimeIndex(res["index"], tz="UTC")))
        print(f"fold trained to {task['train_end'][:10]}: validation QLIKE {res['val_qlike']:.4f}")
    forecasts = pd.concat(frames).sort_index()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "forecasts.csv", lambda tmp: forecasts.to_csv(tmp, index_label="timestamp"))
    rv, pos = daily_targets(df, str(ends[0] + pd.Timedelta(1, "ns")))
    f = forecasts["var"].reindex(df.index[pos]).to_numpy()
    har = HARForecaster(log=True).fit(df).predict_batch(df)[pos]
    ok = np.isfinite(f) & np.isfinite(har)
    y = rv.to_numpy()[ok]
    lstm_loss, har_loss = qlike(y, f[ok]), qlike(y, har[ok])
    dm = diebold_mariano(lstm_loss, har_loss)
    print(f"walk-forward out-of-sample QLIKE at day ends: {lstm_loss.mean():.4f} over {ok.sum()} days, "
          f"{len(ends)} folds; log-HAR (refit every 30 days) {har_loss.mean():.4f}; ratio "
          f"{lstm_loss.mean() / har_loss.mean():.3f}, Diebold-Mariano p {dm['pvalue']:.4f}")
    return out / "forecasts.csv"
