"""Collateral for a ladder of variance swaps from the forecast's expected shortfall, beside the fixed shock.

Issue #30 (research: ``docs/research/tail_risk/``, ``margin.py``). Conventions of
:mod:`lstm_strategies.trading.variance` and ``variance_swap``: one row per UTC day ``t``; a swap opened on
day ``d`` with signed notional ``n`` (> 0 short variance) is marked ``V_k = n [K - R_k - IV_{d+k}^2 (30 - k)
/ 30]`` on day ``d + k`` (variance points; ``R_k`` its realised part). After day t's marks the live swaps
have ``k = t - d`` in 0..29, and the held book's next-day loss is linear in two risk factors, the day's
realised variance and the implied variance's change:

    loss_{t+1} = A_t rvd_{t+1} + B_t IV_{t+1}^2 - C_t IV_t^2,
    A_t = sum n,   B_t = sum n (29 - k) / 30,   C_t = sum n (30 - k) / 30.

Over h days (the margin period of risk): ``A^h = sum n min(h, 30 - k) / h`` times the h-day realised
variance (a swap settling inside the window is exposed to its remaining days only, the h-day RV spread
evenly), ``B^h = sum n max(30 - k - h, 0) / 30``.

**ES collateral (filtered historical simulation, joint scenarios).** Scenario ``j`` (a past day whose
h-day outcome was complete at t's close, the last ``window`` of them) pairs the forecaster's
realised-to-forecast ratio ``rho_j = RV_j^h / F_j^h`` with the implied move ``dlog IV_j^h`` of the same
days, keeping their dependence:

    rvd*_j = ANN F_t^h rho_j,   IV*_j^2 = IV_t^2 exp(2 dlog IV_j^h),

and the collateral is the ES at ``level`` of ``loss_j = A^h rvd*_j + B^h IV*_j^2 - C IV_t^2`` (floored at
0). The frozen choice (selected on 2021-07 .. 2022-12): 7 days, 97.5%, 500 scenarios, at least 100, no
scaling constant. The fixed implied shock of 0.3.0 is ``sum |n| (shock^2 - 1) IV_t^2 (30 - k) / 30``
(shorts, shock 1.5; longs ``1 - 0.7^2``). :class:`ScenarioPool` is the day-by-day twin the
``variance_swap`` strategy uses (``collateral = "es"``).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pandas as pd

__all__ = ["ANN", "TENOR", "ScenarioPool", "book_exposures", "es_margin", "exceedances", "held_loss",
           "ladder_exposures", "scenario_es", "shock_margin"]

TENOR = 30
ANN = 365.0 / TENOR * 1e4


def ladder_exposures(w: np.ndarray, horizon: int = 1, tenor: int = TENOR) -> pd.DataFrame:
    """A, B, C (and the short and long legs' C for the shock margin) per day of a ladder opening ``w_d /
    tenor`` each day (``w`` per day, NaN = 0): day t's exposures after its marks."""
    n = np.nan_to_num(np.asarray(w, dtype="float64")) / tenor
    T = len(n)
    A, B, C, c_short, c_long = (np.zeros(T) for _ in range(5))
    for k in range(tenor):                # the swap opened at d = t - k
        nk = np.concatenate([np.zeros(k), n[: T - k]])
        A += nk * min(horizon, tenor - k) / horizon
        B += nk * max(tenor - k - horizon, 0) / tenor
        C += nk * (tenor - k) / tenor
        c_short += np.where(nk > 0, nk, 0) * (tenor - k) / tenor
        c_long += np.where(nk < 0, -nk, 0) * (tenor - k) / tenor
    return pd.DataFrame({"A": A, "B": B, "C": C, "C_short": c_short, "C_long": c_long})


def book_exposures(positions, horizon: int, tenor: int = TENOR) -> tuple[float, float, float]:
    """``(A^h, B^h, C)`` of live swaps given as ``(n, k)`` pairs (notional, days since opened)."""
    A = B = C = 0.0
    for n, k in positions:
        A += n * min(horizon, tenor - k) / horizon
        B += n * max(tenor - k - horizon, 0) / tenor
        C += n * (tenor - k) / tenor
    return A, B, C


def held_loss(expo1: pd.DataFrame, rvd: np.ndarray, iv2: np.ndarray) -> np.ndarray:
    """Realised loss on day t+1 of the book held at t's close (index t+1 of the result; NaN at 0)."""
    A, B, C = (expo1[c].to_numpy() for c in "ABC")
    loss = np.full(len(A), np.nan)
    loss[1:] = A[:-1] * rvd[1:] + B[:-1] * iv2[1:] - C[:-1] * iv2[:-1]
    return loss


def shock_margin(expo1: pd.DataFrame, iv2: np.ndarray, up: float = 1.5, down: float = 0.7) -> np.ndarray:
    """0.3.0's collateral: the loss of an implied jump to ``up`` x (shorts) or fall to ``down`` x (longs)."""
    return (expo1["C_short"].to_numpy() * (up**2 - 1) + expo1["C_long"].to_numpy() * (1 - down**2)) * iv2


def scenario_es(A: float, B: float, C: float, iv2: float, f_h: float, rho: np.ndarray, dlogiv: np.ndarray,
                level: float, annual: float = ANN) -> float:
    """The ES at ``level`` of the scenario losses of one day's book (floored at 0); ``annual`` turns a sum of
    squared returns into the swap's variance points (365 / tenor * 1e4)."""
    if A == 0 and B == 0 and C == 0:
        return 0.0
    loss = A * annual * f_h * rho + B * iv2 * np.exp(2 * dlogiv) - C * iv2
    q = np.quantile(loss, level)
    return max(loss[loss >= q].mean(), 0.0)


def es_margin(expo_h: pd.DataFrame, iv2: np.ndarray, f_h: np.ndarray, rho_h: np.ndarray, dlogiv_h: np.ndarray,
              horizon: int, level: float = 0.975, window: int = 500, min_scenarios: int = 100) -> np.ndarray:
    """ES collateral per day (see the module doc). ``f_h``: the h-day variance forecast (fraction) made at
    each day's close; ``rho_h`` / ``dlogiv_h``: the realised ratio and implied log move of the h days after
    each day (known h days later). NaN before ``min_scenarios`` scenarios exist."""
    A, B, C = (expo_h[c].to_numpy() for c in "ABC")
    ok = np.isfinite(rho_h) & np.isfinite(dlogiv_h)
    out = np.full(len(A), np.nan)
    for t in range(len(A)):
        hi = t - horizon + 1                 # scenarios j <= t - h are complete at t's close
        if hi <= 0 or not np.isfinite(f_h[t]) or not np.isfinite(iv2[t]):
            continue
        j = np.flatnonzero(ok[:hi])[-window:]
        if j.size >= min_scenarios:
            out[t] = scenario_es(A[t], B[t], C[t], iv2[t], f_h[t], rho_h[j], dlogiv_h[j], level)
    return out


def exceedances(loss: np.ndarray, margin_held: np.ndarray) -> dict:
    """Days the day's loss exceeded the collateral held at the previous close, the worst ratio, the mean margin."""
    m_prev = np.concatenate([[np.nan], margin_held[:-1]])
    ok = np.isfinite(loss) & np.isfinite(m_prev) & (m_prev > 0)
    ratio = loss[ok] / m_prev[ok]
    return {"days": int(ok.sum()), "exceed_days": int(np.sum(ratio > 1)),
            "worst_ratio": float(ratio.max()) if ratio.size else np.nan,
            "mean_margin": float(np.nanmean(margin_held[np.isfinite(margin_held)]))}


class ScenarioPool:
    """Day by day, the joint scenarios of :func:`es_margin`: a strategy adds each day's close (its h-day
    forecast, the running sum of squared returns, the implied volatility) and asks for the day's ES.

    A day's scenario ``(rho, dlog IV)`` is complete ``horizon`` days later; the pool keeps the last
    ``window`` complete ones (days are counted as the strategy's UTC days, as the ladder's).
    """

    def __init__(self, horizon: int = 7, window: int = 500, min_scenarios: int = 100):
        self.horizon, self.min_scenarios = int(horizon), int(min_scenarios)
        self.waiting: deque = deque()                      # (day, forecast, cum r2, iv)
        self.rho: deque = deque(maxlen=int(window))
        self.dlogiv: deque = deque(maxlen=int(window))
        self.z: deque = deque(maxlen=int(window))          # the h-day log return over the forecast's sd

    def add_day(self, day: int, forecast_h: float, cum_r2: float, iv: float, log_price: float = math.nan) -> None:
        """Day ``day``'s close: complete the scenarios that started ``horizon`` days before, then wait
        (``log_price``, the close's log, gives the scenarios' signed return too: the straddles' book reads it)."""
        while self.waiting and self.waiting[0][0] + self.horizon <= day:
            d0, f0, r0, iv0, p0 = self.waiting.popleft()
            if d0 + self.horizon == day:
                rho = (cum_r2 - r0) / f0 if f0 > 0 else math.nan
                move = math.log(iv / iv0) if iv > 0 and iv0 > 0 else math.nan
                if math.isfinite(rho) and math.isfinite(move):
                    self.rho.append(rho)
                    self.dlogiv.append(move)
                    self.z.append((log_price - p0) / math.sqrt(f0))
        self.waiting.append((day, forecast_h, cum_r2, iv, log_price))

    def es(self, A: float, B: float, C: float, iv2: float, forecast_h: float, level: float,
           annual: float = ANN) -> float:
        """The ES collateral of a book with exposures ``(A^h, B^h, C)`` (NaN while too few scenarios)."""
        if len(self.rho) < self.min_scenarios or not (math.isfinite(forecast_h) and math.isfinite(iv2)):
            return math.nan
        return scenario_es(A, B, C, iv2, forecast_h, np.array(self.rho), np.array(self.dlogiv), level, annual)


class BookCollateral:
    """A variance-swap strategy's ES collateral day by day (``collateral = "es"`` in ``variance_base``).

    It reads the collateral forecaster's ``es_horizon``-day variance at each day's close from its own
    :class:`~lstm_strategies.trading.indicators.VolatilityForecast` (every bar: the scenarios need the days
    before the run's start), keeps the :class:`ScenarioPool` and gives the book's margin after the day's marks
    and entries: the ES of the live swaps' exposures, or the shock margin while fewer than
    ``es_min_scenarios`` scenarios exist (counted). The shock margin and the loss over it are kept beside it.
    """

    def __init__(self, strategy, data):
        from lstm_strategies.core.errors import ConfigError
        from lstm_strategies.trading.indicators import VolatilityForecast

        p = strategy.p
        if not getattr(strategy, "es_collateral_supported", False):
            raise ConfigError(f"{strategy.name}: collateral = \"es\" is defined for variance swaps and hedged "
                              "straddles (trading/variance_margin.py, straddle_margin.py); use collateral = "
                              "\"shock\" here")
        spec = p.collateral_forecaster or strategy.forecast.forecaster
        kwargs = dict(p.collateral_forecaster_params or {}) if isinstance(spec, str) else None
        self.forecast = VolatilityForecast(data, forecaster=spec, forecaster_params=kwargs, inputs=p.inputs,
                                           calendar=p.calendar, horizon=int(p.es_horizon), allow_in_sample=True)
        self.strategy, self.level = strategy, float(p.es_level)
        self.horizon = int(p.es_horizon)
        self.pool = ScenarioPool(self.horizon, int(p.es_window), int(p.es_min_scenarios))
        self._today = (None, math.nan, math.nan)
        self._shock, self._shock_prev = 0.0, 0.0
        self.es_days = self.shock_days = 0
        self.es_sum = self.shock_sum = 0.0

    def add_day(self, day: int, cum_r2: float, iv_points: float, log_price: float = math.nan) -> None:
        """Each day's close (also before the run's start): the forecast, the realised sum, the implied vol."""
        forecast = float(self.forecast.var[0])
        self.pool.add_day(day, forecast, cum_r2, iv_points, log_price)
        self._today = (day, forecast, iv_points)

    def book_es(self, day: int) -> float:
        """The live swaps' ES (ledger units: variance points; NaN while too few scenarios)."""
        s = self.strategy
        _, forecast, iv = self._today
        A, B, C = book_exposures([(pos.quantity, day - pos.opened) for pos in s.ledger.live], self.horizon, s.tenor)
        return self.pool.es(A, B, C, iv * iv, forecast, self.level, s.annual)

    def margin(self, day: int) -> float:
        """The book's collateral after today's marks and entries: its ES, or the shock margin while
        :meth:`book_es` is NaN (counted)."""
        shock = self.strategy.ledger.margin()
        es = self.book_es(day)
        self._shock = shock
        if math.isnan(es):
            self.shock_days += 1
            return shock
        self.es_days += 1
        self.es_sum += es
        self.shock_sum += shock
        return es

    def row(self, held: float) -> dict:
        """The shock margin and the held loss over yesterday's shock margin, for the day's book row."""
        over = -held / self._shock_prev if held < 0 and self._shock_prev > 0 else 0.0
        self._shock_prev = self._shock
        return {"shock_margin": self._shock, "shock_loss_over_margin": over}

    def summary(self) -> dict:
        return {"collateral": "es", "es_days": self.es_days, "days_on_shock_margin": self.shock_days,
                "es_over_shock_mean": self.es_sum / self.shock_sum if self.shock_sum > 0 else None}
