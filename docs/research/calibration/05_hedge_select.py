"""Step 5 (selection only, data up to 2022-12-31): hedging band policies for the short straddle ladder.

Straddles opened 2021-03-24 .. 2022-12-01 (each expires by 2022-12-31), BTC and ETH, hourly bars
(``straddle_sim``). Families (``bands.BandPolicy``):

* ``fixed_daily``: 0.3.0's rule (band b of the units, at the day's close, to the target); b = 0.05 is today's.
* ``fixed_bar``: the same band checked every hour.
* ``ww_iv_daily`` / ``ww_iv_bar``: Whalley-Wilmott half-width at implied vol, to the band's edge.
* ``ww_iv_bar_target``: the WW half-width, but trading to the target.
* ``ww_fc_bar``: WW with delta and gamma at a forecast's volatility (the calibrated log-HAR's 30-day forecast,
  chosen in step 3; bar-only, data <= 2021 for its design).

Per policy: mean hedge cost per straddle, the standard deviation of the straddles' net P&L (``sd``), the
always-short ladder's daily P&L standard deviation (``book_sd``), all in % of S0. The frontier is ``sd`` against
hedge cost. Rule fixed before looking: the family with the largest mean (BTC, ETH) reduction of ``sd`` against
``fixed_daily`` b=0.05 at equal hedge cost (linear interpolation along each family's frontier); its parameter
is the one whose mean hedge cost over both assets equals today's (interpolated in log gamma_r, rounded to two
significant digits).

Writes out/hedge_frontier.csv, out/hedge_choice.json.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from bands import BandPolicy
from common import ASSETS, CACHE, DECISION_SELECTION, OUT, level_factor, load_cache
from straddle_sim import book_daily, hourly_grid, simulate

GAMMAS = [1, 3, 10, 30, 100, 300, 1000, 3000]
FAMILIES = {
    "fixed_daily": [BandPolicy("fixed", band=b) for b in [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]],
    "fixed_bar": [BandPolicy("fixed", band=b, check="bar") for b in [0.05, 0.1, 0.15, 0.2, 0.3, 0.4]],
    "ww_iv_daily": [BandPolicy("ww", risk_aversion=g) for g in GAMMAS],
    "ww_iv_bar": [BandPolicy("ww", risk_aversion=g, check="bar") for g in GAMMAS],
    "ww_iv_bar_target": [BandPolicy("ww", risk_aversion=g, check="bar", to="target") for g in GAMMAS],
    "ww_fc_bar": [BandPolicy("ww", risk_aversion=g, check="bar", vol="forecast") for g in GAMMAS],
}
TODAY = ("fixed_daily", 0.05)


def forecast_vol(c: dict) -> np.ndarray:
    """The calibrated log-HAR's 30-day forecast as an annualised vol (step 3's choice: expanding window,
    the 1-day horizon's ratio of means over 180 days, full strength)."""
    F = np.load(CACHE / f"windows_{c['asset']}.npz")["log_har|expanding"]
    Fc = F * level_factor(c["ts"], c["Y"], F, c["ends"], 180, 1.0, source="h1")
    return np.sqrt(Fc[:, 2] * 365.0 / 30.0)


def param(p: BandPolicy) -> float:
    return p.band if p.kind == "fixed" else p.risk_aversion


def run(days: pd.DatetimeIndex, families: dict = FAMILIES) -> pd.DataFrame:
    rows = []
    for asset in ASSETS:
        c = load_cache(asset)
        c["asset"] = asset
        g = hourly_grid(c, {"fvol": forecast_vol(c)})
        for fam, pols in families.items():
            for p in pols:
                tr, d, dl = simulate(g, days, p, hedge_vol="fvol" if p.vol == "forecast" else "iv")
                book = book_daily(d, dl, np.ones(len(days)), days)
                rows.append({"asset": asset, "family": fam, "param": param(p), "cost": tr["hedge_cost"].mean() * 100,
                             "sd": tr["net"].std() * 100, "mean": tr["net"].mean() * 100,
                             "book_sd": book.std() * 100, "trades": tr["hedge_trades"].mean(),
                             "hedge_gain": tr["hedge_gain"].mean() * 100})
    return pd.DataFrame(rows)


def at_cost(fr: pd.DataFrame, cost: float, col: str = "sd") -> float:
    """``col`` interpolated along a family's frontier at ``cost`` (NaN outside its range)."""
    f = fr.sort_values("cost")
    if cost < f["cost"].min() or cost > f["cost"].max():
        return np.nan
    return float(np.interp(cost, f["cost"], f[col]))


def equal_cost_table(t: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for asset in ASSETS:
        a = t[t["asset"] == asset]
        today = a[(a["family"] == TODAY[0]) & (a["param"] == TODAY[1])].iloc[0]
        for fam in FAMILIES:
            f = a[a["family"] == fam]
            sd = at_cost(f, today["cost"])
            bsd = at_cost(f, today["cost"], "book_sd")
            rows.append({"asset": asset, "family": fam, "today_cost": today["cost"], "today_sd": today["sd"],
                         "sd_at_cost": sd, "sd_reduction": 1 - sd / today["sd"],
                         "book_sd_reduction": 1 - bsd / today["book_sd"]})
    return pd.DataFrame(rows)


def choose_gamma(t: pd.DataFrame, family: str) -> float:
    today = t[(t["family"] == TODAY[0]) & (t["param"] == TODAY[1])]["cost"].mean()
    f = t[t["family"] == family].groupby("param")["cost"].mean().sort_index()
    # cost decreases with gamma_r? no: a higher risk aversion narrows the band and costs more
    lg = np.log(f.index.to_numpy(float))
    cost = f.to_numpy()
    order = np.argsort(cost)
    g = float(np.exp(np.interp(today, cost[order], lg[order])))
    return float(f"{g:.2g}")


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    days = pd.date_range(*DECISION_SELECTION)
    t = run(days)
    t.to_csv(OUT / "hedge_frontier.csv", index=False)
    print(t.round(3).to_string(index=False))
    eq = equal_cost_table(t)
    eq.to_csv(OUT / "hedge_equal_cost.csv", index=False)
    print(eq.round(3).to_string(index=False))
    best = eq.groupby("family")["sd_reduction"].mean().sort_values(ascending=False)
    print(best.round(3))
    fam = best.index[0]
    gamma = choose_gamma(t, fam)
    pol = FAMILIES[fam][0]
    chosen = BandPolicy(pol.kind, risk_aversion=gamma, check=pol.check, vol=pol.vol, to=pol.to)
    t2 = run(days, {"chosen": [chosen]})
    print("chosen", fam, gamma)
    print(t2.round(3).to_string(index=False))
    json.dump({"family": fam, "risk_aversion": gamma, "kind": chosen.kind, "check": chosen.check,
               "vol": chosen.vol, "to": chosen.moves_to, "cost": chosen.cost,
               "selection": t2.to_dict(orient="records")}, open(OUT / "hedge_choice.json", "w"), indent=1)
