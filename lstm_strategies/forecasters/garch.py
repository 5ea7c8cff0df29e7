"""GARCH(1,1) with Student-t innovations, fitted with ``arch`` on daily returns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lstm_strategies.forecasters.refit import ExpandingRefitForecaster


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
    last completed day. The horizon's variance is the sum of the 1..h-day analytic forecasts.
    """

    name = "garch"

    def __init__(self, horizon: str = "1D", timeframe: str | None = None, calendar: str = "crypto",
                 min_train_days: int = 250, refit_every_days: int = 30, dist: str = "t"):
        super().__init__(horizon, timeframe, calendar, min_train_days, refit_every_days)
        self.dist = dist

    def get_params(self) -> dict:
        return {**super().get_params(), "dist": self.dist}

    @property
    def lookback(self) -> int:
        return self.min_train_days * self.bars_in_day

    @property
    def _step(self) -> pd.Timedelta:
        return pd.Timedelta(self.timeframe or "1D")

    def reset(self) -> None:
        super().reset()
        self._daily_close: dict[int, float] = {}
        self._complete_day: int | None = None
        self._cached = float("nan")
        self._cached_params = None

    def _observe_bar(self) -> None:
        ts, close = self._rows[-1][0], self._rows[-1][4]
        closes_at = pd.Timestamp(ts) + min(self._step, pd.Timedelta("1D"))
        self._daily_close[(closes_at - pd.Timedelta(1, "ns")).floor("1D").value] = close

    def _predict_last(self, params) -> float:
        """Recompute only when a UTC day completes; between, the last day's forecast holds."""
        self._observe_bar()
        closes_at = pd.Timestamp(self._rows[-1][0]) + min(self._step, pd.Timedelta("1D"))
        complete = (closes_at.floor("1D") - pd.Timedelta("1D")).value
        if complete == self._complete_day and params is self._cached_params:
            return self._cached
        self._complete_day, self._cached_params = complete, params
        days = sorted(d for d in self._daily_close if d <= complete)
        if len(days) < 2:
            self._cached = float("nan")
            return self._cached
        closes = pd.Series([self._daily_close[d] for d in days], index=pd.DatetimeIndex(days))
        returns = 100.0 * np.log(closes).diff().iloc[1:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = self._model(returns).fix(params).forecast(
                horizon=self._horizon_days, start=len(returns) - 1, reindex=False)
        scale = pd.Timedelta(self.horizon) / pd.Timedelta(days=self._horizon_days)
        self._cached = float(fc.variance.to_numpy().sum(axis=1)[-1] / 1e4 * scale)
        return self._cached

    @property
    def _horizon_days(self) -> int:
        return max(1, int(round(pd.Timedelta(self.horizon) / pd.Timedelta("1D"))))

    def _model(self, returns: pd.Series):
        from arch import arch_model

        return arch_model(returns.to_numpy(), mean="Constant", vol="GARCH", p=1, q=1, dist=self.dist)

    def _fit_at(self, df: pd.DataFrame, k: int):
        returns, pos = _daily_returns(df.iloc[: k + 1], self._step)
        last = pos[k]
        if last < 30:  # too few daily returns for a GARCH-t fit
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = self._model(returns.iloc[: last + 1]).fit(disp="off", show_warning=False)
        return res.params.to_numpy()

    def _predict_rows(self, df: pd.DataFrame, params, rows: slice) -> np.ndarray:
        returns, pos = _daily_returns(df.iloc[: rows.stop], self._step)
        needed = pos[rows]
        out = np.full(len(needed), np.nan)
        if len(returns) == 0 or needed.max() < 0:
            return out
        first = max(int(needed[needed >= 0].min()), 0)
        series = returns.iloc[: int(needed.max()) + 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = self._model(series).fix(params).forecast(
                horizon=self._horizon_days, start=first, reindex=False)
        var_by_day = fc.variance.to_numpy().sum(axis=1) / 1e4
        ok = needed >= first
        out[ok] = var_by_day[needed[ok] - first]
        return out * (pd.Timedelta(self.horizon) / pd.Timedelta(days=self._horizon_days))
