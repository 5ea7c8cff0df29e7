"""The self-refitting LSTM: retrained on an expanding window of the bars it has seen, every N months.

At each fold boundary ``train_end_k`` (``first_train_end``, then every ``refit_every``) a model is
trained on the bars up to ``train_end_k`` with the protocol of ``train --walk-forward``
(:func:`~lstm_strategies.training.train_ensemble`), and it forecasts the bars in
``(train_end_k, train_end_{k+1}]``. No forecast is made by a model that saw its target.

Fold models are cached on disk (safetensors + JSON, as any checkpoint), keyed by the fingerprint
of the training rows, the train end, the training configuration and the library version, so a
second backtest or a second sweep task reuses them. Training is deterministic on CPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies._version import __version__
from lstm_strategies.bars import end_of_day
from lstm_strategies.errors import ConfigError
from lstm_strategies.exogenous import FallbackLog
from lstm_strategies.forecasters.base import BarHistory, Forecaster, check_number, frame_timeframe

CACHE_ENV = "LSTM_STRATEGIES_CACHE"


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
    """Cache key of one fold: what it trains on and how."""
    from lstm_strategies.bars import fingerprint

    config = {k: v for k, v in config.items() if k not in ("device", "threads")}  # do not change the model
    blob = json.dumps({"rows": fingerprint(train_rows), "train_end": str(train_end), "config": config,
                       "members": members, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def train_fold(df: pd.DataFrame, train_end: pd.Timestamp, config: dict, members: int,
               cache_dir: str | Path | None = None, progress: bool = False, implied: pd.Series | None = None):
    """Train (or load from the cache) the fold model for bars up to ``train_end``.

    With ``implied`` (an implied-vol series) the fold is an LSTM-IV
    (:func:`~lstm_strategies.training_iv.train_implied_lstm`, ``config`` its fields), keyed also by
    the series it reads up to ``train_end``.

    Returns
    -------
    (VolatilityLSTM, ModelCard, bool)
        The network, its card and whether it came from the cache.
    """
    from lstm_strategies.checkpoint import load_checkpoint, save_checkpoint
    from lstm_strategies.errors import CheckpointError
    from lstm_strategies.features import FEATURE_NAMES
    from lstm_strategies.implied_features import IMPLIED_FEATURE_NAMES

    seen = df[df.index <= train_end]
    key_config, features = config, FEATURE_NAMES
    if implied is not None:
        from lstm_strategies.training_iv import series_digest

        known = implied[implied.index <= train_end + pd.Timedelta(frame_timeframe(seen))]
        key_config, features = {**config, "implied_sha256": series_digest(known)}, IMPLIED_FEATURE_NAMES
    folder = None
    if cache_dir is not None:
        folder = Path(cache_dir) / "folds" / fold_key(seen, train_end, key_config, members)
        if (folder / "model.json").exists():
            try:
                network, card = load_checkpoint(folder, expected_features=features)
                return network, card, True
            except CheckpointError:
                pass  # an older format or a damaged cache entry: retrain and overwrite it
    if implied is not None:
        from lstm_strategies.training_iv import ImpliedTrainConfig, train_implied_lstm

        result = train_implied_lstm(seen, implied, str(train_end), ImpliedTrainConfig(**config), members=members)
    else:
        from lstm_strategies.training import TrainConfig, train_ensemble

        result = train_ensemble(seen, str(train_end), TrainConfig(**config), members=members, progress=progress)
    if folder is not None:
        save_checkpoint(result.model, result.card, folder)
    return result.model, result.card, False


class RefittingLSTMForecaster(Forecaster):
    """An LSTM retrained every ``refit_every`` months on the expanding window of bars it has seen.

    Parameters
    ----------
    refit_every : str or int
        Months between retrainings (``"6M"``).
    first_train_end : str, optional
        End of the first training window (e.g. ``"2021-12-31"``); by default ``min_train_days``
        after the first bar.
    min_train_days : int
        History before the first fold when ``first_train_end`` is not given.
    train : dict, optional
        :class:`~lstm_strategies.training.TrainConfig` fields (default: its defaults, the bundled
        models' settings).
    members : int
        Seeds merged into each fold's network.
    cache_dir : str, optional
        Where fold models are kept (default :func:`default_cache_dir`); ``"none"`` disables it.
    head : {"refit", "frozen"}
        The fold models' log-HAR heads: re-estimated every 30 days on the bars seen (as the frozen
        LSTM's default) or kept as each fold trained them.
    """

    name = "lstm_refit"
    kind = "model"
    refits = True

    def __init__(self, refit_every: str | int = "6M", first_train_end: str | None = None,
                 min_train_days: int = 730, train: dict | None = None, members: int = 3,
                 cache_dir: str | None = None, head: str = "refit", *, calendar: str = "crypto", horizons=None,
                 timeframe: str | None = None):
        from lstm_strategies.forecasters.lstm import HEADS

        if head not in HEADS:
            raise ConfigError(f"RefittingLSTMForecaster: head={head!r}; choose one of {list(HEADS)}")
        self.head = head
        self.refit_every = refit_every
        self._months = parse_months(refit_every)
        if first_train_end is not None:
            try:
                pd.Timestamp(first_train_end)
            except (ValueError, TypeError):
                raise ConfigError(f"first_train_end={first_train_end!r} is not a date") from None
        self.first_train_end = first_train_end
        self.min_train_days = check_number("RefittingLSTMForecaster", "min_train_days", min_train_days, 1,
                                           integer=True)
        self.members = check_number("RefittingLSTMForecaster", "members", members, 1, integer=True)
        self.train = dict(train or {})
        config_class = self._config_class()
        fields = {f.name for f in dataclasses.fields(config_class)}
        unknown = sorted(set(self.train) - fields)
        if unknown:
            raise ConfigError(f"{type(self).__name__}: train has unknown field(s) {unknown}; "
                              f"{config_class.__name__} fields: {sorted(fields)}")
        self.cache_dir = cache_dir
        self.fold_log: list[dict] = []
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    # -- configuration -------------------------------------------------------------------------
    def _config_class(self) -> type:
        """The training configuration of a fold (its fields are what ``train`` may set)."""
        from lstm_strategies.training import TrainConfig

        return TrainConfig

    def _train_config(self) -> dict:
        cfg = dataclasses.asdict(self._config_class()(calendar=self.calendar, horizons=list(self.horizons)))
        cfg.update(self.train)
        cfg["calendar"], cfg["horizons"] = self.calendar, list(self.horizons)
        return cfg

    def _cache(self) -> Path | None:
        if self.cache_dir == "none":
            return None
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    def _window(self) -> int:
        return int(self._train_config()["window"])

    @property
    def lookback(self) -> int:
        from lstm_strategies.features import feature_lookback

        return feature_lookback(self.bars_in_day, self.calendar) + self._window() - 1

    @property
    def warmup_bars(self) -> int:
        if self.head == "frozen":
            return self.lookback
        first_fit = int(self.cal.trading_days(180) * self.bars_in_day)  # the refit head's first fit
        return max(self.lookback, first_fit + 1)

    def _first_end(self, first_bar: pd.Timestamp) -> pd.Timestamp:
        if self.first_train_end is not None:
            return end_of_day(self.first_train_end)
        return (first_bar + pd.Timedelta(days=self.min_train_days)).normalize() - pd.Timedelta(1, "ns")

    def _ends(self, index: pd.DatetimeIndex) -> list[pd.Timestamp]:
        return fold_ends(index, self._first_end(index[0]), self._months)

    def _fold_implied(self) -> pd.Series | None:
        """The implied-vol series a fold trains on (None: the bars alone)."""
        return None

    def _fold_forecaster(self, network, card) -> Forecaster:
        """The forecaster of a trained fold network."""
        from lstm_strategies.forecasters.lstm import LSTMForecaster

        return LSTMForecaster.from_network(network, card, head=self.head).bind(self.timeframe)

    def _fold_model(self, df: pd.DataFrame, end: pd.Timestamp):
        network, card, cached = train_fold(df, end, self._train_config(), self.members, self._cache(),
                                           implied=self._fold_implied())
        self.fold_log.append({"train_end": str(end), "cached": cached, "val_qlike": card.metrics.get("val_qlike"),
                              **{k: card.metrics[k] for k in ("correction_kept",) if k in card.metrics}})
        return self._fold_forecaster(network, card)

    @property
    def input_fallbacks(self) -> dict[str, dict]:
        """Bars forecast without an input value, by reason, over every fold model so far."""
        log = FallbackLog()
        log.merge(self._fallbacks)
        if getattr(self, "_model", None) is not None:
            log.merge(self._model._fallbacks)
        return log.as_dict()

    # -- batched -------------------------------------------------------------------------------
    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        from tqdm.auto import tqdm

        out = np.full((len(df), len(self.horizons)), np.nan)
        ends = self._ends(df.index)
        ts = df.index.asi8
        for k, end in enumerate(tqdm(ends, desc="LSTM refits", unit="fold", disable=len(ends) < 2)):
            lo = int(np.searchsorted(ts, end.value, side="right"))              # first bar after the fold end
            hi = int(np.searchsorted(ts, ends[k + 1].value, side="right")) if k + 1 < len(ends) else len(df)
            if lo >= hi or hi <= first:
                continue
            model = self._fold_model(df, end)
            # the refit head re-estimates on every bar seen, so it reads the history from the start
            begin = max(0, lo - model.lookback) if self.head == "frozen" else 0
            out[lo:hi] = model.predict_batch(df.iloc[begin:hi], start=df.index[max(lo, first)])[lo - begin:]
            self._fallbacks.merge(model._fallbacks)
        return out

    # -- streaming -----------------------------------------------------------------------------
    def _reset(self) -> None:
        self._rows = BarHistory()
        self._model = None
        self._next_end: pd.Timestamp | None = None
        self._due_end: pd.Timestamp | None = None   # a fold passed while no forecast was read
        self._nan = np.full(len(self.horizons), np.nan)

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        rows = self._rows
        if self._next_end is None:
            self._next_end = self._first_end(pd.Timestamp(ts_ns, tz="UTC"))
        if ts_ns > self._next_end.value and len(rows):
            self._due_end = self._next_end
            self._next_end = next_fold_end(self._next_end, self._months)
        quiet = self.quiet_until is not None and ts_ns < self.quiet_until
        if self._due_end is not None and not quiet:
            # the fold of the last end passed; folds that ended while no forecast was read are never
            # trained (the batched path skips them too)
            if self._model is not None:
                self._fallbacks.merge(self._model._fallbacks)
            self._model = self._fold_model(rows.frame(self.timeframe), self._due_end)
            self._due_end = None
            self._model.reset()
            # the replayed bars only warm the model up: none of their forecasts is read
            self._model.publish_from(ts_ns)
            replay = rows.rows(self._model.lookback if self.head == "frozen" else None)
            for row in replay:                                 # warm the new model up on the bars seen
                self._model.step(*row)
        rows.append(ts_ns, open_, high, low, close, volume)
        if self._model is None:
            return self._nan
        self.initialized = True
        return self._model.step(ts_ns, open_, high, low, close, volume)
