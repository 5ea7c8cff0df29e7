"""The LSTM with implied volatility (LSTM-IV): the refit log-HAR head plus an LSTM correction that also
reads the market's implied volatility (trained by :mod:`lstm_strategies.models.training_iv`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import Count
from lstm_strategies.features.implied import IMPLIED_FEATURE_NAMES, MONTH, implied_block
from lstm_strategies.forecasters.level import LevelMinDays, LevelMode, LevelShrink, LevelWindowDays, WindowDays
from lstm_strategies.models.lstm import Head, LSTMForecaster


class ImpliedLSTMForecaster(LSTMForecaster):
    """Term-structure forecasts of an LSTM-IV checkpoint (bundled: ``btc-1h-iv``, ``eth-1h-iv``).

    As :class:`~lstm_strategies.forecasters.lstm.LSTMForecaster` (the log-HAR head refit every 30
    days, the correction frozen at the model's training end), with three more inputs per bar: the
    implied variance over the trailing month's realized, the last daily change of log implied vol
    and an availability flag (:mod:`lstm_strategies.features.implied`), read at each bar's close from
    the ``implied_vol`` series given with :meth:`set_inputs` (a config's ``[data] implied``).

    A bar without a known implied value **falls back**: its implied inputs are masked, exactly as the
    model saw the years before DVOL existed in training; the bars are recorded in
    :attr:`input_fallbacks`. A model whose card does not list ``implied_vol`` among its inputs is refused.
    """

    name = "lstm_iv"
    inputs = ("implied_vol",)
    missing_input = "fallback"
    input_fallback = "implied-vol inputs masked (as before DVOL existed in training)"
    features = IMPLIED_FEATURE_NAMES

    def __init__(self, model: str | Path = "btc-1h-iv", head: Head = "refit", min_train_days: Count = 180,
                 refit_every_days: Count = 30, head_window: str = "expanding", head_window_days: WindowDays = None,
                 level_correction: LevelMode = "off", level_window_days: LevelWindowDays = 180,
                 level_shrink: LevelShrink = 1.0, level_min_days: LevelMinDays = 30):
        super().__init__(model, head, min_train_days, refit_every_days, head_window, head_window_days,
                         level_correction, level_window_days, level_shrink, level_min_days)

    @classmethod
    def scoring_params(cls, setup) -> dict | None:
        """``evaluate``'s LSTM-IV checkpoint (``--iv-model``), when implied volatility is given."""
        return {"model": setup.iv_model} if setup.iv_model and setup.has_inputs(cls) else None

    def _reset(self) -> None:
        mean = self.network.feature_mean.double().numpy()     # the implied columns are mapped as they are
        self._fill = (float(mean[-3]), float(mean[-2]))       # masked inputs: the training mean, i.e. 0 after scaling
        self._bar_ns = pd.Timedelta(self.timeframe).value if self.timeframe else 0
        self._missing_now = False

    def _features(self, df: pd.DataFrame) -> np.ndarray:
        feats = super()._features(df)
        now, prev = self.input_values("implied_vol", df)
        self._missing = ~np.isfinite(now)
        return np.column_stack([feats, implied_block(feats[:, MONTH], now, prev, self.cal.days_per_year, self._fill)])

    def _predict_batch(self, df: pd.DataFrame, first: int = 0) -> np.ndarray:
        out = super()._predict_batch(df, first)
        fell_back = self._missing & np.isfinite(out).all(axis=1)
        fell_back[:first] = False
        self.missing_inputs("implied_vol", df.index.asi8, fell_back)
        return out

    def _stream_row(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        row = super()._stream_row(ts_ns, open_, high, low, close, volume)
        now, prev = self.input_lookup("implied_vol").at_with_previous(ts_ns + self._bar_ns)
        self._missing_now = now != now
        if self._missing_now:
            vrp, dlog, avail = self._fill[0], self._fill[1], 0.0
        else:  # the scalar twin of implied_block
            vrp = math.log(now ** 2 / self.cal.days_per_year) - row[MONTH]
            dlog = math.log(now) - math.log(prev) if prev == prev else 0.0
            avail = 1.0
        return np.append(row, (vrp, dlog, avail))

    def _update(self, ts_ns, open_, high, low, close, volume) -> np.ndarray:
        out = super()._update(ts_ns, open_, high, low, close, volume)
        if self._missing_now and out[0] == out[0]:
            self.missing_inputs("implied_vol", ts_ns)
        return out
