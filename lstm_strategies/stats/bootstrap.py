"""The stationary-bootstrap test of a difference of Sharpe ratios (bottom floor: numpy, pandas and arch only)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["sharpe_difference"]


def sharpe_difference(a: pd.Series, b: pd.Series, periods: int = 365, reps: int = 1000, block: int = 10,
                      seed: int = 0) -> dict:
    """Annualised Sharpe ratio of ``a`` minus that of ``b`` with a stationary-bootstrap p-value.

    ``arch.bootstrap.StationaryBootstrap`` resamples the paired daily returns in blocks (mean
    length ``block`` days), keeping their correlation and serial dependence; the p-value is
    two-sided, from the bootstrap distribution of the difference centred on the estimate.
    """
    from arch.bootstrap import StationaryBootstrap

    pair = pd.concat([a, b], axis=1).dropna().to_numpy()
    if len(pair) < 30 or pair[:, 0].std() == 0 or pair[:, 1].std() == 0:
        return {"diff": None, "pvalue": None, "days": int(len(pair))}

    def diff(x: np.ndarray) -> float:
        s = x.mean(axis=0) / x.std(axis=0, ddof=1)
        return float((s[0] - s[1]) * math.sqrt(periods))

    estimate = diff(pair)
    bs = StationaryBootstrap(block, pair, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.array([diff(data[0][0]) for data in bs.bootstrap(reps)])
    # a resample of a series that is mostly flat (a rule that rarely trades) can have zero variance:
    # its Sharpe ratio is undefined, so the draw is dropped rather than poisoning the mean with NaN
    draws = draws[np.isfinite(draws)]
    if len(draws) < reps // 2:
        return {"diff": estimate, "pvalue": None, "days": int(len(pair)), "reps": reps, "block": block,
                "note": f"only {len(draws)} of {reps} resamples had a defined Sharpe ratio"}
    centred = draws - draws.mean()
    pvalue = float(np.mean(np.abs(centred) >= abs(estimate)))
    return {"diff": estimate, "pvalue": max(pvalue, 1.0 / len(draws)), "days": int(len(pair)),
            "reps": int(len(draws)), "block": block}
