"""The self-refitting LSTM: retrained on an expanding window of the bars it has seen, every N months.

At each fold boundary ``train_end_k`` (``first_train_end``, then every ``refit_every``) a model is
trained on the bars up to ``train_end_k`` and forecasts the bars in ``(train_end_k, train_end_{k+1}]``.
No forecast is made by a model that saw its target. A fold is either

* trained **from scratch** with the protocol of ``train --walk-forward``
  (:func:`~lstm_strategies.training.train_ensemble`): the default; or
* **fine-tuned** from a pretrained pooled model (``init="crypto-1h"``; :mod:`lstm_strategies.models.finetune`):
  it trains from about 143 days of history instead of 472, in seconds.

A fold that cannot be trained (a history too short for its split) is **never an error**: the fold
forecasts with a pretrained network instead (``init`` itself, or ``fallback`` for from-scratch folds),
and the fold log (``fold_log``, ``metrics.json``'s provenance) and a printed line say which and why.

Folds are looked up among the folds that ship with the package (BTC and ETH with the race's defaults)
and in the fold cache before anything is trained (:mod:`lstm_strategies.models.folds`); training is
deterministic at a fixed thread count, so a found fold is the one a run would train. With the refit or
shrinkage head, the head is the same for every fold (it is re-estimated on the bars seen, whatever the
network): the batched pass computes it once and each fold only its correction.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count
from lstm_strategies.core.errors import CheckpointError, ConfigError, ShortHistoryError
from lstm_strategies.forecasters.base import BarHistory, Forecaster
from lstm_strategies.forecasters.level import WindowDays
from lstm_strategies.market.exogenous import FallbackLog
from lstm_strategies.models.folds import (  # noqa: F401  (re-exported: the fold API's historical home)
    CACHE_ENV,
    FOLD_FORMAT,
    SHIPPED_FOLDS,
    default_cache_dir,
    fine_tuned_fold,
    fold_ends,
    fold_key,
    next_fold_end,
    parse_months,
    train_fold,
)


def load_model(name: str):
    """``(network, card)`` of a bundled model name or a checkpoint folder."""
    from lstm_strategies.features.realized import FEATURE_NAMES
    from lstm_strategies.models.checkpoint import load_checkpoint
    from lstm_strategies.models.lstm import resolve_model_path

    return load_checkpoint(resolve_model_path(name), expected_features=FEATURE_NAMES, expected_inputs=())


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
        From scratch: :class:`~lstm_strategies.training.TrainConfig` fields (default: its defaults, the
        bundled models' settings); with ``init``: :class:`~lstm_strategies.train_config.FineTuneConfig`
        fields (default: the design's).
    members : int
        Seeds merged into each from-scratch fold's network (a fine-tuned fold has the pretrained model's).
    cache_dir : str, optional
        Where fold models are kept (default :func:`default_cache_dir`); ``"none"`` disables it.
    head : {"refit", "frozen", "shrink"}, optional
        The log-HAR part: re-estimated every 30 days on the bars seen (``"refit"``, the default from
        scratch), kept as each fold trained it (``"frozen"``), or the shrinkage head of ``init``'s card
        (``"shrink"``, the default with ``init``; it needs ``init``).
    init : str, optional
        A pooled pretrained model (``"crypto-1h"`` or a folder) whose network each fold fine-tunes; None:
        every fold trains from scratch.
    fallback : str, optional
        The pretrained model a from-scratch fold forecasts with when its history is too short to train
        (default ``"crypto-1h"``; None: such a fold is an error).
    head_window, head_window_days
        The refit head's estimation window (log-HAR's ``window`` and ``window_days``; expanding by default).
    """

    name = "lstm_refit"
    kind = "model"
    refits = True

    def __init__(self, refit_every: str | int = "6M", first_train_end: str | None = None,
                 min_train_days: Count = 730, train: dict | None = None, members: Count = 3,
                 cache_dir: str | None = None, head: str | None = None, init: str | None = None,
                 fallback: str | None = "crypto-1h", head_window: str = "expanding",
                 head_window_days: WindowDays = None, *, calendar: str = "crypto", horizons=None,
                 timeframe: str | None = None):
        from lstm_strategies.forecasters.level import check_window
        from lstm_strategies.models.lstm import HEADS

        owner = type(self).__name__
        head = head or ("shrink" if init else "refit")
        check_window(owner, head_window, head_window_days)
        if head != "refit" and head_window != "expanding":
            raise ConfigError(f"{owner}: head_window applies to head='refit', not head={head!r}")
        self.head_window, self.head_window_days = head_window, head_window_days
        if head not in HEADS:
            raise ConfigError(f"{owner}: head={head!r}; choose one of {list(HEADS)}")
        if head == "shrink" and init is None:
            raise ConfigError(f"{owner}: head='shrink' uses the prior of the pretrained model the folds fine-tune: "
                              "give init (e.g. init='crypto-1h'), or use head='refit'")
        self.head, self.init, self.fallback = head, init, fallback
        self.refit_every = refit_every
        self._months = parse_months(refit_every)
        if first_train_end is not None:
            try:
                pd.Timestamp(first_train_end)
            except (ValueError, TypeError):
                raise ConfigError(f"first_train_end={first_train_end!r} is not a date") from None
        self.first_train_end = first_train_end
        self.min_train_days, self.members = min_train_days, members
        self._init_model = None
        if init is not None:
            horizons = self._load_init(init, calendar, horizons)
        self.train = dict(train or {})
        config_class = self._config_class()
        fields = {f.name for f in dataclasses.fields(config_class)}
        unknown = sorted(set(self.train) - fields)
        if unknown:
            raise ConfigError(f"{owner}: train has unknown field(s) {unknown}; "
                              f"{config_class.__name__} fields: {sorted(fields)}")
        self.cache_dir = cache_dir
        self.fold_log: list[dict] = []
        self._fallback_model = None
        super().__init__(calendar=calendar, horizons=horizons, timeframe=timeframe)

    @classmethod
    def scoring_params(cls, setup) -> dict | None:
        """``evaluate``'s refit arguments (``--refit-every`` and the ``--refit-*`` options), when asked for
        and every input the class reads is given."""
        return dict(setup.refit) if setup.refit is not None and setup.has_inputs(cls) else None

    def _load_init(self, init: str, calendar: str, horizons) -> list[int]:
        """Load the pretrained model the folds fine-tune; its horizons are the forecaster's."""
        from lstm_strategies.models.finetune import members_of
        from lstm_strategies.models.lstm import shrink_head_of

        if self._fold_implied_reader():
            raise ConfigError(f"{type(self).__name__}: init (fine-tuned folds) is for the plain LSTM; its folds "
                              "train from scratch")
        network, card = load_model(init)
        if card.calendar != calendar or (horizons is not None and list(horizons) != list(card.horizons)):
            raise ConfigError(f"init={init!r} forecasts horizons {card.horizons} on the {card.calendar} calendar; "
                              f"the forecaster asks for {horizons or 'the default horizons'} on {calendar}")
        members_of(network, card)                 # the card records each seed's bias (a pooled model)
        if self.head == "shrink":
            shrink_head_of(card, init)            # and a prior
        self._init_model = (network, card)
        return list(card.horizons)

    # -- configuration -------------------------------------------------------------------------
    def _config_class(self) -> type:
        """The training configuration of a fold (its fields are what ``train`` may set)."""
        if self.init is not None:
            from lstm_strategies.models.train_config import FineTuneConfig

            return FineTuneConfig
        from lstm_strategies.models.training import TrainConfig

        return TrainConfig

    def _fold_implied_reader(self) -> bool:
        """Whether folds read an implied-vol series (the LSTM-IV subclass)."""
        return bool(self.inputs)

    def _train_config(self) -> dict:
        if self.init is not None:
            return dataclasses.asdict(self._config_class()(**self.train))
        cfg = dataclasses.asdict(self._config_class()(calendar=self.calendar, horizons=list(self.horizons)))
        cfg.update(self.train)
        cfg["calendar"], cfg["horizons"] = self.calendar, list(self.horizons)
        return cfg

    def _cache(self):
        from pathlib import Path

        if self.cache_dir == "none":
            return None
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    def _window(self) -> int:
        if self._init_model is not None:
            return int(self._init_model[1].window)
        return int(self._train_config()["window"])

    @property
    def lookback(self) -> int:
        from lstm_strategies.features.realized import feature_lookback

        return feature_lookback(self.bars_in_day, self.calendar) + self._window() - 1

    @property
    def warmup_bars(self) -> int:
        if self.head == "frozen":
            return self.lookback
        return max(self.lookback, self._new_head().warmup_bars)

    def _first_end(self, first_bar: pd.Timestamp) -> pd.Timestamp:
        from lstm_strategies.data.bars import end_of_day

        if self.first_train_end is not None:
            return end_of_day(self.first_train_end)
        return (first_bar + pd.Timedelta(days=self.min_train_days)).normalize() - pd.Timedelta(1, "ns")

    def _ends(self, index: pd.DatetimeIndex) -> list[pd.Timestamp]:
        return fold_ends(index, self._first_end(index[0]), self._months)

    def _fold_implied(self) -> pd.Series | None:
        """The implied-vol series a fold trains on (None: the bars alone)."""
        return None

    # -- folds ---------------------------------------------------------------------------------
    def _new_head(self) -> Forecaster:
        """The log-HAR part shared by every fold (refit or shrink head), bound to the bar size."""
        from lstm_strategies.forecasters.har import LogHARForecaster
        from lstm_strategies.models.lstm import shrink_head_of

        if self.head == "shrink":
            return shrink_head_of(self._init_model[1], str(self.init)).bind(self.timeframe)
        return LogHARForecaster(window=self.head_window, window_days=self.head_window_days, calendar=self.calendar,
                                horizons=self.horizons, timeframe=self.timeframe)

    def _fold_network(self, df: pd.DataFrame, end: pd.Timestamp):
        """The network and card that forecast the fold after ``end``: trained, found, or a pretrained one
        in its place (logged, with the reason, and printed)."""
        entry: dict = {"train_end": str(end)}
        if self._init_model is not None:
            network, card, info, found = fine_tuned_fold(*self._init_model, df, end, self._train_config(),
                                                         str(self.init), self._cache())
            entry |= {"cached": found, **{k: v for k, v in info.items() if k not in ("fold_end", "seconds")}}
            if network is None:
                network, card = self._init_model
                entry["model"] = f"{self.init} (pretrained, zero-shot)"
            else:
                entry["model"] = f"fold fine-tuned from {self.init}"
        else:
            try:
                network, card, found = train_fold(df, end, self._train_config(), self.members, self._cache(),
                                                  implied=self._fold_implied())
                entry |= {"cached": found, "model": "fold trained from scratch",
                          "val_qlike": card.metrics.get("val_qlike"), "train_windows": card.metrics.get("train_rows"),
                          "val_windows": card.metrics.get("val_rows"),
                          **{k: card.metrics[k] for k in ("correction_kept",) if k in card.metrics}}
            except ShortHistoryError as exc:
                if self.fallback is None or self._fold_implied() is not None:
                    raise
                network, card = self._fallback()
                entry |= {"cached": False, "model": f"{self.fallback} (pretrained, zero-shot)",
                          "reason": str(exc)}
        if "reason" in entry:
            print(f"{self.name}: no fold trained to {end.date()} ({entry['reason']}); {entry['model']} forecasts "
                  "this fold")
        self.fold_log.append(entry)
        return network, card

    def _fallback(self):
        """The fallback model (loaded once); it must forecast the forecaster's horizons and calendar."""
        if self._fallback_model is None:
            try:
                network, card = load_model(str(self.fallback))
            except CheckpointError as exc:
                raise CheckpointError(f"{type(self).__name__}: fallback={self.fallback!r}: {exc}") from None
            if card.calendar != self.calendar or list(card.horizons) != list(self.horizons):
                raise ConfigError(f"{type(self).__name__}: fallback={self.fallback!r} forecasts horizons "
                                  f"{card.horizons} on the {card.calendar} calendar, the forecaster {self.horizons} "
                                  f"on {self.calendar}: give a fallback model of the same horizons, or None")
            self._fallback_model = (network, card)
        return self._fallback_model

    def _fold_forecaster(self, network, card) -> Forecaster:
        """The forecaster of a fold network (with the forecaster's head)."""
        from lstm_strategies.models.lstm import LSTMForecaster

        if self.head == "shrink":  # the pretrained model's prior (a from-scratch fallback card has none)
            card = dataclasses.replace(card, head_prior=self._init_model[1].head_prior)
        return LSTMForecaster.from_network(network, card, head=self.head, **self._head_window()).bind(self.timeframe)

    def _head_window(self) -> dict:
        """The refit head's estimation window, for a fold's forecaster (none for the other heads)."""
        if self.head != "refit":
            return {}
        return {"head_window": self.head_window, "head_window_days": self.head_window_days}

    def _fold_model(self, df: pd.DataFrame, end: pd.Timestamp) -> Forecaster:
        return self._fold_forecaster(*self._fold_network(df, end))

    @property
    def input_fallbacks(self) -> dict[str, dict]:
        """Bars forecast without an input value, by reason, over every fold model so far."""
        log = FallbackLog()
        log.merge(self._fallbacks)
        if getattr(self, "_model", None) is not None:
            log.merge(self._model._fallbacks)
        return log.as_dict()

    # -- batched -------------------------------------------------------------------------------
    def _spans(self, df: pd.DataFrame, first: int) -> list[tuple[pd.Timestamp, int, int]]:
        """``(fold end, first bar after it, end of its block)`` of every fold with a forecast to make."""
        ends, ts, spans = self._ends(df.index), df.index.asi8, []
        for k, end in enumerate(ends):
            lo = int(np.searchsorted(ts, end.value, side="right"))              # first bar after the fold end
            hi = int(np.searchsorted(ts, ends[k + 1].value, side="right")) if k + 1 < len(ends) else len(df)
            if lo < hi and hi > first:
                spans.append((end, lo, hi))
        return spans

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        from tqdm.auto import tqdm

        out = np.full((len(df), len(self.horizons)), np.nan)
        spans = self._spans(df, first)
        progress = tqdm(spans, desc="LSTM refits", unit="fold", disable=len(spans) < 2)
        if self.head != "frozen" and not self._fold_implied_reader():
            return self._predict_shared_head(df, first, spans, progress, out)
        for end, lo, hi in progress:
            model = self._fold_model(df, end)
            # the refit head re-estimates on every bar seen, so it reads the history from the start
            begin = max(0, lo - model.lookback) if self.head == "frozen" else 0
            out[lo:hi] = model.predict_batch(df.iloc[begin:hi], start=df.index[max(lo, first)])[lo - begin:]
            self._fallbacks.merge(model._fallbacks)
        return out

    def _predict_shared_head(self, df, first, spans, progress, out) -> np.ndarray:
        """One head for every fold (computed once), each fold's correction over its block only: the numbers
        of a fold forecaster run per fold, bit for bit (features and refits are causal)."""
        from lstm_strategies.features.realized import feature_matrix
        from lstm_strategies.forecasters.har import HAR_COLUMNS
        from lstm_strategies.models.streaming import RollingWindowLSTM

        if not spans:
            return out
        feats = feature_matrix(df, self.calendar, self.timeframe)
        head = self._new_head().predict_from_regressors(df, feats[:, HAR_COLUMNS], max(spans[0][1], first))
        for end, lo, hi in progress:
            network, card = self._fold_network(df, end)
            window = int(card.window)  # the fold's own: a pretrained fallback may read a longer window than `train`
            start = max(lo, first)
            lead = max(start - window + 1, 0)
            correction = np.exp(RollingWindowLSTM(network, window, with_head=False).run(feats[lead:hi]))
            out[start:hi] = correction[start - lead:] * head[start:hi]
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
