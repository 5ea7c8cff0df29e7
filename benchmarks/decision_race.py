"""The decision race: does a better forecast make better decisions?

Every forecaster — EWMA, GARCH(1,1)-t, HAR, log-HAR, the frozen LSTM (bundled, trained to
2021-12-31) and the self-refitting LSTM (retrained every 6 months on the bars it has seen) — drives
vol targeting at 40% and a synthetic 90% put rolled every 30 days, on BTC, ETH and SOL hourly,
2022-01-01 .. 2026-06-30, 0.1% commission and 0.05% slippage. The configurations are the
defaults chosen on 2021 (benchmarks/choose_decision_defaults.py); nothing here is chosen on 2022+.

* One table per strategy: TE30, realized volatility, turnover, costs, net Sharpe with stationary-
  bootstrap tests of the difference against EWMA and against a constant exposure at the run's own
  mean weight, MaxDD, hedging error.
* The TE30-turnover frontier: vol targeting over one fixed grid of relative bands and partial
  adjustments, the same for every forecaster; a table and a plot per asset.
* QLIKE per horizon against log-HAR (the evaluation protocol of `lstm-strategies evaluate`).
* The race with implied volatility (issue #18), BTC and ETH, on one common window (2023-01-01 ..
  2026-04-06, the last DVOL day; every forecaster, with and without implied volatility, on the same
  origins): QLIKE per horizon with DM-HLN p-values against log-HAR, HAR-IV, raw implied and the
  bundled LSTM, the MCS over all of them, the forecast-against-implied table (QLIKE ratio to raw
  implied, Mincer-Zarnowitz, the encompassing regression with Newey-West) and ratios by year. The
  LSTM-IVs and every IV choice were fixed on data up to 2022-12-31 (README).
* The calibration race (issue #29, ``benchmarks/calibration_race.py``), same window: mean(RV)/mean(F) per year and
  horizon of the 0.3.0 and calibrated forecasters and ``implied_anchor``, their QLIKE against each other and against
  raw DVOL^2, each comparison with its minimum detectable effect.
* One line per goal: ``goal <name>: met`` or ``goal <name>: not met (<figures>)``.

SOL has no bundled model: its frozen LSTM is btc-1h (the scale-free inputs and the refit head
carry across assets), its self-refitting LSTM trains on SOL. SOL's data is read from
$LSTM_STRATEGIES_DATA (default ../shared/data); BTC and ETH ship with the package.

    python benchmarks/decision_race.py [--assets btc eth sol] [--workers 2] [--executor local|ray]
    python benchmarks/decision_race.py --part accuracy     # the forecast accuracy alone (both races)
    python benchmarks/decision_race.py --part decisions    # the backtests alone
    python benchmarks/decision_race.py --report-only       # tables and goal lines from the saved CSVs
    python benchmarks/decision_race.py --part variance     # trading variance against DVOL (variance_race.py)
    python benchmarks/decision_race.py --part risk         # VaR/ES, leverage, collateral (risk_race.py)

Runs go through the sweep executors (both cores, or a Ray cluster with --executor ray --address).
Self-refitting folds are trained first (about 9 folds x 3 assets; cached afterwards in
$LSTM_STRATEGIES_CACHE). Outputs: benchmarks/output/decision_race/ (CSV tables, frontier PNGs).
"""

from __future__ import annotations

import argparse
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.backtest.config import validate_config
from lstm_strategies.core.executors import run_tasks
from lstm_strategies.reports.metrics import sharpe_difference
from lstm_strategies.research.sweep import run_sweep_task

START, END, DATA_START = "2022-01-01", "2026-06-30", "2019-01-01"
REFIT = {"refit_every": "6M", "first_train_end": "2021-12-31"}
#: the race with implied volatility: one common window after the LSTM-IVs' training (to 2022-12-31)
IV_START, IV_END, IV_ASSETS = "2023-01-01", "2026-04-06", ("btc", "eth")
IV_REFIT = {"refit_every": "6M", "first_train_end": "2022-12-31"}
BANDS, ADJUSTS = [0.0, 0.05, 0.1, 0.2, 0.35, 0.5], [1.0, 0.5]


def baselines() -> list[str]:
    """The registered baselines that read the bars alone (the forecasters declare their kind and inputs)."""
    from lstm_strategies.forecasters import forecaster_class, forecaster_names

    return [n for n in forecaster_names(kind="baseline") if not forecaster_class(n).inputs]


def forecasters(asset: str) -> dict[str, dict]:
    return {**{name: {} for name in baselines()},
            "lstm": {"model": "eth-1h" if asset == "eth" else "btc-1h"}, "lstm_refit": dict(REFIT)}


def dataset(asset: str) -> str:
    return f"{asset}_usdt_1h"


def base(asset: str, strategy: str) -> dict:
    raw = {"name": f"{asset}_{strategy}", "data": {"dataset": dataset(asset), "start": DATA_START, "end": END},
           "backtest": {"start": START, "cash": 100_000, "commission": 0.001, "slippage": 0.0005},
           "strategy": {"name": strategy, "forecaster": "ewma",
                        "params": {"target_vol": 0.4} if strategy == "vol_target" else
                        {"moneyness": 0.9, "maturity_days": 30}},
           "report": {"baselines": False, "tearsheet": False}}
    return validate_config(raw, "decision_race").model_dump()


def train_folds(assets: list[str]) -> None:
    """Train (or find cached) every self-refitting fold here, before the runs read them."""
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.forecasters import make_forecaster

    for asset in assets:
        df = load_dataset(dataset(asset))
        df = df[(df.index >= pd.Timestamp(DATA_START, tz="UTC")) & (df.index < pd.Timestamp("2026-07-01", tz="UTC"))]
        f = make_forecaster("lstm_refit", "crypto", **REFIT).fit(df)
        f.predict_batch(df)
        print(f"{asset}: {len(f.fold_log)} folds, {sum(not e['cached'] for e in f.fold_log)} trained now")


def tasks(assets: list[str]) -> list[dict]:
    out = []
    for asset in assets:
        vt, put = base(asset, "vol_target"), base(asset, "synthetic_put")
        for name, fparams in forecasters(asset).items():
            common = {"forecaster": name, "forecaster_params": fparams}
            out.append({"base": vt, "overrides": common, "keep_returns": True, "with_baseline": True,
                        "task": f"{asset}|{name}|vol_target|default"})
            out.append({"base": put, "overrides": common, "keep_returns": True,
                        "task": f"{asset}|{name}|synthetic_put|default"})
            for band, adjust in itertools.product(BANDS, ADJUSTS):
                out.append({"base": vt, "overrides": {**common, "params.band": band, "params.adjust": adjust},
                            "task": f"{asset}|{name}|frontier|{band}|{adjust}"})
    return out


def frontier(points: pd.DataFrame) -> pd.DataFrame:
    """The lower envelope: at each turnover level, the best TE30 reachable with at most that turnover."""
    pts = points.sort_values("turnover_per_year")
    env = pts.assign(te30=pts["te30"].cummin())
    return env[["turnover_per_year", "te30"]].reset_index(drop=True)


def envelope_at(env: pd.DataFrame, turnover: float) -> float:
    ok = env[env["turnover_per_year"] <= turnover + 1e-9]
    return float(ok["te30"].min()) if len(ok) else math.inf


def frontier_comparison(lstm: pd.DataFrame, other: pd.DataFrame) -> dict:
    """Where the LSTM's envelope stands against another's.

    ``worst_gap``: the largest excess of the LSTM's best TE30 over the other's, at every turnover
    level both reach (positive: the LSTM is worse there); ``uncovered``: the other reaches turnover
    levels the LSTM cannot trade that little at (its least turnover on the grid), with the other's
    TE30 there. The goal's "at or below at every turnover level" needs both to be empty/non-positive.
    """
    low = max(lstm["turnover_per_year"].min(), other["turnover_per_year"].min())
    levels = sorted(t for t in set(lstm["turnover_per_year"]) | set(other["turnover_per_year"]) if t >= low - 1e-9)
    gaps = [(envelope_at(lstm, t) - envelope_at(other, t), t) for t in levels]
    worst, at = max(gaps) if gaps else (math.nan, math.nan)
    uncovered = other[other["turnover_per_year"] < lstm["turnover_per_year"].min() - 1e-9]
    least = float(uncovered["turnover_per_year"].min()) if len(uncovered) else None
    return {"worst_gap": worst, "at_turnover": at, "lstm_min_turnover": float(lstm["turnover_per_year"].min()),
            "uncovered_min_turnover": least,
            "uncovered_te30": float(envelope_at(other, least)) if least is not None else None}


def plot_frontiers(frame: pd.DataFrame, asset: str, path: Path) -> None:
    from lstm_strategies.core.plotting import new_figure, points_axis, save_figure

    fig, ax = new_figure(8, 5)
    styles = {"lstm": ("darkred", "-", "o"), "lstm_refit": ("tab:red", "--", "s"), "log_har": ("tab:blue", "-", "^"),
              "har": ("tab:cyan", ":", "v"), "ewma": ("tab:green", "-", "D"), "garch": ("tab:purple", ":", "x")}
    for name, group in frame[frame["asset"] == asset].groupby("forecaster"):
        color, ls, marker = styles.get(name, ("black", "-", "."))
        ax.scatter(group["turnover_per_year"], group["te30"], color=color, marker=marker, s=16, alpha=0.5)
        env = frontier(group)
        ax.step(env["turnover_per_year"], env["te30"], where="post", color=color, ls=ls, label=name)
    ax.set_xscale("log")
    points_axis(ax)
    save_figure(fig, path, f"{asset.upper()} vol targeting at 40%, 2022-2026: tracking error against turnover",
                "TE30, vol points (RMS of 30-day realized vol minus target)",
                "turnover (books traded per year, log scale)")


def qlike_table(assets: list[str]) -> pd.DataFrame:
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.research.evaluation import MCSSettings, evaluate_forecasters

    rows = []
    for asset in assets:
        df = load_dataset(dataset(asset))
        df = df[df.index >= pd.Timestamp(DATA_START, tz="UTC")]
        model = "eth-1h" if asset == "eth" else "btc-1h"
        ev = evaluate_forecasters(df, model, START, END, refit_every=REFIT["refit_every"],
                                  first_train_end=REFIT["first_train_end"], mcs=MCSSettings(reps=200))
        for h, table in ev.overall.items():
            for name in table.index:
                rows.append({"asset": asset, "horizon": h, "forecaster": name, "qlike": table.loc[name, "qlike"],
                             "vs_log_har": table.loc[name].get("ratio_vs_log_har", 1.0),
                             "dm_p_vs_log_har": table.loc[name].get("dm_pvalue_vs_log_har", np.nan)})
        ev.by_regime.assign(asset=asset).to_csv(OUT / f"regimes_{asset}.csv")
    return pd.DataFrame(rows)


OUT = Path("benchmarks/output/decision_race")


def implied_race(assets: list[str]) -> None:
    """Every forecaster, with and without implied vol, on the common window: ``implied_*.csv`` in OUT."""
    from implied_race import run_implied_race

    run_implied_race(assets, IV_START, IV_END, IV_REFIT, OUT)


def print_implied_tables() -> None:
    from implied_race import print_tables

    if (OUT / "implied_race.csv").exists():
        print_tables(OUT)
    if (OUT / "calibration_bias.csv").exists():  # issue #29: calibration_race.py
        from calibration_race import print_tables as calibration_tables

        calibration_tables(OUT)


def implied_goals() -> dict:
    from implied_race import goals

    return goals(OUT)


def main() -> None:
    global OUT
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--part", default="all")
    chosen, rest = early.parse_known_args()
    if chosen.part == "variance":  # its own options: benchmarks/variance_race.py
        from variance_race import main as variance_main

        variance_main(rest)
        return
    if chosen.part == "risk":  # issue #30, its own options: benchmarks/risk_race.py
        from risk_race import main as risk_main

        risk_main(rest)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", nargs="+", default=["btc", "eth", "sol"])
    parser.add_argument("--part", choices=["all", "accuracy", "decisions", "variance", "risk"], default="all",
                        help="accuracy: the QLIKE tables and the race with implied vol; decisions: the backtests; "
                             "variance: trading variance against DVOL (BTC and ETH, its own options)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--executor", default="local", choices=["local", "ray"])
    parser.add_argument("--address", default=None)
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--report-only", action="store_true", help="recompute the goal lines from the saved tables")
    args = parser.parse_args()
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    parts = ["accuracy", "decisions"] if args.part == "all" else [args.part]
    if not args.report_only:
        import torch

        torch.set_num_threads(1)  # small networks: one thread trains the refitting folds fastest (12x here)
        if "decisions" in parts:
            train_folds(args.assets)
            rows = []
            for task, row in run_tasks(run_sweep_task, tasks(args.assets), args.executor, args.workers, args.address):
                asset, name, kind, *grid = task["task"].split("|")
                rows.append({"asset": asset, "forecaster": name, "kind": kind, **row})
                print(f"done {task['task']}", flush=True)
            report(pd.DataFrame(rows), args.assets)
        if "accuracy" in parts:
            qlike_table(args.assets).to_csv(OUT / "qlike.csv", index=False)
            implied_race([a for a in IV_ASSETS if a in args.assets])
            from calibration_race import run_calibration_race  # issue #29: the calibrated forecasters

            run_calibration_race([a for a in IV_ASSETS if a in args.assets], IV_START, IV_END, OUT)
    if "accuracy" in parts:
        print_implied_tables()
    print_goals(args.assets, parts)


def report(runs: pd.DataFrame, assets: list[str]) -> None:
    fmt = {"display.width": 220, "display.max_columns": 30, "display.max_rows": 200,
           "display.float_format": "{:.3f}".format}
    with pd.option_context(*itertools.chain.from_iterable(fmt.items())):
        # -- vol targeting at the defaults ----------------------------------------------------------
        vt = runs[runs["kind"] == "vol_target"].set_index(["asset", "forecaster"])
        table = []
        for (asset, name), row in vt.iterrows():
            ewma = vt.loc[(asset, "ewma"), "returns"]
            vs_ewma = sharpe_difference(row["returns"], ewma, 365) if name != "ewma" else {"diff": 0.0, "pvalue": None}
            vs_const = sharpe_difference(row["returns"], row["baseline_returns"], 365)
            table.append({"asset": asset, "forecaster": name, "te30": row["te30"], "realized_vol": row["realized_vol"],
                          "turnover": row["turnover_per_year"], "costs/yr": row["costs_per_year"],
                          "sharpe": row["sharpe"], "vs_ewma": vs_ewma["diff"], "p_vs_ewma": vs_ewma["pvalue"],
                          "vs_constant": vs_const["diff"], "p_vs_constant": vs_const["pvalue"],
                          "max_dd": row["max_drawdown"]})
        vt_table = pd.DataFrame(table)
        vt_table.to_csv(OUT / "vol_target.csv", index=False)
        print("\nvol targeting at 40%, defaults chosen on 2021, 2022-01-01 .. 2026-06-30 (TE30 in vol points; "
              "the CSV keeps fractions)")
        print(vt_table.assign(te30=100 * vt_table["te30"]).rename(columns={"te30": "te30_pts"}).to_string(index=False))
        # -- synthetic put --------------------------------------------------------------------------
        put = runs[runs["kind"] == "synthetic_put"].set_index(["asset", "forecaster"])
        ptable = []
        for (asset, name), row in put.iterrows():
            vs_ewma = (sharpe_difference(row["returns"], put.loc[(asset, "ewma"), "returns"], 365)
                       if name != "ewma" else {"diff": 0.0, "pvalue": None})
            ptable.append({"asset": asset, "forecaster": name, "hedge_err_mean": row["hedge_error_mean"],
                           "hedge_err_sd": row["hedge_error_std"], "hedge_err_worst": row["hedge_error_worst"],
                           "rolls_2pts_below_floor": row["share_rolls_2pts_below_floor"],
                           "option_cost": row["option_cost_per_roll_mean"], "turnover": row["turnover_per_year"],
                           "sharpe": row["sharpe"], "vs_ewma": vs_ewma["diff"], "p_vs_ewma": vs_ewma["pvalue"],
                           "max_dd": row["max_drawdown"]})
        put_table = pd.DataFrame(ptable)
        put_table.to_csv(OUT / "synthetic_put.csv", index=False)
        print("\nsynthetic 90% put rolled every 30 days")
        print(put_table.to_string(index=False))
        # -- frontier -------------------------------------------------------------------------------
        grid = runs[runs["kind"] == "frontier"]
        grid[["asset", "forecaster", "params.band", "params.adjust", "te30", "turnover_per_year",
              "sharpe"]].to_csv(OUT / "frontier.csv", index=False)
        for asset in assets:
            plot_frontiers(grid, asset, OUT / f"frontier_{asset}.png")
            env = {name: frontier(g) for name, g in grid[grid["asset"] == asset].groupby("forecaster")}
            levels = [1, 2, 5, 10, 20, 40]
            print(f"\n{asset.upper()} frontier: best TE30 (vol points) reachable with at most N books a year")
            print(100 * pd.DataFrame({name: [envelope_at(e, t) for t in levels] for name, e in env.items()},
                                     index=[f"<= {t}/yr" for t in levels]).replace(math.inf, np.nan))


def print_goals(assets: list[str], parts: list[str]) -> None:
    """The goal lines of the parts asked for, from the tables written in OUT (so --report-only can
    recompute them)."""
    goals = {}
    main_assets = [a for a in ("btc", "eth") if a in assets]
    if "decisions" in parts:
        goals |= decision_goals(main_assets)
    if "accuracy" in parts:
        goals |= accuracy_goals(main_assets)
    print()
    for name, (ok, details) in goals.items():  # a met goal shows figures only where it has some to show
        print(f"goal {name}: {'met' if ok else 'not met'}" + (f" ({details})" if details else ""))


def decision_goals(main_assets: list[str]) -> dict:
    grid = pd.read_csv(OUT / "frontier.csv")
    put_table = pd.read_csv(OUT / "synthetic_put.csv")
    goals = {}
    for variant in ("lstm", "lstm_refit"):
        details, ok = [], True
        for asset in main_assets:
            env = {name: frontier(g) for name, g in grid[grid["asset"] == asset].groupby("forecaster")}
            best = {name: e["te30"].min() for name, e in env.items()}
            lowest = min(best, key=best.get)
            for other in baselines():
                cmp = frontier_comparison(env[variant], env[other])
                if cmp["worst_gap"] > 1e-12:
                    ok = False
                    details.append(f"{asset}: {100 * cmp['worst_gap']:.1f} pts above {other} at "
                                   f"{cmp['at_turnover']:.1f}/yr")
                if cmp["uncovered_min_turnover"] is not None:
                    ok = False
                    details.append(f"{asset}: trades at least {cmp['lstm_min_turnover']:.1f}/yr, {other} reaches "
                                   f"{cmp['uncovered_min_turnover']:.1f}/yr (TE30 {100 * cmp['uncovered_te30']:.1f})")
            if lowest != variant:
                ok = False
                details.append(f"{asset}: best TE30 {100 * best[variant]:.1f} against {lowest}'s "
                               f"{100 * best[lowest]:.1f}")
        goals[f"vol-target frontier ({variant})"] = (ok, "; ".join(details))
    details, ok = [], True
    for asset in main_assets:
        sub = put_table[put_table["asset"] == asset].set_index("forecaster")["hedge_err_sd"]
        best = sub.idxmin()
        if best not in ("lstm", "lstm_refit"):
            ok = False
            details.append(f"{asset}: lowest sd {best} {100 * sub[best]:.2f}% against lstm {100 * sub['lstm']:.2f}%, "
                           f"lstm_refit {100 * sub['lstm_refit']:.2f}%")
    goals["put hedging error"] = (ok, "; ".join(details))
    return goals


def accuracy_goals(main_assets: list[str]) -> dict:
    q = pd.read_csv(OUT / "qlike.csv")
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print("\nQLIKE per horizon, ratio to log-HAR")
        print(q.pivot_table(index=["asset", "horizon"], columns="forecaster", values="vs_log_har").to_string())
        print("\nDiebold-Mariano (HLN) p-value against log-HAR")
        print(q[q["forecaster"].isin(["lstm", "lstm_refit"])].pivot_table(
            index=["asset", "horizon"], columns="forecaster", values="dm_p_vs_log_har").to_string(
            float_format=lambda p: f"{p:.2g}"))
    goals = {}
    for variant in ("lstm", "lstm_refit"):
        details, ok = [], True
        for asset in main_assets:
            for h in (7, 30):
                r = q[(q["asset"] == asset) & (q["horizon"] == h) & (q["forecaster"] == variant)]["vs_log_har"]
                ratio = float(r.iloc[0])
                if ratio > 0.95:
                    ok = False
                    details.append(f"{asset} {h}d {ratio:.3f}x")
        goals[f"horizons ({variant})"] = (ok, "; ".join(details))
    if (OUT / "implied_race.csv").exists():
        goals |= implied_goals()
    if (OUT / "calibration_bias.csv").exists():
        from calibration_race import goals as calibration_goals

        goals |= calibration_goals(OUT)
    return goals


if __name__ == "__main__":
    main()
