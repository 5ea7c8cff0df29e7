"""The folds of the self-refitting LSTM: their schedule, their key, and training (or finding) one.

A fold ends at ``train_end_k`` (``first_train_end``, then every ``refit_every`` months) and its model is
trained on the bars up to that end only. Two kinds:

* **from scratch** (:func:`train_fold`): the library's protocol (:func:`~lstm_strategies.training.train_ensemble`,
  or the LSTM-IV's with an implied series);
* **fine-tuned** from a pretrained pooled model (:func:`fine_tuned_fold`; :mod:`lstm_strategies.models.finetune`).

Folds are found, before anything is trained, among the folds that ship with the package
(:data:`SHIPPED_FOLDS`: BTC and ETH with ``lstm_refit``'s race defaults) and in the fold cache
(:func:`default_cache_dir`), under a key of what the fold trains on and how and of :data:`FOLD_FORMAT`
(not the library version). Training is deterministic at a fixed thread count (one by default), so a fold
trained again gives the same weights as the one found.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.data.bars import end_of_day

CACHE_ENV = "LSTM_STRATEGIES_CACHE"
#: the format of fold training: change it whenever a change to the library changes what a fold trains to
#: (every cached and shipped fold's key changes then, and they are trained again)
FOLD_FORMAT = 1
#: fold checkpoints that ship with the package (benchmarks/ship_folds.py), one folder per key
SHIPPED_FOLDS = Path(__file__).resolve().parent / "pretrained" / "folds"


def default_cache_dir() -> Path:
    """``$LSTM_STRATEGIES_CACHE``, else ``~/.cache/lstm-strategies``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "lstm-strategies")


def parse_months(every: str | int) -> int:
    """``"6M"`` / ``"6m"`` / ``6`` -> 6 months."""
    text = str(every).strip().upper().removesuffix("M")
    if not text.isdigit() or int(text) <= 0:
        raise ConfigError(f"refit_every={every!r}: give a whole number of months such as '6M'")
    return int(text)


def next_fold_end(end: pd.Timestamp, every_months: int) -> pd.Timestamp:
    """The fold end ``every_months`` after ``end``."""
    return (end + pd.Timedelta(1, "ns") + pd.DateOffset(months=every_months)) - pd.Timedelta(1, "ns")


def fold_ends(index: pd.DatetimeIndex, first_train_end, every_months: int) -> list[pd.Timestamp]:
    """Training ends: ``first_train_end`` (end of that day), then every ``every_months``, before the last bar."""
    end = end_of_day(first_train_end)
    ends = []
    while end < index[-1]:
        ends.append(end)
        end = next_fold_end(end, every_months)
    return ends


def fold_key(train_rows: pd.DataFrame, train_end: pd.Timestamp, config: dict, members: int) -> str:
    """Key of one fold (in the cache and among the shipped folds): what it trains on and how, and the fold
    format; not the library version, so shipped and cached folds outlive releases that do not change
    training. The thread count is part of the configuration: it changes the trained weights."""
    from lstm_strategies.data.bars import fingerprint

    config = {k: v for k, v in config.items() if k != "device"}
    blob = json.dumps({"rows": fingerprint(train_rows), "train_end": str(train_end), "config": config,
                       "members": members, "format": FOLD_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def find_fold(key: str, cache_dir: str | Path | None, features: list[str]):
    """The fold of ``key`` among the shipped folds, then in the cache: ``(network, card, where)`` or None."""
    from lstm_strategies.core.errors import CheckpointError
    from lstm_strategies.models.checkpoint import load_checkpoint

    if (SHIPPED_FOLDS / key / "model.json").exists():
        return (*load_checkpoint(SHIPPED_FOLDS / key, expected_features=features), "shipped")
    if cache_dir is not None and (Path(cache_dir) / "folds" / key / "model.json").exists():
        try:
            return (*load_checkpoint(Path(cache_dir) / "folds" / key, expected_features=features), "cache")
        except CheckpointError:
            return None  # an older format or a damaged cache entry: trained again and overwritten
    return None


def train_fold(df: pd.DataFrame, train_end: pd.Timestamp, config: dict, members: int,
               cache_dir: str | Path | None = None, progress: bool = False, implied: pd.Series | None = None):
    """Train (or find, shipped or cached) the from-scratch fold model for bars up to ``train_end``.

    With ``implied`` (an implied-vol series) the fold is an LSTM-IV
    (:func:`~lstm_strategies.training_iv.train_implied_lstm`, ``config`` its fields), keyed also by
    the series it reads up to ``train_end``. A history too short for the split raises
    :class:`~lstm_strategies.errors.ShortHistoryError`.

    Returns
    -------
    (VolatilityLSTM, ModelCard, bool)
        The network, its card and whether it was found (shipped or cached) rather than trained.
    """
    from lstm_strategies.data.bars import frame_timeframe
    from lstm_strategies.features.implied import IMPLIED_FEATURE_NAMES
    from lstm_strategies.features.realized import FEATURE_NAMES
    from lstm_strategies.models.checkpoint import save_checkpoint

    seen = df[df.index <= train_end]
    key_config, features = config, FEATURE_NAMES
    if implied is not None:
        from lstm_strategies.models.training_iv import series_digest

        known = implied[implied.index <= train_end + pd.Timedelta(frame_timeframe(seen))]
        key_config, features = {**config, "implied_sha256": series_digest(known)}, IMPLIED_FEATURE_NAMES
    key = fold_key(seen, train_end, key_config, members)
    found = find_fold(key, cache_dir, features)
    if found is not None:
        return found[0], found[1], True
    if implied is not None:
        from lstm_strategies.models.training_iv import ImpliedTrainConfig, train_implied_lstm

        result = train_implied_lstm(seen, implied, str(train_end), ImpliedTrainConfig(**config), members=members)
    else:
        from lstm_strategies.models.training import TrainConfig, train_ensemble

        result = train_ensemble(seen, str(train_end), TrainConfig(**config), members=members, progress=progress)
    if cache_dir is not None:
        save_checkpoint(result.model, result.card, Path(cache_dir) / "folds" / key)
    return result.model, result.card, False


def fine_tuned_fold(network, card, df: pd.DataFrame, train_end: pd.Timestamp, config: dict, init: str,
                    cache_dir: str | Path | None = None):
    """Fine-tune (or find in the cache) the fold of the pretrained ``network`` for bars up to ``train_end``.

    Returns
    -------
    (VolatilityLSTM or None, ModelCard or None, dict, bool)
        The fold network and card (None when the history is too short: ``info["reason"]`` says why and the
        caller forecasts with the pretrained network), what it trained on, and whether it was found.
    """
    from lstm_strategies.features.realized import FEATURE_NAMES
    from lstm_strategies.models.checkpoint import save_checkpoint
    from lstm_strategies.models.finetune import fine_tune_fold
    from lstm_strategies.models.train_config import FineTuneConfig

    seen = df[df.index <= train_end]
    key = fold_key(seen, train_end, {"fine_tune": config, "init_weights": card.weights_sha256}, 0)
    found = find_fold(key, cache_dir, FEATURE_NAMES)
    if found is not None:
        m = found[1].metrics
        info = {"history_days": m["history_days"], "val_days": m["val_days"], "train_windows": m["train_rows"],
                "val_windows": m["val_rows"], "trained": True, "member_best_epoch": m["member_best_epoch"]}
        return found[0], found[1], info, True
    fields = {f.name for f in dataclasses.fields(FineTuneConfig)}
    result = fine_tune_fold(network, card, seen, train_end, FineTuneConfig(**{k: v for k, v in config.items()
                                                                             if k in fields}), init)
    if result.network is not None and cache_dir is not None:
        save_checkpoint(result.network, result.card, Path(cache_dir) / "folds" / key)
    return result.network, result.card, result.info, False
