"""Prototype: a ladder of 30-day variance swaps against Deribit DVOL, driven by volatility forecasts.

Pure pandas/numpy functions (no Backtrader). Units and conventions, used everywhere:

* Days. One row per UTC day ``d`` of the panel (``01_forecasts.py``). The forecast origin is day
  ``d``'s last hourly bar (it closes at 24:00 UTC); DVOL's close of day ``d`` is known at that same
  instant. A swap "opened on day d" is struck at the end of day ``d`` and covers days d+1 .. d+30
  (the 720 hourly bars opened in (d 23:00, d+30 23:00]; the first bar of d+1 carries the return from
  day d's last close). It settles at the end of day d+30.
* Variance points. Annualised variance in (vol points)^2: DVOL 60 -> 3600. Realized variance of a
  swap: ``365/30 * sum of squared hourly log returns * 1e4``. A forecast ``f`` of the 30-day sum
  (fraction) is ``f * 365/30 * 1e4`` variance points.
* Notional. ``w`` is the signed number of base swaps opened on a day: w > 0 sells variance, w < 0
  buys it. One base swap pays ``K - RV`` variance points per unit of variance notional (short).
  In the ladder each day's swap has notional ``w_d / 30`` (a full ladder of w=1 has 1 unit live);
  in ``roll`` mode a swap of notional ``w_d`` is opened every 30 days only.
* Strike with costs. The short sells at ``(DVOL - spread)^2``, the long buys at
  ``(DVOL + spread)^2`` (spread = 1.25 vol points); option fees (:func:`strip_fee`) are paid at
  entry and a delivery fee (:func:`delivery_fee`) at settlement, both per unit of |notional|.
* Marking. Day ``t = d + k`` (k = 0..30): value of a short
  ``V_k = w [K - (RVpts_{d+1..d+k} + IV_t^2 (30 - k)/30)]`` with ``RVpts_{..}`` the realized part
  (365/30 * 1e4 * sum of the daily realized variances so far), IV_t the DVOL close of day t (mid).
  The daily MTM P&L is ``V_k - V_{k-1}`` (``V_{-1} = 0``); so day d books the entry cost
  ``w (K - IV_d^2)`` (the spread) minus the fee, and the P&L summed over the life equals the
  settled payoff ``w (K - RV) - |w| fees``. Discounting is ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

HERE = Path(__file__).resolve().parent
TENOR = 30
ANN = 365.0 / TENOR * 1e4          # 30-day sum of squared returns (fraction) -> variance points
SPREAD = 1.25                      # replication spread, vol points
FEE_RATE = 0.0003                  # Deribit option taker fee, fraction of the underlying per option
FEE_CAP = 0.125                    # ... capped at 12.5% of the option price
DELIVERY_RATE = 0.00015            # Deribit option delivery fee, fraction of the underlying
#: forecaster label -> panel column (``lstm`` = the 2020-trained ensemble on 2021 origins, the bundled
#: model trained to 2021-12-31 from 2022 on: every forecast is out of sample)
FORECASTERS = {"lstm": "f_lstm_sel", "log_har": "f_log_har", "ewma": "f_ewma", "har_iv": "f_har_iv"}
STRESS = {"FTX 2022-11": ("2022-11-06", "2022-11-30"), "2024-08 carry unwind": ("2024-08-01", "2024-08-15"),
          "2025-10 liquidations": ("2025-10-09", "2025-10-25")}
SELECTION = ("2021-03-24", "2022-12-01")      # origins whose swaps settle by 2022-12-31
OOS = ("2023-01-01", "2026-03-07")            # origins whose swaps settle by 2026-04-06 (last DVOL day)


# ----------------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------------
def load_panel(asset: str) -> pd.DataFrame:
    """The daily panel of ``01_forecasts.py`` with variance-point columns added.

    ``iv2`` = DVOL^2, ``rvd`` = the day's realized variance in variance points of a 30-day swap
    (365/30 * 1e4 * rv_day: the day's contribution to the swap's annualised RV), ``rv`` = the
    realized variance of the swap opened that day, ``F_<name>`` = forecasts in variance points.
    """
    p = pd.read_parquet(HERE / "data" / f"panel_{asset}.parquet")
    assert (p.index.to_series().diff().dropna() == pd.Timedelta("1D")).all(), "panel days must be contiguous"
    p["iv2"] = p["dvol"] ** 2
    p["rvd"] = p["rv_day"] * ANN
    p["rv"] = p["rv30"] * ANN
    for name, col in FORECASTERS.items():
        p[f"F_{name}"] = p[col] * ANN
    return p


# ----------------------------------------------------------------------------------------------
# costs
# ----------------------------------------------------------------------------------------------
def strip_fee(vol_pts, tenor_days: int = TENOR, rate: float = FEE_RATE, cap: float = FEE_CAP,
              k_lo: float = 0.2, k_hi: float = 5.0, n: int = 4000) -> np.ndarray:
    r"""Entry option fee of a replicated variance swap, in variance points per unit of variance notional.

    The static replication (Demeterfi, Derman, Kamal & Zou 1999) holds ``2 dK / (T K^2)`` out-of-the-money
    options per strike (puts below the forward, calls above) for one unit of annualised variance
    (fraction). Each option pays Deribit's taker fee ``min(rate * S, cap * price)``; prices are
    Black-Scholes at the flat DVOL vol (no smile), S = F = 1, strikes ``k_lo .. k_hi``:

    .. math:: \text{fee} = 10^4 \cdot \frac{2}{T}\int \min(r, c\,P(K))\,\frac{dK}{K^2}

    Far wings cost little: the 12.5% cap makes their fee proportional to their tiny price.
    Roughly 1 var point per vol point of DVOL at 30 days (e.g. 57 var pts at DVOL 60, about
    0.5 vol point of strike); about twice the fee of a vega-equivalent ATM straddle.
    """
    vol = np.atleast_1d(np.asarray(vol_pts, dtype="float64")) / 100.0
    T = tenor_days / 365.0
    K = np.linspace(k_lo, k_hi, n)
    sig = vol[:, None] * math.sqrt(T)
    d1 = (-np.log(K)[None, :] + 0.5 * sig**2) / sig
    d2 = d1 - sig
    call = ndtr(d1) - K[None, :] * ndtr(d2)
    put = K[None, :] * ndtr(-d2) - ndtr(-d1)
    otm = np.where(K[None, :] >= 1.0, call, put)
    integrand = np.minimum(rate, cap * otm) / K[None, :] ** 2
    dk = K[1] - K[0]
    fee = 1e4 * 2.0 / T * (integrand.sum(axis=1) - 0.5 * (integrand[:, 0] + integrand[:, -1])) * dk
    return fee if np.ndim(vol_pts) else fee[0]


def delivery_fee(move, tenor_days: int = TENOR, rate: float = DELIVERY_RATE) -> np.ndarray:
    """Settlement fee of the strip, variance points per unit notional, for a price move ``S_T/S_0``.

    The options between S_0 and S_T expire in the money; each pays ``rate * S_T`` (the 12.5% cap
    only binds within 0.1% of the strike, ignored): ``1e4 * 2/T * rate * |S_T/S_0 - 1|``,
    e.g. 3.7 variance points for a 10% move.
    """
    return 1e4 * 2.0 / (tenor_days / 365.0) * rate * np.abs(np.asarray(move, dtype="float64") - 1.0)


# ----------------------------------------------------------------------------------------------
# the book
# ----------------------------------------------------------------------------------------------
@dataclass
class Book:
    daily: pd.DataFrame     # per day: pnl, gross (|notional| live), vega, margin
    trades: pd.DataFrame    # per swap: w, K, rv, payoff (net, per base notional x w), fees


def run_book(p: pd.DataFrame, w: pd.Series, start: str, end: str, mode: str = "ladder",
             spread: float = SPREAD, fees: bool = True, shock_up: float = 1.5,
             shock_down: float = 0.7) -> Book:
    """Daily mark-to-market P&L of the book of swaps opened on days ``start .. end`` (inclusive).

    ``w`` (indexed by day) is the signed multiplier per origin day (NaN = 0). In ``ladder`` mode each
    day opens ``w_d / 30``; in ``roll`` mode only ``start, start + 30, ...`` open, each ``w_d``. Every
    swap must settle inside the panel. The daily frame runs from ``start`` to the last settlement
    (``end + 30``), 0 P&L on days with nothing live.

    ``margin`` is a stress-scenario proxy: the loss of the live book if implied vol jumped to
    ``shock_up`` x (shorts) or ``shock_down`` x (longs) its level on the remaining life.
    """
    days = p.index
    i0, i1 = days.get_loc(pd.Timestamp(start)), days.get_loc(pd.Timestamp(end))
    if i1 + TENOR >= len(days):
        raise ValueError("a swap would settle after the panel's last day")
    origins = np.arange(i0, i1 + 1)
    if mode == "roll":
        origins = origins[::TENOR]
        scale = 1.0
    elif mode == "ladder":
        scale = 1.0 / TENOR
    else:
        raise ValueError(mode)
    ww = w.reindex(days).fillna(0.0).to_numpy()[origins]
    iv = p["dvol"].to_numpy()
    iv2 = iv**2
    if not np.isfinite(iv[i0:i1 + TENOR + 1]).all():
        raise ValueError("DVOL missing inside the book's life")
    rvd = p["rvd"].to_numpy()
    close = p["close"].to_numpy()
    side = np.sign(ww)
    K = (iv[origins] - side * spread) ** 2
    entry_fee = strip_fee(iv[origins]) if fees else np.zeros(len(origins))
    move = close[origins + TENOR] / close[origins]
    exit_fee = delivery_fee(move) if fees else np.zeros(len(origins))
    k = np.arange(TENOR + 1)
    idx = origins[:, None] + k[None, :]                       # day of each mark
    realized = np.concatenate([np.zeros((len(origins), 1)), np.cumsum(rvd[idx[:, 1:]], axis=1)], axis=1)
    accrued = realized + iv2[idx] * (TENOR - k)[None, :] / TENOR
    notional = ww * scale
    value = notional[:, None] * (K[:, None] - accrued)
    value -= (np.abs(notional) * entry_fee)[:, None]          # paid at entry, so booked on day d
    value[:, TENOR] -= np.abs(notional) * exit_fee             # paid at settlement
    pnl_k = np.diff(np.concatenate([np.zeros((len(origins), 1)), value], axis=1), axis=1)
    n_days = i1 + TENOR - i0 + 1
    pnl = np.zeros(n_days)
    np.add.at(pnl, (idx - i0).ravel(), pnl_k.ravel())
    # exposure on each day after that day's marks: swaps with k = 0..29 are live
    live = idx[:, :TENOR] - i0
    gross = np.zeros(n_days)
    np.add.at(gross, live.ravel(), np.repeat(np.abs(notional), TENOR))
    rem = (TENOR - k[:TENOR]) / TENOR
    vega = np.zeros(n_days)
    np.add.at(vega, live.ravel(), (notional[:, None] * 2.0 * iv[idx[:, :TENOR]] * rem[None, :]).ravel())
    shock = np.where(notional[:, None] > 0, shock_up**2 - 1.0, 1.0 - shock_down**2)
    margin = np.zeros(n_days)
    np.add.at(margin, live.ravel(),
              (np.abs(notional)[:, None] * shock * iv2[idx[:, :TENOR]] * rem[None, :]).ravel())
    daily = pd.DataFrame({"pnl": pnl, "gross": gross, "vega": vega, "margin": margin},
                         index=days[i0: i1 + TENOR + 1])
    rv = p["rv"].to_numpy()[origins]
    trades = pd.DataFrame({"w": ww, "dvol": iv[origins], "K": K, "rv": rv, "entry_fee": entry_fee,
                           "exit_fee": exit_fee,
                           "payoff": ww * (K - rv) - np.abs(ww) * (entry_fee + exit_fee)},
                          index=days[origins])
    return Book(daily, trades)


# ----------------------------------------------------------------------------------------------
# rules: each returns the signed multiplier w per origin day (+ sells variance, - buys it)
# ----------------------------------------------------------------------------------------------
def ratio(p: pd.DataFrame, fc: str) -> pd.Series:
    """DVOL^2 / forecast (both annualised variance): > 1 when implied exceeds the forecast."""
    return p["iv2"] / p[f"F_{fc}"]


def rule_always(p, fc=None, **_) -> pd.Series:
    return pd.Series(1.0, index=p.index).where(p["iv2"].notna())


def rule_gate(p, fc, margin: float = 0.0, **_) -> pd.Series:
    """Sell one base swap when DVOL^2 > (1 + margin) * forecast, else nothing."""
    x = ratio(p, fc)
    return (x > 1.0 + margin).astype(float).where(x.notna())


def rule_ratio(p, fc, **_) -> pd.Series:
    """Notional proportional to DVOL^2 / forecast (before the normalising constant)."""
    return ratio(p, fc)


def rule_premium(p, fc, cap: float = 2.0, **_) -> pd.Series:
    """Notional proportional to the premium (DVOL^2 - forecast) / forecast, floored at 0, capped."""
    return (ratio(p, fc) - 1.0).clip(lower=0.0, upper=cap)


def rule_voltarget(p, fc, **_) -> pd.Series:
    """Notional proportional to 1 / forecast: the standard deviation of a swap's payoff scales with
    the variance level, so this targets a constant P&L volatility per swap (forecast as the scale)."""
    return 1.0 / p[f"F_{fc}"]


def rule_ratio_vt(p, fc, **_) -> pd.Series:
    """Ratio sizing on a vol-targeted base: (DVOL^2 / forecast) / forecast."""
    return ratio(p, fc) / p[f"F_{fc}"]


def rule_band(p, fc, margin: float = 0.0, band: float = 0.25, **_) -> pd.Series:
    """Long/short: sell when DVOL^2 > (1 + margin) F, buy when F > (1 + band) DVOL^2, else flat."""
    x = ratio(p, fc)
    w = np.where(x > 1.0 + margin, 1.0, np.where(1.0 / x > 1.0 + band, -1.0, 0.0))
    return pd.Series(w, index=p.index).where(x.notna())


def rule_long(p, fc, band: float = 0.25, **_) -> pd.Series:
    """Long only: buy one base swap when F > (1 + band) DVOL^2."""
    x = ratio(p, fc)
    return pd.Series(np.where(1.0 / x > 1.0 + band, -1.0, 0.0), index=p.index).where(x.notna())


RULES = {"always": rule_always, "gate": rule_gate, "ratio": rule_ratio, "premium": rule_premium,
         "voltarget": rule_voltarget, "ratio_vt": rule_ratio_vt, "band": rule_band, "long": rule_long}
#: rules whose raw weights are rescaled so that their mean |w| equals always-sell's (1) on the
#: selection period's origins (the constant is then frozen for the out-of-sample period)
SIZED = {"ratio", "premium", "voltarget", "ratio_vt"}


LEV_CAP = 3.0  # a sized rule never opens more than 3 base swaps a day (fixed a priori, not tuned)


def normaliser(raw: pd.Series, start: str, end: str, lev_cap: float = LEV_CAP) -> float:
    """Constant c with mean(min(c * |raw|, lev_cap)) = 1 over origins ``start .. end``.

    NaN origins (no forecast) count as 0, so the sized book has the same average notional as
    always-sell over the same origins. Solved by bisection (monotone in c).
    """
    r = raw.loc[start:end].abs().fillna(0.0).to_numpy()
    if (r > 0).mean() * lev_cap < 1.0:
        return np.nan  # cannot reach a mean of 1 under the cap
    lo, hi = 0.0, 1.0
    while np.minimum(hi * r, lev_cap).mean() < 1.0:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.minimum(mid * r, lev_cap).mean() < 1.0 else (lo, mid)
    return 0.5 * (lo + hi)


def weights(p: pd.DataFrame, rule: str, fc: str | None, params: dict | None = None,
            norm: float | None = None, lev_cap: float = LEV_CAP) -> pd.Series:
    """Signed multipliers of ``rule`` with ``fc``; sized rules are ``min(norm * raw, lev_cap)``."""
    w = RULES[rule](p, fc, **(params or {}))
    if rule in SIZED:
        if norm is None:
            raise ValueError(f"rule {rule!r} needs the selection-period normaliser")
        w = (w * norm).clip(upper=lev_cap)
    return w


def sized_weights(p: pd.DataFrame, rule: str, fc: str | None, params: dict | None = None,
                  sel: tuple[str, str] = SELECTION) -> tuple[pd.Series, float | None]:
    """:func:`weights` with the normaliser fitted on the selection origins (returned too)."""
    norm = None
    if rule in SIZED:
        norm = normaliser(RULES[rule](p, fc, **(params or {})), *sel)
    return weights(p, rule, fc, params, norm), norm


# ----------------------------------------------------------------------------------------------
# metrics
# ----------------------------------------------------------------------------------------------
def metrics(book: Book, capital: float | None = None, stress: dict = STRESS) -> dict:
    """Metrics of a book's daily MTM P&L (variance points) and of its trades."""
    x = book.daily["pnl"]
    t = book.trades[book.trades["w"] != 0]
    sd = x.std(ddof=1)
    down = math.sqrt(np.mean(np.minimum(x.to_numpy(), 0.0) ** 2))
    ann = x.mean() * 365.0
    roll30 = x.rolling(30).sum()
    worst30 = float(roll30.min())
    q = x.quantile(0.05)
    m = {"sharpe": x.mean() / sd * math.sqrt(365) if sd > 0 else np.nan,
         "sortino": x.mean() / down * math.sqrt(365) if down > 0 else np.nan,
         "pnl_yr": ann,
         "pnl_trade": float(t["payoff"].mean()) if len(t) else np.nan,
         "hit": float((t["payoff"] > 0).mean()) if len(t) else np.nan,
         "trade_share": float((book.trades["w"] != 0).mean()),
         "in_market": float((book.daily["gross"] > 1e-12).mean()),
         "mean_w": float(book.trades["w"].abs().mean()),
         "worst30": worst30,
         "loss_ratio": -worst30 / ann if ann > 0 else np.inf,
         "worst_trade": float(t["payoff"].min()) if len(t) else np.nan,
         "cvar95": float(x[x <= q].mean()),
         "n_trades": int(len(t)), "days": int(len(x))}
    if capital:
        m["ret_yr_cap"] = ann / capital
        m["worst30_cap"] = worst30 / capital
        m["maxdd_cap"] = float((x.cumsum() - x.cumsum().cummax()).min()) / capital
        m["peak_margin_cap"] = float(book.daily["margin"].max()) / capital
    for name, (a, b) in stress.items():
        if x.index[0] <= pd.Timestamp(a) and x.index[-1] >= pd.Timestamp(b):
            m[f"stress: {name}"] = float(x.loc[a:b].sum())
    return m


def sharpe_test(a: pd.Series, b: pd.Series, reps: int = 1000, block: int = 10, seed: int = 0) -> dict:
    """Sharpe(a) - Sharpe(b) (annualised, 365) on paired daily P&L, stationary-bootstrap two-sided p.

    The algorithm of ``lstm_strategies.reports.sharpe_difference`` (arch ``StationaryBootstrap``, mean
    block ``block`` days, p = share of |centred draws| >= |estimate|, floored at 1/reps), except that
    draws in which one book has zero variance (a rule that trades a handful of days resampled into
    all-zero P&L) are dropped instead of turning every comparison into NaN: in the project function
    one NaN draw makes the centred draws all NaN and the p-value collapses to its 1/reps floor.
    ``n_valid`` reports how many draws were kept.
    """
    from arch.bootstrap import StationaryBootstrap

    pair = pd.concat([a, b], axis=1).dropna().to_numpy()
    if len(pair) < 30 or pair[:, 0].std() == 0 or pair[:, 1].std() == 0:
        return {"diff": np.nan, "pvalue": np.nan, "n_valid": 0}

    def diff(x: np.ndarray) -> float:
        sd = x.std(axis=0, ddof=1)
        if (sd == 0).any():
            return np.nan
        s = x.mean(axis=0) / sd
        return float((s[0] - s[1]) * math.sqrt(365))

    est = diff(pair)
    bs = StationaryBootstrap(block, pair, seed=seed)
    draws = np.array([diff(d[0][0]) for d in bs.bootstrap(reps)])
    draws = draws[np.isfinite(draws)]
    centred = draws - draws.mean()
    p = float(np.mean(np.abs(centred) >= abs(est)))
    return {"diff": est, "pvalue": max(p, 1.0 / reps), "n_valid": int(len(draws))}


def capital_for(p: pd.DataFrame, start: str, end: str, pct_per_vol_point: float = 0.005) -> float:
    """Capital per unit of variance notional: a freshly opened full-notional swap's vega (2 * DVOL per
    vol point, at the selection period's median DVOL) costs ``pct_per_vol_point`` of capital."""
    sigma = float(p.loc[start:end, "dvol"].median())
    return 2.0 * sigma / pct_per_vol_point


# ----------------------------------------------------------------------------------------------
# secondary: delta-hedged short ATM straddle priced at DVOL
# ----------------------------------------------------------------------------------------------
HEDGE_COST = 0.001 + 0.0005     # commission + slippage, fraction of the traded underlying value
HEDGE_BAND = 0.05               # rehedge when |target delta - hedge| > 5% of the straddle's underlying


def straddle_trades(p: pd.DataFrame, w: pd.Series, start: str, end: str, band: float = HEDGE_BAND,
                    hedge_cost: float = HEDGE_COST, spread: float = SPREAD) -> pd.DataFrame:
    """Per-origin decomposition of a short 30-day ATM straddle, delta-hedged at each day's close.

    Opened at day d's close: strike = spot S0 (the origin bar's close), sold at Black-Scholes with
    vol ``DVOL_d - spread`` (the spread as for the swap); Deribit fees ``min(0.03% S0, 12.5% of the
    leg price)`` per leg. Hedge: at the close of days d .. d+29 the target is the straddle's delta
    at that day's DVOL and remaining life (``pricing.delta``, no rate), held long against the short;
    it is traded to the target only when it is more than ``band`` underlying units away. Costs
    ``hedge_cost`` x traded value, the unwind at expiry included. Settlement: ``|S_T - S0|`` plus the
    delivery fee ``min(0.015% S_T, 12.5% of intrinsic)``. Every column is a fraction of S0 per straddle
    on one unit of underlying; ``w`` (>= 0) only scales the book (see :func:`straddle_summary`).
    """
    from lstm_strategies.pricing import delta, price

    days = p.index
    i0, i1 = days.get_loc(pd.Timestamp(start)), days.get_loc(pd.Timestamp(end))
    origins = np.arange(i0, i1 + 1)
    ww = w.reindex(days).fillna(0.0).to_numpy()[origins]
    if (ww < 0).any():
        raise ValueError("straddle_trades models short straddles only")
    S = p["close"].to_numpy()[origins[:, None] + np.arange(TENOR + 1)[None, :]]
    vol = p["dvol"].to_numpy()[origins[:, None] + np.arange(TENOR + 1)[None, :]] / 100.0
    S0 = S[:, 0]
    T0 = TENOR / 365.0
    sell_vol = (vol[:, 0] * 100.0 - spread) / 100.0
    call = price("call", S0, S0, T0, sell_vol)
    put = price("put", S0, S0, T0, sell_vol)
    fees = np.minimum(FEE_RATE * S0, FEE_CAP * call) + np.minimum(FEE_RATE * S0, FEE_CAP * put)
    h = np.zeros(len(origins))
    gain = np.zeros(len(origins))
    cost = np.zeros(len(origins))
    n_trades = np.zeros(len(origins))
    for k in range(TENOR):
        tau = (TENOR - k) / 365.0
        target = delta("call", S[:, k], S0, tau, vol[:, k]) + delta("put", S[:, k], S0, tau, vol[:, k])
        move = np.abs(target - h) > band
        cost += np.where(move, np.abs(target - h) * S[:, k] * hedge_cost, 0.0)
        n_trades += move
        h = np.where(move, target, h)
        gain += h * (S[:, k + 1] - S[:, k])
    ST = S[:, TENOR]
    cost += np.abs(h) * ST * hedge_cost                      # unwind at expiry
    intrinsic = np.abs(ST - S0)
    delivery = np.minimum(DELIVERY_RATE * ST, FEE_CAP * intrinsic)
    out = pd.DataFrame({"w": ww, "premium": (call + put) / S0, "option_fees": fees / S0,
                        "payoff": intrinsic / S0, "hedge_gain": gain / S0, "hedge_cost": cost / S0,
                        "delivery_fee": delivery / S0, "hedge_trades": n_trades}, index=days[origins])
    out["net"] = (out["premium"] - out["option_fees"] - out["payoff"] + out["hedge_gain"]
                  - out["hedge_cost"] - out["delivery_fee"])
    return out


def straddle_summary(tr: pd.DataFrame, mode: str = "ladder") -> dict:
    """Per-year totals of a ladder of straddles (each origin w/30 units of underlying notional),
    in percent of the underlying notional, and per-trade means of the traded origins (percent of S0)."""
    years = (len(tr) + TENOR) / 365.0
    scale = tr["w"] / TENOR
    comp = ["premium", "option_fees", "payoff", "hedge_gain", "hedge_cost", "delivery_fee", "net"]
    out = {f"{c}_pct_yr": float((tr[c] * scale).sum() / years * 100) for c in comp}
    traded = tr[tr["w"] > 0]
    out |= {f"{c}_pct_trade": float(traded[c].mean() * 100) for c in comp}
    out["hit"] = float((traded["net"] > 0).mean())
    out["hedge_trades_per_straddle"] = float(traded["hedge_trades"].mean())
    out["n_traded"] = int(len(traded))
    return out
