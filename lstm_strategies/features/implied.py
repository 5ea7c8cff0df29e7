"""The LSTM's implied-volatility inputs: scale-free, causal, masked where no implied value is known.

Three columns follow the library's ten features (:data:`~lstm_strategies.features.FEATURE_NAMES`):

* ``iv_vrp = log(IV^2 / D) - log_rv_month``: the implied daily variance over the trailing month's
  mean daily realized variance (``D`` days a year): the variance risk premium as the model sees it;
* ``iv_dlog = log IV - log IV_prev``: the last known one-period change of log implied volatility
  (0 at the series' first value);
* ``iv_avail``: 1 where an implied value is known at the bar's close, 0 otherwise.

Where no value is known (before the series starts, or a value older than the lookup's ``max_age``)
the two value columns take ``fill`` — the network's training mean, so that they enter the LSTM as
exactly zero after its scaler (mean imputation), as they did before DVOL existed in training — and
the flag is 0. ``IV`` is the value known at the bar's close, so nothing published later enters.
"""

from __future__ import annotations

import numpy as np

from lstm_strategies.features.realized import FEATURE_NAMES, relative_form

IV_FEATURES = ["iv_vrp", "iv_dlog", "iv_avail"]
#: the LSTM-IV's inputs, in order: the library's features, then the implied ones
IMPLIED_FEATURE_NAMES = [*FEATURE_NAMES, *IV_FEATURES]
MONTH = FEATURE_NAMES.index("log_rv_month")


def implied_block(log_rv_month, now, prev, days_per_year: float = 365.0, fill=(np.nan, np.nan)) -> np.ndarray:
    """The three implied columns, ``(n, 3)`` (or ``(3,)`` for scalars), from the trailing month's log RV
    and the implied vol known at each bar's close (``now``) and the value before it (``prev``)."""
    month = np.asarray(log_rv_month, dtype="float64")
    now = np.asarray(now, dtype="float64")
    prev = np.asarray(prev, dtype="float64")
    avail = np.isfinite(now)
    safe = np.where(avail, now, 1.0)
    vrp = np.where(avail, np.log(safe ** 2 / days_per_year) - month, fill[0])
    both = avail & np.isfinite(prev)
    dlog = np.where(both, np.log(safe) - np.log(np.where(both, prev, 1.0)), 0.0)
    dlog = np.where(avail, dlog, fill[1])
    return np.stack([vrp, dlog, avail.astype("float64")], axis=-1)


def implied_input_map() -> np.ndarray:
    """The LSTM-IV's fixed input map: the scale-free :func:`~lstm_strategies.features.realized.relative_form` of the
    library's features, the implied columns as they are (they are scale-free already)."""
    n = len(IMPLIED_FEATURE_NAMES)
    matrix = np.eye(n)
    matrix[: len(FEATURE_NAMES), : len(FEATURE_NAMES)] = relative_form(FEATURE_NAMES)
    return matrix
