"""GARCH(1,1) with Student-t innovations, fitted with ``arch`` on daily returns."""

from __future__ import annotations

import warnings
from typing import Annotated

import numpy as np
import pandas as pd

from lstm_strategies.core.declarations import OneOf
from lstm_strategies.forecasters.refit import ExpandingRefitForecaster

DISTRIBUTIONS = ("normal", "t", "skewt", "ged")
#: arch starts the variance recursion from a weighted mean of the first 75 squared residuals
BACKCAST_DAYS = 75


def _daily_returns(df: pd.DataFrame, step: pd.Timedelta) -> tuple[pd.Series, np.ndarray]:
    """Percent log returns of completed UTC days and, for each bar, the last completed day's row.

    A day is complete at the close of its last bar (``timestamp + bar`` reaches midnight).
    """
    step = min(step, pd.Timedelta("1D"))
    closes_at = df.index + step
    day_of_close = (closes_at - pd.Timedelta(1, "ns")).floor("1D")
    daily_close = df["close"].groupby(day_of_close).last()
    returns = 100.0 * np.log(daily_close).diff().iloc[1:]
    complete_day = closes_at.floor("1D") - pd.Timedelta("1D")
    pos = np.searchsorted(returns.index.asi8, complete_day.asi8, side="right") - 1
    return returns, pos


class GARCHForecaster(ExpandingRefitForecaster):
    r"""GARCH(1,1)-t on daily log returns in percent (as ``arch`` recommends), refit every few weeks.

    :math:`\sigma^2_{t+1} = \omega + \alpha \epsilon_t^2 + \beta \sigma^2_t`. On intraday bars the
    model runs on the UTC-day closes, and each bar carries the forecast made at the close of the
    last completed day. The variance over ``h`` days is the sum of ``arch``'s analytic 1..h-day
    forecasts, so the term structure mean-reverts towards the unconditional variance.

    Fits that ``arch`` flags as not converged are kept (as ``arch`` does) and counted in
    :attr:`convergence_warnings`, which :func:`~lstm_strategies.evaluation.evaluate_forecasters`
    reports; no other warning is silenced.

    The estimation window is expanding (0.3.0) or ``window="rolling"``: the last ``window_days`` daily
    returns (``arch`` has no weighted likelihood, so no ``"ew"``); the variance recursion still runs over the
    whole history with the fitted parameters. The level correction's parameters are log-HAR's.

    Parameters
    ----------
    dist : {"normal", "t", "skewt", "ged"}
        Innovation distribution.
    """

    name = "garch"
    windows = ("expanding", "rolling")

    def __init__(self, min_train_days: int = 250, refit_every_days: int = 30,
                 dist: Annotated[str, OneOf(*DISTRIBUTIONS)] = "t", *,
                 calendar: str = "crypto", horizons=None, timeframe: str | None = None, **window_and_level):
        self.dist = dist
        self.convergence_warnings = 0
        super().__init__(min_train_days, refit_every_days, calendar=calendar, horizons=horizons,
                         timeframe=timeframe, **window_and_level)

    @property
    def lookback(self) -> int:
        return int(self.cal.trading_days(self.min_train_days) * self.bars_in_day)

    @property
    def _step(self) -> pd.Timedelta:
        return pd.Timedelta(self.timeframe)

    def _reset(self) -> None:
        self._daily_close: dict[int, float] = {}
        self._complete_day: int | None = None
        self._cached = np.full(len(self.horizons), np.nan)
        self._cached_params = None

    def _model(self, returns):
        from arch import arch_model

        return arch_model(np.asarray(returns), mean="Constant", vol="GARCH", p=1, q=1, dist=self.dist)

    def _forecast(self, returns, params, start: int) -> np.ndarray:
        """Variance over each horizon (fractions, not percent) from day ``start`` on: (days, H)."""
        fc = self._model(returns).fix(params).forecast(horizon=max(self.horizons), start=start, reindex=False)
        cum = np.cumsum(fc.variance.to_numpy(), axis=1) / 1e4
        return cum[:, np.asarray(self.horizons) - 1]

    def _fit_at(self, df: pd.DataFrame, k: int):
        from arch.utility.exceptions import ConvergenceWarning

        returns, pos = _daily_returns(df.iloc[: k + 1], self._step)
        last = pos[k]
        if last < BACKCAST_DAYS:  # fewer daily returns than arch's backcast window: too few for a GARCH-t fit,
            return None           # and the backcast would depend on how much data a forecast call is given
        lo = 0 if self.window == "expanding" else max(0, last + 1 - int(round(self._window_days)))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            res = self._model(returns.iloc[lo: last + 1]).fit(disp="off")
        self.convergence_warnings += sum(issubclass(w.category, ConvergenceWarning) for w in caught)
        for w in caught:
            if not issubclass(w.category, ConvergenceWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return res.params.to_numpy()

    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        returns, pos = _daily_returns(df.iloc[: rows.stop], self._step)
        needed = pos[rows]
        out = np.full((len(needed), len(self.horizons)), np.nan)
        if len(returns) == 0 or needed.max() < 0:
            return out
        first = max(int(needed[needed >= 0].min()), 0)
        by_day = self._forecast(returns.iloc[: int(needed.max()) + 1], params, first)
        ok = needed >= first
        out[ok] = by_day[needed[ok] - first]
        return out

    def _observe_bar(self) -> None:
        rows = self._rows
        ts, close = int(rows.ts[rows.n - 1]), float(rows.values[rows.n - 1, 3])
        closes_at = pd.Timestamp(ts, tz="UTC") + min(self._step, pd.Timedelta("1D"))
        self._daily_close[(closes_at - pd.Timedelta(1, "ns")).floor("1D").value] = close

    def _predict_last(self, params) -> np.ndarray:
        """Recompute only when a UTC day completes; between, the last day's forecast holds."""
        closes_at = pd.Timestamp(int(self._rows.ts[self._rows.n - 1]), tz="UTC") + min(self._step, pd.Timedelta("1D"))
        complete = (closes_at.floor("1D") - pd.Timedelta("1D")).value
        if complete == self._complete_day and params is self._cached_params:
            return self._cached
        self._complete_day, self._cached_params = complete, params
        days = sorted(d for d in self._daily_close if d <= complete)
        if len(days) < 2:
            self._cached = np.full(len(self.horizons), np.nan)
            return self._cached
        closes = np.array([self._daily_close[d] for d in days])
        returns = 100.0 * np.diff(np.log(closes))
        self._cached = self._forecast(returns, params, len(returns) - 1)[-1]
        return self._cached
