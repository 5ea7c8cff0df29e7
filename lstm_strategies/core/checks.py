"""Deprecated since 0.4.0 (removed in 0.5.0): a forecaster's constructor declares its ranges in the one parameter
language, ``lam: Annotated[float, Range(0, 1, low_open=True, high_open=True)]`` (:mod:`lstm_strategies.core.
declarations`), which the base class checks (:mod:`lstm_strategies.core.arguments`)."""

from __future__ import annotations

import warnings
from typing import Annotated

from lstm_strategies.core.arguments import check_value
from lstm_strategies.core.declarations import Range

__all__ = ["check_number"]


def check_number(owner: str, name: str, value, low=None, high=None, integer: bool = False,
                 low_open: bool = False, high_open: bool = False):
    """Deprecated: annotate the argument with :func:`~lstm_strategies.core.declarations.Range` instead."""
    warnings.warn("check_number is deprecated since 0.4.0 and removed in 0.5.0: annotate the constructor's argument "
                  "with lstm_strategies.core.declarations.Range (the forecaster base class checks it)",
                  DeprecationWarning, stacklevel=2)
    bound = Range(float("-inf") if low is None else low, high, low_open=low_open, high_open=high_open, whole=integer)
    return check_value(owner, name, value, Annotated[int if integer else float, bound])
