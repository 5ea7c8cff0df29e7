"""Inference with a trained :class:`~lstm_strategies.model.VolatilityLSTM`: batched and streaming.

Both paths run :class:`~lstm_strategies.forecasters.streaming.RollingWindowLSTM`: one recurrent
step per bar in float32, torch for the batched pass and numpy for the streaming step; they agree
to float32 rounding (tested to 2e-6 in log variance).
"""

from __future__ import annotations

import copy
import os
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count, OneOf
from lstm_strategies.core.errors import CheckpointError, LeakageError
from lstm_strategies.features.realized import (
    FEATURE_NAMES,
    HAR_FEATURES,
    StreamingFeatures,
    feature_lookback,
    feature_matrix,
)
from lstm_strategies.forecasters.base import Forecaster
from lstm_strategies.forecasters.level import LevelMinDays, LevelMode, LevelShrink, LevelWindowDays, WindowDays

if TYPE_CHECKING:  # torch is imported when a network is loaded, not when this module is
    from lstm_strategies.models.checkpoint import ModelCard
    from lstm_strategies.models.network import VolatilityLSTM

NS_PER_MINUTE = 60_000_000_000
HAR_COLUMNS = [FEATURE_NAMES.index(c) for c in HAR_FEATURES]


def is_path_spec(name_or_path: str | Path) -> bool:
    """Whether a model spec names a folder: a ``Path``, or text with a separator or starting with
    ``.`` or ``~`` (``"./btc-1h"``, ``"models/btc-1h"``); any other text is a bundled name."""
    if isinstance(name_or_path, Path):
        return True
    text = str(name_or_path)
    return "/" in text or os.sep in text or text.startswith((".", "~"))


def resolve_model_path(name_or_path: str | Path) -> Path:
    """Folder of a checkpoint, resolved one way: a path (see :func:`is_path_spec`) is that folder; a
    bare name is the bundled model of that name, never a folder of the same name in the working
    directory (``"./btc-1h"`` says that one)."""
    from lstm_strategies.core.readers import path_kind
    from lstm_strategies.models.checkpoint import pretrained_names, pretrained_path

    if is_path_spec(name_or_path):
        path = Path(name_or_path).expanduser()
        kind = path_kind(path, "model folder", CheckpointError)
        if kind != "folder":
            what = "is a file" if kind == "file" else "does not exist"
            raise CheckpointError(f"model folder {path} {what}; give a checkpoint folder (model.json + "
                                  f"model.safetensors) or a bundled name: {pretrained_names()}")
        return path
    try:
        return pretrained_path(str(name_or_path))
    except CheckpointError as exc:
        if Path(str(name_or_path)).is_dir():
            raise CheckpointError(f"{exc}. A folder {name_or_path!r} exists here: to use it, write model = "
                                  f"\"./{name_or_path}\" (a bare name only ever means a bundled model)") from None
        raise


def load_pretrained(name_or_path: str | Path) -> LSTMForecaster:
    """A ready :class:`LSTMForecaster` from a bundled name (``"btc-1h"``) or a checkpoint folder."""
    return LSTMForecaster(name_or_path)


HEADS = ("refit", "frozen", "shrink")
Head = Annotated[str, OneOf(*HEADS)]


def shrink_head_of(card: ModelCard, path: str = "") -> Forecaster:
    """The shrinkage head built from a card's ``head_prior`` (a CheckpointError when the card has none)."""
    from lstm_strategies.forecasters.shrink import HeadPrior, ShrinkageHead

    if card.head_prior is None:
        raise CheckpointError(f"{path or '<in-memory model>'}: head='shrink' needs a shrinkage prior in the model "
                              "card (head_prior), and this model has none; use the bundled crypto-1h (trained with "
                              "one: lstm-strategies train --data btc_usdt_1h,eth_usdt_1h ...) or head='refit'")
    return ShrinkageHead(HeadPrior.from_card(card.head_prior), calendar=card.calendar, horizons=card.horizons,
                         timeframe=card.timeframe)


class LSTMForecaster(Forecaster):
    """Term-structure forecasts from a trained LSTM checkpoint: log-HAR heads plus an LSTM correction.

    The calendar, horizons, bar size and window come from the checkpoint's card. The LSTM
    correction is frozen at the model's training end. The log-HAR heads either stay as trained
    (``head="frozen"``) or are re-estimated like the log-HAR baseline, every ``refit_every_days``
    on the expanding window of bars seen so far (``head="refit"``, the default: a head fitted on
    2019-2021 keeps pulling forecasts back to that period's volatility level), or are the shrinkage head
    (``head="shrink"``: the refit blended with the prior stored in the card, by how many days of own rows
    there are; it forecasts from a coin's 31st day, see :mod:`~lstm_strategies.forecasters.shrink`).
    Either way no forecast uses a bar after it. Batched (:meth:`predict_batch`) and streaming (:meth:`update`)
    inference give the same numbers.

    Parameters
    ----------
    model : str or path
        A bundled model name (``"btc-1h"``; see ``lstm-strategies models``) or a checkpoint folder.
    head : {"refit", "frozen", "shrink"}
        Where the log-HAR part of the forecast comes from (``"shrink"`` needs a card with a ``head_prior``,
        as the bundled ``crypto-1h``'s).
    min_train_days, refit_every_days : int
        The refit head's schedule (the log-HAR baseline's defaults; the shrinkage head's is in the card).
    head_window, head_window_days
        The refit head's estimation window (log-HAR's ``window`` and ``window_days``; expanding by default).
    level_correction, level_window_days, level_shrink, level_min_days
        The causal level correction of the LSTM's own forecast (head times network; off by default;
        :mod:`~lstm_strategies.forecasters.level`). Its uncorrected forecasts are read from
        ``level_window_days`` + 30 days before the first published one, which must be out of sample too.
    """

    name = "lstm"
    kind = "model"
    #: the feature columns the network reads, in order (its card must list the same)
    features: ClassVar[list[str]] = FEATURE_NAMES

    def __init__(self, model: str | Path = "btc-1h", head: Head = "refit", min_train_days: Count = 180,
                 refit_every_days: Count = 30, head_window: str = "expanding", head_window_days: WindowDays = None,
                 level_correction: LevelMode = "off", level_window_days: LevelWindowDays = 180,
                 level_shrink: LevelShrink = 1.0, level_min_days: LevelMinDays = 30):
        from lstm_strategies.models.checkpoint import load_checkpoint

        path = resolve_model_path(model)
        network, card = load_checkpoint(path, expected_features=self.features, expected_inputs=self.inputs)
        self.model = str(model)
        self._init_network(network, card, str(path), head, min_train_days, refit_every_days,
                           dict(head_window=head_window, head_window_days=head_window_days,
                                level_correction=level_correction, level_window_days=level_window_days,
                                level_shrink=level_shrink, level_min_days=level_min_days))

    @classmethod
    def scoring_params(cls, setup) -> dict | None:
        """``evaluate``'s checkpoint (``--model``)."""
        return {"model": setup.model}

    @classmethod
    def from_network(cls, network: VolatilityLSTM, card: ModelCard, path: str = "", head: str = "refit",
                     min_train_days: int = 180, refit_every_days: int = 30, **window_and_level) -> LSTMForecaster:
        """A forecaster around an in-memory network and its card (e.g. straight after training)."""
        self = cls.__new__(cls)
        self.model = path or "<in-memory>"
        self._init_network(network, card, path, head, min_train_days, refit_every_days, window_and_level)
        return self

    def _init_network(self, network: VolatilityLSTM, card: ModelCard, path: str, head: str,
                      min_train_days: int, refit_every_days: int, window_and_level: dict | None = None) -> None:
        from lstm_strategies.core.errors import ConfigError
        from lstm_strategies.forecasters.har import LogHARForecaster
        from lstm_strategies.forecasters.level import set_level

        if head not in HEADS:
            raise ConfigError(f"LSTMForecaster: head={head!r}; choose one of {list(HEADS)}")
        opts = dict(window_and_level or {})
        self.head_window = opts.pop("head_window", "expanding")
        self.head_window_days = opts.pop("head_window_days", None)
        if head != "refit" and (self.head_window != "expanding" or self.head_window_days is not None):
            raise ConfigError(f"LSTMForecaster: head_window applies to head='refit', not head={head!r}")
        set_level(self, opts.pop("level_correction", "off"), opts.pop("level_window_days", 180),
                  opts.pop("level_shrink", 1.0), opts.pop("level_min_days", 30))
        if opts:
            raise ConfigError(f"LSTMForecaster does not take {sorted(opts)}")
        if list(card.feature_names) != list(self.features) or sorted(card.inputs) != sorted(self.inputs):
            from lstm_strategies.market.exogenous import check_model_inputs

            check_model_inputs(card.inputs, self.inputs, path or "<in-memory model>")
            raise CheckpointError(f"{path or '<in-memory model>'}: the model reads the features {card.feature_names}, "
                                  f"{type(self).__name__} feeds {list(self.features)}")
        self.network = network.eval()
        self.card = card
        self.path = path
        self.head = head
        self.min_train_days = min_train_days
        self.refit_every_days = refit_every_days
        self._har = None
        if head == "refit":
            self._har = LogHARForecaster(min_train_days, refit_every_days, window=self.head_window,
                                         window_days=self.head_window_days, calendar=card.calendar,
                                         horizons=card.horizons, timeframe=card.timeframe)
        elif head == "shrink":
            self._har = shrink_head_of(card, path)
        Forecaster.__init__(self, calendar=card.calendar, horizons=card.horizons, timeframe=card.timeframe)

    @classmethod
    def param_names(cls) -> list[str]:
        return ["model", "head", "min_train_days", "refit_every_days", "head_window", "head_window_days",
                "level_correction", "level_window_days", "level_shrink", "level_min_days"]

    @property
    def head_forecaster(self) -> Forecaster | None:
        """The forecaster of the log-HAR part (None with the frozen head): a copy, not the streaming one."""
        return None if self._har is None else copy.copy(self._har)

    @property
    def window(self) -> int:
        return self.card.window

    @property
    def lookback(self) -> int:
        return feature_lookback(self.bars_in_day, self.calendar) + self.window - 1

    @property
    def warmup_bars(self) -> int:
        return max(self.lookback, self._har.warmup_bars if self._har is not None else 0)

    @property
    def train_end(self) -> pd.Timestamp | None:
        """Last bar whose target the model was trained on (None when unknown)."""
        return pd.Timestamp(self.card.train_end) if self.card.train_end else None

    def check_out_of_sample(self, first_forecast: pd.Timestamp, allow_in_sample: bool = False,
                            knob: str | None = None) -> bool:
        """Raise :class:`LeakageError` if forecasts from ``first_forecast`` on overlap training.

        ``knob`` names what the caller's user sets to move the first forecast (``"--start"`` for
        ``evaluate``); without it the message names the config key and the indicator's argument.
        Returns True when the run is in-sample (only possible with ``allow_in_sample``). With the level
        correction, the uncorrected forecasts it reads start its window before ``first_forecast``.
        """
        if self._level is not None:
            from lstm_strategies.forecasters.level import level_spans

            first_forecast = pd.Timestamp(first_forecast) - pd.Timedelta(self._level.lead_ns(level_spans(self)))
        end = self.train_end
        if end is None or pd.Timestamp(first_forecast) > end:
            return False
        if allow_in_sample:
            return True
        start = self.card.train_start or "?"
        first = pd.Timestamp(first_forecast)
        after = (end + pd.Timedelta("1D")).date()
        if knob:
            advice = f"Start after {end.date()}: {knob} {after} or later."
        else:
            advice = (f"Start trading after {end.date()} (TOML: [backtest] start = \"{after}\"; Python: the "
                      "indicator's start=...), or accept it knowingly (TOML: [strategy] allow_in_sample = true; "
                      "Python: allow_in_sample=True), which marks the run in-sample in metrics.json and the tearsheet.")
        raise LeakageError(
            f"model {self.path or 'lstm'} was trained on {start} .. {end.date()}, and forecasts would be "
            f"made from {first} on: the dates {first.date()} .. {end.date()} are in-sample. {advice}")

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """The network's output for each row of a feature matrix: variance forecasts ``(n, H)`` with
        the frozen head, the multiplicative correction ``exp(LSTM)`` with the refit head."""
        return np.exp(self._rolling.run(features))

    def _features(self, df: pd.DataFrame) -> np.ndarray:
        """Batched: the network's input rows for every bar of ``df``."""
        return feature_matrix(df, self.calendar, self.timeframe)

    def _stream_row(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        """Streaming: the network's input row for one more bar."""
        return self._stream.update(open_, high, low, close, volume, (ts_ns // NS_PER_MINUTE) % 1440 / 60.0)

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        features = self._features(df)
        lead = max(first - self.window + 1, 0)      # the windows ending at `first` start here
        out = np.full((len(df), len(self.horizons)), np.nan)
        out[lead:] = self.predict_features(features[lead:])
        if self._har is not None:  # the head reads the HAR columns of the same feature matrix
            out = out * self._har.predict_from_regressors(df, features[:, HAR_COLUMNS], first)
        return out

    # -- streaming -----------------------------------------------------------------------------
    def _reset(self) -> None:
        from lstm_strategies.models.streaming import RollingWindowLSTM

        self._stream = StreamingFeatures(self.bars_in_day, self.calendar)
        # fresh state, per instance; with the refit head the network gives the correction alone
        self._rolling = RollingWindowLSTM(self.network, self.card.window, with_head=self._har is None)
        if self._har is not None:
            self._har = copy.copy(self._har)  # a copied forecaster must not share the head's state
            self._har.reset()
        self._lookback = self.lookback
        self._count = 0
        # while no forecast is read (before `quiet_until`): the last window - 1 feature rows, replayed
        # into fresh sequences at the first bar read, which gives exactly the state of running them all
        self._held_rows: deque = deque(maxlen=max(self.card.window - 1, 1))
        self._nan = np.full(len(self.horizons), np.nan)

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        row = self._stream_row(ts_ns, open_, high, low, close, volume)
        if self.quiet_until is not None and ts_ns < self.quiet_until:
            # no forecast before `quiet_until` is read: the recurrent steps wait (every in-flight
            # sequence restarts within a window, so only the last window - 1 rows matter), and the
            # head only takes the bar in (its refits wait until a forecast will be read)
            self._held_rows.append(row)
            if self._har is not None:
                self._har.advance(ts_ns, open_, high, low, close, volume, defer_fit=True)
            self._count += 1
            return self._nan
        if self._held_rows:
            self._rolling.reset()
            for held in self._held_rows:
                self._rolling.update(held)
            self._held_rows.clear()
        har = self._har.step(ts_ns, open_, high, low, close, volume) if self._har is not None else 1.0
        log_var = self._rolling.update(row)
        self._count += 1
        if self._count < self._lookback:
            return self._nan
        self.initialized = True
        return np.exp(log_var) * har

