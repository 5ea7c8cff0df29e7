"""The hedging frontier (issue #29): hedge cost against per-straddle P&L dispersion for families of band policies.

Short 30-day ATM straddles opened every day, BTC and ETH, hedged on hourly bars by each policy of a family
(``lstm_strategies.research.straddles``: each straddle trades on its own at the bar's close, 0.15% a trade; the
research's simulator, reproduced to the printed digit). Families (``trading.hedging.BandPolicy``):

* ``fixed_daily``: 0.3.0's rule, band b of the units at each day's close, to the target (b = 0.05 is today's);
* ``fixed_bar``: the same band checked every hour;
* ``ww_iv_daily`` / ``ww_iv_bar``: Whalley-Wilmott at implied vol, to the band's edge (``ww_iv_bar_target``: to the
  target);
* ``ww_fc_bar``: WW with delta and gamma at the calibrated log-HAR's 30-day forecast vol: the family the research
  froze on 2021-2022, at gamma_r = 34 (``frozen``).

Per policy: mean hedge cost per straddle, the sd of the straddles' net P&L (the dispersion the goal measures), the
always-short ladder's daily P&L sd, % of S0. Every family's sd is interpolated at today's cost (the goal: >= 15%
lower at equal cost); the frozen policy's sd ratio to today's has a stationary-bootstrap 95% interval (origin days,
mean block 30, 2,000 draws) and the ratio detectable at 80% power. Nothing is chosen here: the families, the grids
and gamma_r = 34 were fixed on 2021-03-24 .. 2022-12-31 (docs/research/calibration/REPORT.md).

    python benchmarks/hedge_frontier.py [--assets btc eth] [--period oos|selection]

Outputs in benchmarks/output/hedge_frontier/<period>/: ``frontier.csv``, ``equal_cost.csv``, ``frozen.csv``,
``frontier_<asset>.png``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

PERIODS = {"oos": ("2023-01-01", "2026-03-07"), "selection": ("2021-03-24", "2022-12-01")}
GAMMAS = [1, 3, 10, 30, 100, 300, 1000, 3000]
FROZEN_GAMMA = 34.0
OUT = Path("benchmarks/output/hedge_frontier")


def families() -> dict:
    from lstm_strategies.trading.hedging import BandPolicy

    return {
        "fixed_daily": [BandPolicy("fixed", band=b) for b in [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]],
        "fixed_bar": [BandPolicy("fixed", band=b, check="bar") for b in [0.05, 0.1, 0.15, 0.2, 0.3, 0.4]],
        "ww_iv_daily": [BandPolicy("ww", risk_aversion=g) for g in GAMMAS],
        "ww_iv_bar": [BandPolicy("ww", risk_aversion=g, check="bar") for g in GAMMAS],
        "ww_iv_bar_target": [BandPolicy("ww", risk_aversion=g, check="bar", to="target") for g in GAMMAS],
        "ww_fc_bar": [BandPolicy("ww", risk_aversion=g, check="bar", vol="forecast") for g in GAMMAS],
        "frozen": [BandPolicy("ww", risk_aversion=FROZEN_GAMMA, check="bar", vol="forecast")],
    }


def grid(asset: str):
    """The hourly grid: close, DVOL known at each bar's close, the calibrated log-HAR's 30-day forecast vol."""
    import torch

    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.forecasters import make_forecaster
    from lstm_strategies.forecasters.calibrated import calibrated
    from lstm_strategies.market.implied import ImpliedVolLookup, load_implied_vol
    from lstm_strategies.research.straddles import hourly_grid

    torch.set_num_threads(1)
    df = load_dataset(f"{asset}_usdt_1h")
    iv, _ = ImpliedVolLookup(load_implied_vol(f"{asset}_dvol_daily"), "3D").values_at(
        df.index.asi8 + pd.Timedelta("1h").value)
    name, params = calibrated("log_har_cal")
    f30 = make_forecaster(name, **params).fit(df).predict_batch(df)[:, 2]
    return hourly_grid(df, iv, {"fvol": np.sqrt(f30 * 365.0 / 30.0)})


def sd_ratio(a: np.ndarray, b: np.ndarray, reps: int = 2000, block: float = 30.0, seed: int = 1) -> dict:
    """sd(a) / sd(b) over paired origins, its stationary-bootstrap 95% interval, and the ratio detectable at 80%
    power (``exp(-2.80 se(log ratio))``)."""
    from lstm_strategies.stats.power import mde_from_se, stationary_bootstrap_indices

    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(reps):
        i = stationary_bootstrap_indices(len(a), block, rng)
        draws.append(a[i].std(ddof=1) / b[i].std(ddof=1))
    draws = np.array(draws)
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return {"ratio": a.std(ddof=1) / b.std(ddof=1), "lo": lo, "hi": hi,
            "detectable": math.exp(-mde_from_se(np.log(draws).std(ddof=1)))}


def at_cost(frame: pd.DataFrame, cost: float, col: str = "sd") -> float:
    """``col`` along a family's frontier at ``cost`` (linear; NaN outside the family's range of costs)."""
    f = frame.sort_values("cost")
    if cost < f["cost"].min() or cost > f["cost"].max():
        return math.nan
    return float(np.interp(cost, f["cost"], f[col]))


def run(assets: list[str], period: str = "oos", out: Path = OUT) -> pd.DataFrame:
    from lstm_strategies.research.straddles import book_daily, simulate

    folder = out / period
    folder.mkdir(parents=True, exist_ok=True)
    days = pd.date_range(*PERIODS[period])
    rows, frozen = [], []
    for asset in assets:
        g = grid(asset)
        nets = {}
        for fam, policies in families().items():
            for p in policies:
                tr, d, dl = simulate(g, days, p, hedge_vol="fvol" if p.vol == "forecast" else "iv")
                book = book_daily(d, dl, np.ones(len(days)), days)
                rows.append({"asset": asset, "family": fam, "param": p.band if p.kind == "fixed" else p.risk_aversion,
                             "cost": tr["hedge_cost"].mean() * 100, "sd": tr["net"].std() * 100,
                             "mean": tr["net"].mean() * 100, "book_sd": book.std() * 100,
                             "trades": tr["hedge_trades"].mean(), "hedge_gain": tr["hedge_gain"].mean() * 100})
                if (fam, rows[-1]["param"]) in (("fixed_daily", 0.05), ("frozen", FROZEN_GAMMA)):
                    nets[fam] = (tr["net"].to_numpy(), book.to_numpy())
            print(f"{asset} {fam} done", flush=True)
        per = sd_ratio(nets["frozen"][0], nets["fixed_daily"][0])
        book = sd_ratio(nets["frozen"][1], nets["fixed_daily"][1])
        frozen.append({"asset": asset, **per, **{f"book_{k}": v for k, v in book.items()}})
    frame = pd.DataFrame(rows)
    frame.to_csv(folder / "frontier.csv", index=False)
    pd.DataFrame(frozen).to_csv(folder / "frozen.csv", index=False)
    equal_cost(frame).to_csv(folder / "equal_cost.csv", index=False)
    for asset in assets:
        plot(frame[frame["asset"] == asset], asset, period, folder / f"frontier_{asset}.png")
    return frame


def equal_cost(frame: pd.DataFrame) -> pd.DataFrame:
    """Every family's sd (and book sd) at today's hedge cost, and its reduction against today's."""
    rows = []
    for asset, a in frame.groupby("asset", sort=False):
        today = a[(a["family"] == "fixed_daily") & (a["param"] == 0.05)].iloc[0]
        for fam, f in a.groupby("family", sort=False):
            if fam == "frozen":
                continue
            sd, bsd = at_cost(f, today["cost"]), at_cost(f, today["cost"], "book_sd")
            rows.append({"asset": asset, "family": fam, "today_cost": today["cost"], "today_sd": today["sd"],
                         "sd_at_cost": sd, "sd_reduction": 1 - sd / today["sd"],
                         "book_sd_reduction": 1 - bsd / today["book_sd"]})
    return pd.DataFrame(rows)


def plot(frame: pd.DataFrame, asset: str, period: str, path: Path) -> None:
    from lstm_strategies.core.plotting import new_figure, save_figure

    fig, ax = new_figure(8, 5)
    for fam, f in frame.groupby("family", sort=False):
        f = f.sort_values("cost")
        if fam == "frozen":
            ax.scatter(f["cost"], f["sd"], marker="*", s=120, color="black", zorder=5,
                       label="frozen (WW at forecast, 34)")
        else:
            ax.plot(f["cost"], f["sd"], marker="o", ms=3, lw=1.2, label=fam)
    today = frame[(frame["family"] == "fixed_daily") & (frame["param"] == 0.05)].iloc[0]
    ax.scatter([today["cost"]], [today["sd"]], marker="s", s=60, color="red", zorder=5, label="today (fixed 5%, daily)")
    save_figure(fig, path, f"{asset.upper()} short straddles ({period}): hedge cost against P&L dispersion",
                "sd of the straddles' net P&L (% of S0)", "hedge cost per straddle (% of S0)")


def report(out: Path = OUT, period: str = "oos") -> list[str]:
    """The tables and the frontier's goal line (as reference: the race judges the goal on the strategy's books)."""
    folder = out / period
    frame = pd.read_csv(folder / "frontier.csv")
    eq = pd.read_csv(folder / "equal_cost.csv")
    frozen = pd.read_csv(folder / "frozen.csv")
    with pd.option_context("display.width", 200, "display.max_rows", 200, "display.float_format", "{:.3f}".format):
        print(f"\nhedging frontier ({period}; % of S0 per straddle; each straddle trades alone at the close)")
        print(frame.to_string(index=False))
        print("\nat today's hedge cost (fixed 5% band, daily): sd and its reduction by family")
        print(eq.to_string(index=False))
    lines = []
    for r in frozen.itertuples():
        fr = frame[(frame["asset"] == r.asset)]
        today = fr[(fr["family"] == "fixed_daily") & (fr["param"] == 0.05)].iloc[0]
        new = fr[fr["family"] == "frozen"].iloc[0]
        fam = eq[(eq["asset"] == r.asset) & (eq["family"] == "ww_fc_bar")].iloc[0]
        best = eq[eq["asset"] == r.asset].sort_values("sd_reduction", ascending=False).iloc[0]
        lines.append(f"{r.asset}: sd {new['sd']:.2f}% vs {today['sd']:.2f}% = {1 - r.ratio:+.1%} lower (95% CI of the "
                     f"ratio {r.lo:.3f}-{r.hi:.3f}; detectable at 80%: ratio <= {r.detectable:.3f}), hedge cost "
                     f"{new['cost']:.3f}% vs {today['cost']:.3f}%; the frozen family at today's cost "
                     f"{fam['sd_reduction']:+.1%}; best family at today's cost {best['family']} "
                     f"{best['sd_reduction']:+.1%}; daily book sd {1 - r.book_ratio:+.1%} (CI {1 - r.book_hi:+.1%}.."
                     f"{1 - r.book_lo:+.1%})")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth"], choices=["btc", "eth"])
    parser.add_argument("--period", default="oos", choices=list(PERIODS))
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.report_only:
        run(args.assets, args.period, Path(args.out))
    for line in report(Path(args.out), args.period):
        print("frontier reference (research simulator) " + line)


if __name__ == "__main__":
    main()
