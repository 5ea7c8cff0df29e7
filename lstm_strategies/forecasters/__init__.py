"""The forecasting core (no Backtrader here) and the one registry of forecaster names.

A forecaster class registers itself when it is defined with a ``name`` of its own (see
:class:`~lstm_strategies.forecasters.base.Forecaster`); it also declares its ``kind`` (``baseline``
or ``model``), whether it ``refits`` and the exogenous ``inputs`` it reads. Configs, indicators,
sweeps, the evaluation, the race and the CLI resolve names here (:func:`make_forecaster`) and ask
the class for the rest, so a new forecaster is one module (and its test): define it, import it
once, and every name-taking place knows it. The built-in ones:

=============  =====================================================================
name           forecaster
=============  =====================================================================
``lstm``       :class:`~lstm_strategies.forecasters.lstm.LSTMForecaster` (a trained checkpoint)
``lstm_refit`` :class:`~lstm_strategies.forecasters.lstm_refit.RefittingLSTMForecaster`
``ewma``       :class:`~lstm_strategies.forecasters.ewma.EWMAForecaster`
``garch``      :class:`~lstm_strategies.forecasters.garch.GARCHForecaster`
``har``        :class:`~lstm_strategies.forecasters.har.HARForecaster`
``log_har``    :class:`~lstm_strategies.forecasters.har.LogHARForecaster`
=============  =====================================================================

and the forecasters that also read the market's implied volatility (``inputs = ("implied_vol",)``;
see :mod:`lstm_strategies.market.exogenous`):

=================  =================================================================
``har_iv``         :class:`~lstm_strategies.forecasters.har_iv.HARIVForecaster` (log-HAR + log IV²)
``implied``        :class:`~lstm_strategies.forecasters.implied_var.ImpliedForecaster` (IV² h/365)
``implied_level``  :class:`~lstm_strategies.forecasters.implied_var.ImpliedLevelForecaster`
``lstm_iv``        :class:`~lstm_strategies.forecasters.lstm_iv.ImpliedLSTMForecaster` (``btc-1h-iv``)
``lstm_iv_refit``  :class:`~lstm_strategies.forecasters.lstm_iv_refit.ImpliedRefittingLSTMForecaster`
=================  =================================================================

Importing this package imports no torch: the LSTM modules load it when a network is built.
"""

from __future__ import annotations

from lstm_strategies.forecasters.base import Forecaster
from lstm_strategies.forecasters.registry import (
    CONTEXT_PARAMS,
    REGISTRY,
    check_forecaster_params,
    forecaster_class,
    forecaster_names,
    forecaster_params,
    make_forecaster,
    register,
)

__all__ = ["CONTEXT_PARAMS", "REGISTRY", "Forecaster", "check_forecaster_params", "forecaster_class",
           "forecaster_names", "forecaster_params", "make_forecaster", "register"]
