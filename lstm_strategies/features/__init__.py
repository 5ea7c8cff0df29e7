"""Causal features of the bars (realized variance, HAR aggregates, range estimators, volume, hour) and
the forecast targets; the LSTM-IV's implied-volatility inputs (:mod:`lstm_strategies.features.implied`)."""

from lstm_strategies.features.realized import (
    FEATURE_NAMES,
    HAR_FEATURES,
    StreamingFeatures,
    feature_frame,
    feature_lookback,
    feature_matrix,
    forecast_origins,
    forward_realized_variance,
    forward_return,
    forward_variance_matrix,
    garman_klass_variance,
    log_returns,
    parkinson_variance,
    realized_variance,
    rogers_satchell_variance,
    squared_returns,
    target_ends,
)

__all__ = ["FEATURE_NAMES", "HAR_FEATURES", "StreamingFeatures", "feature_frame", "feature_lookback", "feature_matrix",
           "forecast_origins", "forward_realized_variance", "forward_return", "forward_variance_matrix",
           "garman_klass_variance", "log_returns", "parkinson_variance", "realized_variance",
           "rogers_satchell_variance", "squared_returns", "target_ends"]
