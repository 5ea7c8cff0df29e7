"""Trading variance against implied volatility: costs, decision rules and the book's metrics (no Backtrader).

Units and conventions (the research design of issue #19, used by the strategies, the vectorised
reference book and the race alike):

* **Variance points.** Annualised variance in (volatility points)^2: an implied volatility of 60
  (DVOL's 60, i.e. 60%) is a variance strike of 3,600. A swap on ``tenor`` days pays
  ``K - RV`` variance points per unit of variance notional (short), where ``RV`` is
  ``365 / tenor * 1e4 *`` the sum of squared hourly log returns over its life.
* **The forecast** compared with a strike is the forecaster's variance over the swap's life (a
  fraction, not annualised), in variance points ``F = var * 365 / tenor * 1e4``. It must be
  unbiased *in variance*: the log forecasters (log-HAR, the LSTM's refit log-HAR head) publish
  ``exp(m + s^2 / 2)``, the mean of a log-normal, not its median ``exp(m)`` (the Jensen term), and the
  LSTM's correction is trained with QLIKE, whose minimiser is the conditional mean. No extra
  correction is applied here (README, "Results: trading variance against the market").
* **Multipliers.** A rule gives a signed multiplier ``w`` per decision day: ``w > 0`` sells
  variance, ``w < 0`` buys it. In a ladder each day opens ``w / tenor`` of a unit; in a roll one
  swap of ``w`` units is opened every ``tenor`` days.
* **Costs** (Deribit): a replication spread in volatility points (the short sells at
  ``(IV - spread)^2``, the long buys at ``(IV + spread)^2``; marks are at mid), the option fees of the
  static replication strip (:func:`strip_fee`) paid at entry and the delivery fee of the options
  that expire in the money (:func:`delivery_fee`) at settlement.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import ndtr

__all__ = ["FEE_CAP", "FEE_RATE", "DELIVERY_RATE", "RULES", "SIZED_RULES", "STRESS", "annual_points",
           "delivery_fee", "mtm_metrics", "normaliser", "signal_weight", "strip_fee"]

VAR_POINTS = 1e4            # a variance as a fraction (0.36) -> variance points (3,600)
FEE_RATE = 0.0003           # Deribit option taker fee, fraction of the underlying per option
FEE_CAP = 0.125             # ... capped at 12.5% of the option's price
DELIVERY_RATE = 0.00015     # Deribit option delivery fee, fraction of the underlying
#: decision rules; the sized ones are ``min(scale * raw, max_multiple)`` with a normaliser fitted on
#: the selection period (:func:`normaliser`)
RULES = ("always", "gate", "band", "ratio", "premium", "voltarget", "ratio_vt")
SIZED_RULES = ("ratio", "premium", "voltarget", "ratio_vt")
#: the stress windows the variance books report (from lstm_strategies.evaluation.STRESS_WINDOWS)
STRESS = ("2022-11 FTX", "2024-08-05 carry unwind", "2025-10-10 liquidations")


def annual_points(tenor_days: float, days_per_year: float = 365.0) -> float:
    """Factor from a sum of squared returns over ``tenor_days`` to annualised variance points."""
    return days_per_year / tenor_days * VAR_POINTS


# -- costs ----------------------------------------------------------------------------------------
@lru_cache(maxsize=65536)
def _strip_fee(vol_points: float, tenor_days: float, rate: float, cap: float) -> float:
    vol = vol_points / 100.0
    years = tenor_days / 365.0
    strikes = np.linspace(0.2, 5.0, 4000)
    sig = vol * math.sqrt(years)
    d1 = (-np.log(strikes) + 0.5 * sig**2) / sig
    d2 = d1 - sig
    call = ndtr(d1) - strikes * ndtr(d2)
    put = strikes * ndtr(-d2) - ndtr(-d1)
    otm = np.where(strikes >= 1.0, call, put)
    integrand = np.minimum(rate, cap * otm) / strikes**2
    step = strikes[1] - strikes[0]
    return float(VAR_POINTS * 2.0 / years * (integrand.sum() - 0.5 * (integrand[0] + integrand[-1])) * step)


def strip_fee(vol_points: float, tenor_days: float = 30, rate: float = FEE_RATE, cap: float = FEE_CAP) -> float:
    r"""Entry option fee of a replicated variance swap, variance points per unit of variance notional.

    The static replication (Demeterfi, Derman, Kamal & Zou 1999) holds ``2 dK / (T K^2)``
    out-of-the-money options per strike (puts below the forward, calls above) for one unit of
    annualised variance. Each option pays the venue's taker fee ``min(rate * S, cap * price)``;
    prices are Black-Scholes at the flat implied volatility (no smile), strikes 0.2-5 times spot:

    .. math:: \text{fee} = 10^4 \cdot \frac{2}{T}\int \min(r, c\,P(K))\,\frac{dK}{K^2}

    About 34 / 55 / 78 / 103 variance points at an implied volatility of 40 / 60 / 80 / 100 (30 days).

    Parameters
    ----------
    vol_points : float
        Implied volatility in volatility points (60 for 60%).
    tenor_days : float
        The swap's life in calendar days.
    rate, cap : float
        Fee per option as a fraction of the underlying, and its cap as a fraction of the option's price.
    """
    return _strip_fee(float(vol_points), float(tenor_days), float(rate), float(cap))


def delivery_fee(move: float, tenor_days: float = 30, rate: float = DELIVERY_RATE) -> float:
    """Settlement fee of the strip, variance points per unit notional, for a price move ``S_T / S_0``.

    The options between ``S_0`` and ``S_T`` expire in the money and each pays ``rate`` of the
    underlying: ``1e4 * 2 / T * rate * |S_T / S_0 - 1|`` (3.7 variance points for a 10% move at 30 days).
    """
    return VAR_POINTS * 2.0 / (tenor_days / 365.0) * rate * abs(float(move) - 1.0)


# -- rules ----------------------------------------------------------------------------------------
def signal_weight(rule: str, implied_var, forecast_var, *, direction: str = "short", margin: float = 0.3,
                  long_margin: float = 0.5, cap: float = 2.0, scale: float | None = None,
                  max_multiple: float = 3.0):
    """The signed multiplier of a decision rule (scalars or arrays; NaN where the forecast is missing).

    ``x`` is the edge ratio: implied over forecast variance for a short (``direction = "short"``),
    forecast over implied for a long. Rules, the same for every forecaster:

    * ``always``: 1 (the baseline; needs no forecast).
    * ``gate``: 1 when ``x > 1 + margin``, else 0.
    * ``band`` (long/short, ignores ``direction``): sell 1 when implied > ``(1 + margin)`` forecast,
      buy 1 when forecast > ``(1 + long_margin)`` implied, else 0.
    * sized, ``min(scale * raw, max_multiple)``: ``ratio`` (raw ``x``), ``premium`` (raw
      ``clip(x - 1, 0, cap)``), ``voltarget`` (raw ``1 / F``: a swap's P&L scales with the variance
      level) and ``ratio_vt`` (raw ``x / F``); ``scale`` is the normaliser fitted on the selection period.

    The sign is then ``+`` for a short and ``-`` for a long (``band`` carries its own sign).
    """
    if rule not in RULES:
        raise ValueError(f"rule {rule!r}: choose one of {list(RULES)}")
    iv2 = np.asarray(implied_var, dtype="float64")
    fc = np.asarray(forecast_var, dtype="float64")
    sign = 1.0 if direction == "short" else -1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        x = iv2 / fc if direction == "short" else fc / iv2
        if rule == "always":
            return sign * np.where(np.isfinite(iv2), 1.0, np.nan)[()]
        if rule == "band":
            sell = iv2 / fc > 1.0 + margin
            buy = fc / iv2 > 1.0 + long_margin
            w = np.where(sell, 1.0, np.where(buy, -1.0, 0.0))
            return np.where(np.isfinite(iv2 / fc), w, np.nan)[()]
        if rule == "gate":
            w = np.where(x > 1.0 + margin, 1.0, 0.0)
        else:
            raw = {"ratio": x, "premium": np.clip(x - 1.0, 0.0, cap), "voltarget": 1.0 / fc,
                   "ratio_vt": x / fc}[rule]
            if scale is None:
                raise ValueError(f"rule {rule!r} is sized: it needs its normaliser (scale)")
            w = np.minimum(scale * raw, max_multiple)
        return sign * np.where(np.isfinite(x) & (fc > 0), w, np.nan)[()]


def normaliser(raw, max_multiple: float = 3.0) -> float:
    """The scale ``c`` with ``mean(min(c * |raw|, max_multiple)) = 1`` (always-sell's mean multiplier).

    ``raw`` are a sized rule's raw values on the selection period's decision days; missing values
    (no forecast) count as 0, so the sized book trades as much as always-sell on average. NaN when
    the cap makes a mean of 1 unreachable. Bisection (the mean is monotone in ``c``).
    """
    r = np.nan_to_num(np.abs(np.asarray(raw, dtype="float64")), nan=0.0)
    if (r > 0).mean() * max_multiple < 1.0:
        return math.nan
    lo, hi = 0.0, 1.0
    while np.minimum(hi * r, max_multiple).mean() < 1.0:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(mid * r, max_multiple).mean() < 1.0 else (lo, mid)
    return 0.5 * (lo + hi)


# -- metrics --------------------------------------------------------------------------------------
def _stress(pnl: pd.Series) -> dict:
    from lstm_strategies.data.calendar import STRESS_WINDOWS

    out = {}
    days = pnl.index.tz_localize(None) if pnl.index.tz is not None else pnl.index
    for name in STRESS:
        a, b = (pd.Timestamp(t) for t in STRESS_WINDOWS[name])
        if len(days) and days[0] <= a and days[-1] >= b:
            out[name] = float(pnl.to_numpy()[(days >= a) & (days <= b)].sum())
    return out


def mtm_metrics(daily: pd.DataFrame, trades: pd.DataFrame, days_per_year: float = 365.0) -> dict:
    """The metrics of a book's daily mark-to-market P&L and of its trades, in the P&L's unit.

    Parameters
    ----------
    daily : DataFrame
        One row per calendar day of the scored period: ``pnl`` (the day's mark-to-market P&L),
        ``gross`` (notional live after the day's marks) and optionally ``margin`` (collateral held).
    trades : DataFrame
        One row per decision day: ``w`` (signed multiplier, 0 when nothing was opened) and, for
        settled trades, ``payoff`` (a full-notional trade's P&L times ``|w|``, NaN while open).

    Returns
    -------
    dict
        ``sharpe_mtm`` and ``sortino_mtm`` (annualised, daily P&L), ``pnl_per_year``, ``pnl_per_trade``,
        ``hit_rate``, ``days_traded`` (share of decision days that opened a trade), ``days_in_market``,
        ``mean_multiple``, ``worst_30d`` (worst sum over 30 consecutive days), ``worst_30d_over_annual_pnl``
        (None when the annual P&L is not positive: the ratio is undefined), ``worst_trade``,
        ``cvar_95_mtm`` (mean of the worst 5% of days), ``max_drawdown`` (of the cumulative P&L),
        ``peak_margin``, ``stress`` (P&L summed over each window the period covers) and counts.
    """
    x = daily["pnl"].astype("float64")
    n = len(x)
    out = {**_pnl_metrics(x, days_per_year), **_trade_metrics(trades),
           "days_in_market": float((daily["gross"] > 1e-12).mean()) if n else None,
           "peak_margin": float(daily["margin"].max()) if n and "margin" in daily else None, "days": int(n)}
    return {key: out[key] for key in MTM_KEYS}


#: the keys of :func:`mtm_metrics`, in the order metrics.json has always shown them
MTM_KEYS = ("sharpe_mtm", "sortino_mtm", "pnl_per_year", "pnl_per_trade", "hit_rate", "days_traded", "days_in_market",
            "mean_multiple", "worst_30d", "worst_30d_over_annual_pnl", "worst_trade", "cvar_95_mtm", "max_drawdown",
            "peak_margin", "stress", "trades", "trades_settled", "trades_open_at_end", "decision_days", "days")


def _pnl_metrics(x: pd.Series, days_per_year: float) -> dict:
    """The daily P&L's part of :func:`mtm_metrics`: risk-adjusted returns, tails, drawdown, stress windows."""
    n = len(x)
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    down = math.sqrt(float(np.mean(np.minimum(x.to_numpy(), 0.0) ** 2))) if n else math.nan
    annual = float(x.mean() * days_per_year) if n else math.nan
    worst30 = float(x.rolling(30).sum().min()) if n >= 30 else math.nan
    q = x.quantile(0.05) if n else math.nan
    root = math.sqrt(days_per_year)
    cum = x.cumsum()
    return {
        "sharpe_mtm": float(x.mean() / sd * root) if sd and sd > 0 else None,
        "sortino_mtm": float(x.mean() / down * root) if down and down > 0 else None,
        "pnl_per_year": annual,
        "worst_30d": worst30,
        "worst_30d_over_annual_pnl": -worst30 / annual if annual > 0 and worst30 == worst30 else None,
        "cvar_95_mtm": float(x[x <= q].mean()) if n else None,
        "max_drawdown": float((cum - cum.cummax()).min()) if n else None,
        "stress": _stress(x),
    }


def _trade_metrics(trades: pd.DataFrame) -> dict:
    """The trades' part of :func:`mtm_metrics`: per settled trade, hit rate, multiples, counts."""
    w = trades["w"] if len(trades) else pd.Series(dtype="float64")
    done = trades[(trades["w"] != 0) & trades["payoff"].notna()] if len(trades) else trades
    settled = len(done) > 0
    return {
        "pnl_per_trade": float(done["payoff"].mean()) if settled else None,
        "hit_rate": float((done["payoff"] > 0).mean()) if settled else None,
        "days_traded": float((w != 0).mean()) if len(w) else None,
        "mean_multiple": float(w.abs().mean()) if len(w) else None,
        "worst_trade": float(done["payoff"].min()) if settled else None,
        "trades": int((w != 0).sum()), "trades_settled": int(len(done)),
        "trades_open_at_end": int(((w != 0) & trades["payoff"].isna()).sum()) if len(trades) else 0,
        "decision_days": int(len(w)),
    }
