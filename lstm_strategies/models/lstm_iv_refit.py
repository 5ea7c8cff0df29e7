"""The self-refitting LSTM with implied volatility: an LSTM-IV retrained every N months on what it has seen."""

from __future__ import annotations

import pandas as pd

from lstm_strategies.forecasters.base import Forecaster
from lstm_strategies.models.lstm_refit import RefittingLSTMForecaster


class ImpliedRefittingLSTMForecaster(RefittingLSTMForecaster):
    """An LSTM-IV (:class:`~lstm_strategies.forecasters.lstm_iv.ImpliedLSTMForecaster`) retrained at each
    fold boundary on the bars and implied values known by then, with the bundled models' protocol
    (:func:`~lstm_strategies.training_iv.train_implied_lstm`: 4 epochs, corrections on 1 and 7 days,
    gates from the fold's last 365 days); fold models are cached as the plain self-refitting LSTM's.

    Parameters are :class:`~lstm_strategies.forecasters.lstm_refit.RefittingLSTMForecaster`'s; ``train``
    sets :class:`~lstm_strategies.training_iv.ImpliedTrainConfig` fields. A bar without a known implied
    value falls back to masked implied inputs (recorded), as in ``lstm_iv``.
    """

    name = "lstm_iv_refit"
    inputs = ("implied_vol",)
    missing_input = "fallback"
    input_fallback = "implied-vol inputs masked (as before DVOL existed in training)"

    def _config_class(self) -> type:
        from lstm_strategies.models.training_iv import ImpliedTrainConfig

        return ImpliedTrainConfig

    def _fold_implied(self) -> pd.Series:
        self.require_inputs()
        return self._input_series["implied_vol"]

    def _fold_forecaster(self, network, card) -> Forecaster:
        from lstm_strategies.models.lstm_iv import ImpliedLSTMForecaster

        model = ImpliedLSTMForecaster.from_network(network, card, head=self.head, **self._head_window()).bind(
            self.timeframe)
        return model.set_inputs(implied_vol=self._input_series["implied_vol"])
