"""The risk race (``decision_race.py --part risk``): tail risk at the forecast's horizon (issue #30).

The choices were frozen on the selection / calibration periods by the research (docs/research/tail_risk/
REPORT.md, section 2: FHS 250 at 1 day, FHS 500 at 7 days, the t5 fallback, the fhs_ext leverage rule and its
constants, the 7-day 97.5% ES collateral); this race runs them once on the test periods, from the library:

1. **Risk** (``risk_1d.csv``, ``risk_7d.csv``, ``risk_fz0_dm.csv``): every forecaster's 1-day VaR 99% / ES
   97.5% and 7-day VaR 97.5% and 95% / ES 97.5%, long and short (``Forecaster.forecast_risk``'s FHS; the
   parametric t5 alternative and, for the networks, the out-of-sample-only pool as robustness rows), scored
   by ``research.risk_evaluation``: coverage, Basel zones per year, ES ratio, McNeil-Frey, Acerbi-Szekely Z2,
   FZ0 with DM against log-HAR (and HAR-IV). Bar-only race: BTC, ETH, SOL, origins 2022-01-01 .. 2026-06-28
   (the last 1-day return is 2026-06-29's; 7 days: origins to 2026-06-22); IV race: BTC and ETH with HAR-IV
   and the LSTM-IV, origins 2023-01-01 .. 2026-04-05 (7 days: to 2026-03-30).
2. **Leverage** (``leverage.csv``, ``leverage_frontier.csv``, ``leverage_calibration.csv``): the fhs_ext rule
   with the frozen constants (``trading.leverage``; re-derived here from the calibration periods as a check),
   every forecaster, long and short, days 2022-01-01 .. 2026-06-29 (bar-only) and 2023-01-01 .. 2026-04-06
   (IV), against a fixed leverage with the same liquidations (an ex-post point) and log-HAR's rule; and the
   LSTM-IV long books run through Backtrader (the ``leveraged_perp`` strategy, ``leverage_backtrader.csv``).
3. **Variance-book collateral** (``margin.csv``): always-sell and premium (log-HAR) ladders on BTC and ETH,
   days 2023-01-01 .. 2026-04-06: days the held book's loss beat the fixed 1.5x implied shock margin and the
   ES collateral (7-day 97.5%, from log-HAR's, HAR-IV's and the LSTM-IV's forecasts), at equal mean margin.
4. **Goal lines** (``goals.txt``): ``goal <name>: met`` or ``not met (<figures>)``.

    python benchmarks/decision_race.py --part risk [--report-only] [--sims 1000]

Forecasts are made once per asset and forecaster from the data's first bar (the pools need the history;
cached in benchmarks/output/risk_race/forecasts/). SOL's data is read from $LSTM_STRATEGIES_DATA.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path("benchmarks/output/risk_race")
BAR_ONLY = ["log_har", "har", "ewma", "garch", "lstm"]
IV_AWARE = ["har_iv", "lstm_iv"]
LSTM_MODEL = {"btc": {"model": "btc-1h"}, "eth": {"model": "eth-1h"}, "sol": {"model": "crypto-1h", "head": "shrink"}}
#: race -> (assets, forecasters, first origin, last 1-day origin, last leverage day)
RACES = {"baronly": (("btc", "eth", "sol"), BAR_ONLY, "2022-01-01", "2026-06-28", "2026-06-29"),
         "iv": (("btc", "eth"), BAR_ONLY + IV_AWARE, "2023-01-01", "2026-04-05", "2026-04-06")}
#: the goal's "recommended models" (REPORT.md, section 2)
RECOMMENDED = [("baronly", "log_har"), ("baronly", "lstm"), ("iv", "har_iv"), ("iv", "lstm_iv")]
#: the variance books' frozen premium normalisers (0.3.0's variance race) and the ES scale frozen on selection
PREMIUM_SCALE = {"btc": 4.98836, "eth": 5.20745}
FROZEN_KAPPA = {"btc|always": 0.931966, "btc|premium_log_har": 0.996926, "eth|always": 0.651468,
                "eth|premium_log_har": 0.728862}
MARGIN_CANDIDATES = {"es1d_975": (1, 0.975), "es7d_975": (7, 0.975), "es1d_99": (1, 0.99)}
CALIBRATION = {"baronly": (["log_har", "har", "ewma", "garch"], "2019-07-01", "2021-12-30"),
               "iv": (["har_iv"], "2021-07-01", "2022-12-30")}


# -- forecasts ------------------------------------------------------------------------------------------
def bars(asset: str) -> pd.DataFrame:
    from lstm_strategies.data.datasets import load_dataset

    return load_dataset(f"{asset}_usdt_1h")


def make(asset: str, name: str):
    from lstm_strategies.forecasters import make_forecaster
    from lstm_strategies.market.implied import load_implied_vol

    if name == "lstm":
        f = make_forecaster("lstm", **LSTM_MODEL[asset])
    elif name == "lstm_iv":
        f = make_forecaster("lstm_iv", model=f"{asset}-1h-iv")
    else:
        f = make_forecaster(name)
    if f.inputs:
        f.set_inputs(implied_vol=load_implied_vol(f"{asset}_dvol_daily"))
    return f


def forecasts(asset: str, names: list[str]) -> dict[str, pd.DataFrame]:
    """``risk_inputs`` (1, 7 and 30 days) of each forecaster at every origin of the asset's data, cached."""
    from lstm_strategies.forecasters.risk import risk_inputs

    folder = OUT / "forecasts"
    folder.mkdir(parents=True, exist_ok=True)
    out, df = {}, None
    for name in names:
        path = folder / f"{asset}_{name}.parquet"
        if not path.exists():
            df = bars(asset) if df is None else df
            f = make(asset, name)
            frame = risk_inputs(f, df, [1, 7, 30])
            frame.attrs = {}
            frame.to_parquet(path)
            print(f"forecasts {asset} {name}: first {frame['var_1d'].first_valid_index()}", flush=True)
        out[name] = pd.read_parquet(path)
    return out


def targets(asset: str) -> pd.DataFrame:
    """Per origin: the holding day's extremes (trading.leverage.daily_extremes) and realised variances."""
    from lstm_strategies.features.realized import forecast_origins, forward_realized_variance
    from lstm_strategies.trading.leverage import daily_extremes

    path = OUT / "forecasts" / f"{asset}_targets.parquet"
    if not path.exists():
        df = bars(asset)
        pos = forecast_origins(df, str(df.index[0].date()))
        t = daily_extremes(df, pos)
        for h in (1, 7):
            t[f"rv_{h}d"] = forward_realized_variance(df, h).to_numpy()[pos]
        t.to_parquet(path)
    return pd.read_parquet(path)


# -- 1. risk ------------------------------------------------------------------------------------------------
def risk_part(sims: int) -> None:
    from lstm_strategies.research.risk_evaluation import fz0_daily, fz0_tests, score_risk
    from lstm_strategies.stats.tail_risk import RiskSpec, default_spec, forecast_risk

    rows1, rows7, dms = [], [], []
    for race, (assets, names, start, end, _) in RACES.items():
        end7 = str((pd.Timestamp(end) - pd.Timedelta(days=6)).date())
        for asset in assets:
            fcs = forecasts(asset, names)
            fz = {1: {}, 7: {}}
            for name, fc in fcs.items():
                variants = {"fhs250": default_spec(1), "t5": RiskSpec(method="t", dof=5.0)}
                train_end = getattr(make_cached(asset, name), "train_end", None)
                if train_end is not None:
                    oos = str((train_end + pd.Timedelta("1D")).date())
                    variants["fhs250_oos_pool"] = default_spec(1, pool_from=oos)
                for variant, spec in variants.items():
                    risk = with_returns(forecast_risk(fc["var_1d"], fc["ret_1d"], spec), fc["ret_1d"])
                    for row in score_risk(risk, start, end, 1, sims=sims):
                        rows1.append({"race": race, "asset": asset, "forecaster": name, "method": variant, **row})
                    if variant == "fhs250":
                        fz[1][name] = fz0_daily(risk, start, end)
                for level in (0.975, 0.95):
                    risk = with_returns(forecast_risk(fc["var_7d"], fc["ret_7d"], default_spec(7, var_level=level)),
                                        fc["ret_7d"])
                    for row in score_risk(risk, start, end7, 7, level):
                        rows7.append({"race": race, "asset": asset, "forecaster": name, "level": level, **row})
                    if level == 0.975:
                        fz[7][name] = fz0_daily(risk, start, end7)
            refs = ("log_har", "har_iv") if race == "iv" else ("log_har",)
            for h in (1, 7):
                dms += [{"race": race, "asset": asset, **r} for r in fz0_tests(fz[h], h, refs)]
            print(f"risk {race} {asset} done", flush=True)
    pd.DataFrame(rows1).to_csv(OUT / "risk_1d.csv", index=False)
    pd.DataFrame(rows7).to_csv(OUT / "risk_7d.csv", index=False)
    pd.DataFrame(dms).to_csv(OUT / "risk_fz0_dm.csv", index=False)


_MODELS: dict = {}


def make_cached(asset: str, name: str):
    """A forecaster object (for its training window), built once."""
    if (asset, name) not in _MODELS:
        _MODELS[(asset, name)] = make(asset, name) if name in ("lstm", "lstm_iv") else None
    return _MODELS[(asset, name)]


def with_returns(risk: pd.DataFrame, ret: pd.Series) -> pd.DataFrame:
    risk["ret"] = ret
    return risk


# -- 2. leverage ------------------------------------------------------------------------------------------
def scales(asset: str, name: str, side: str, cutoff: str | None = None) -> pd.DataFrame:
    """The adverse extremes and the rule's risk scales known at each origin; ``cutoff`` drops every later row."""
    from lstm_strategies.trading.leverage import risk_scale

    ext, fc = targets(asset), forecasts(asset, [name])[name]
    if cutoff is not None:
        end = pd.Timestamp(cutoff + " 23:00", tz="UTC")
        ext, fc = ext[ext.index <= end].copy(), fc[fc.index <= end].copy()
        ext.loc[ext.index[-1], ["ret", "x_long", "x_short"]] = np.nan     # its holding day ends after the cutoff
        fc.loc[fc.index[-1], "ret_1d"] = np.nan
    ext = ext.reindex(fc.index)
    x = ext[f"x_{side}"]
    return pd.DataFrame({"x": x, "fhs_ext": risk_scale("fhs_ext", fc["var_1d"], x),
                         "fhs_var": risk_scale("fhs_var", fc["var_1d"], returns=fc["ret_1d"], side=side),
                         "sigma": risk_scale("sigma", fc["var_1d"]), "fixed": 1.0}, index=fc.index)


def calibration_part() -> None:
    """The budget constants re-derived on the calibration periods (BTC and ETH pooled, nothing later read)."""
    from lstm_strategies.trading import leverage as LV

    rows = []
    for side in ("long", "short"):
        for group, (names, start, end) in CALIBRATION.items():
            s, e = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end + " 23:00", tz="UTC")
            for name in names:
                pooled = pd.concat([f[(f.index >= s) & (f.index <= e)] for f in
                                    (scales(a, name, side, cutoff=end) for a in ("btc", "eth"))])
                for form in ("fhs_ext", "fixed"):
                    ok = pooled[np.isfinite(pooled["x"]) & np.isfinite(pooled[form])]
                    c = LV.calibrate_constant(ok["x"], ok[form], 1.0)
                    frozen = LV.FIXED_DISTANCE[side][group] if form == "fixed" else LV.budget_constant(name, side)
                    rows.append({"side": side, "group": group, "forecaster": name, "form": form, "constant": c,
                                 "frozen": frozen, "days": len(ok)})
    pd.DataFrame(rows).to_csv(OUT / "leverage_calibration.csv", index=False)


def leverage_part() -> None:
    from lstm_strategies.trading import leverage as LV

    rows, frontier_rows = [], []
    for race, (assets, names, start, _, last) in RACES.items():
        s, e = pd.Timestamp(start, tz="UTC"), pd.Timestamp(last + " 23:00", tz="UTC")
        group = "iv" if race == "iv" else "baronly"
        for asset in assets:
            venue = LV.venue_defaults(asset)
            ext_all = targets(asset)
            for side in ("long", "short"):
                frames = {n: scales(asset, n, side) for n in names}
                days = frames["log_har"].index[(frames["log_har"].index >= s) & (frames["log_har"].index <= e)]
                ext = ext_all.reindex(days)
                x = ext[f"x_{side}"].to_numpy()
                fixed = float(LV.leverage_for_distance(LV.FIXED_DISTANCE[side][group], venue, side))
                books = {"fixed_calibrated": np.full(len(days), fixed)}
                qs = {n: f["fhs_ext"].reindex(days).to_numpy() for n, f in frames.items()}
                books |= {n: LV.rule_leverage(q, LV.budget_constant(n, side), venue, side) for n, q in qs.items()}
                for label, lev in books.items():
                    rows.append({"race": race, "asset": asset, "side": side, "rule": label,
                                 **leverage_row(ext, x, lev, qs["log_har"], venue, side, label)})
                for n in ["fixed", *qs]:
                    q = np.ones(len(days)) if n == "fixed" else qs[n]
                    for k, r in LV.frontier(x, q, venue, range(0, 9), side).iterrows():
                        frontier_rows.append({"race": race, "asset": asset, "side": side, "rule": n, "k": k,
                                              "per_year": k / (len(days) / 365), "mean_leverage": r["mean_leverage"]})
            print(f"leverage {race} {asset} done", flush=True)
    pd.DataFrame(rows).to_csv(OUT / "leverage.csv", index=False)
    pd.DataFrame(frontier_rows).to_csv(OUT / "leverage_frontier.csv", index=False)


def leverage_row(ext, x, lev, q_loghar, venue, side, label) -> dict:
    """One book: the account's summary and, for a rule, the fixed leverage and log-HAR's rule with as many
    liquidations on the same days."""
    from lstm_strategies.trading import leverage as LV

    sim = LV.simulate(ext, lev, venue, side)
    summ = LV.summary(sim)
    row = {**summ, "liq_dates": " ".join(str(d.date()) for d in sim.index[sim["liquidated"]])}
    if label != "fixed_calibrated":
        k = summ["liquidations"]
        c_fix, _ = LV.max_leverage_with(x, np.ones(len(x)), k, venue, side)
        fixed = float(LV.leverage_for_distance(c_fix, venue, side))
        sf = LV.summary(LV.simulate(ext, np.full(len(x), fixed), venue, side))
        _, m_lh = LV.max_leverage_with(x, q_loghar, k, venue, side)
        row.update(fixed_same_liq_leverage=fixed, fixed_same_liq_cagr=sf["cagr"], fixed_same_liq_sharpe=sf["sharpe"],
                   lev_ratio_vs_fixed=summ["mean_leverage"] / fixed, loghar_same_liq_mean_leverage=m_lh,
                   lev_ratio_vs_loghar=summ["mean_leverage"] / m_lh)
    return row


def backtrader_part() -> None:
    """The LSTM-IV long books of the IV race through Backtrader (strategies/leveraged_perp.py)."""
    from lstm_strategies.strategies import strategy_class

    from lstm_strategies.backtest.runner import BacktestConfig, run_backtest

    _, _, start, _, last = RACES["iv"]
    rows = []
    for asset in ("btc", "eth"):
        df = bars(asset)
        df = df[df.index < pd.Timestamp(last, tz="UTC") + pd.Timedelta("2D")]
        cfg = BacktestConfig.from_dict({
            "name": f"{asset}_leveraged_perp_lstm_iv", "data": {"file": "unused", "implied": f"{asset}_dvol_daily"},
            "backtest": {"start": start, "cash": 100_000},
            "strategy": {"name": "leveraged_perp", "forecaster": "lstm_iv",
                         "forecaster_params": {"model": f"{asset}-1h-iv"},
                         "params": {"side": "long", "entries_until": last, "mmr": 0.004 if asset == "btc" else 0.005}},
            "report": {"baselines": False, "tearsheet": False}})
        result = run_backtest(cfg, df)
        m = strategy_class("leveraged_perp").decision_metrics(result)
        rows.append({"asset": asset, **{k: v for k, v in m.items() if not isinstance(v, (dict, list))},
                     "liq_dates": " ".join(m.get("liquidation_days", []))})
        print(f"backtrader leveraged_perp {asset} lstm_iv long done", flush=True)
    pd.DataFrame(rows).to_csv(OUT / "leverage_backtrader.csv", index=False)


# -- 3. variance-book collateral ------------------------------------------------------------------------
def margin_panel(asset: str, names: list[str], last_day: str) -> pd.DataFrame:
    from lstm_strategies.market.implied import load_implied_vol
    from lstm_strategies.trading.variance_margin import ANN

    t, fcs = targets(asset), forecasts(asset, names)
    day = t.index.floor("D").tz_localize(None)
    p = pd.DataFrame(index=day)
    iv = load_implied_vol(f"{asset}_dvol_daily")
    iv.index = (iv.index - pd.Timedelta("1D")).tz_localize(None)        # known at the close of that day
    p["dvol"] = iv.reindex(day).to_numpy() * 100
    p["iv2"] = p["dvol"] ** 2
    rv1 = t["rv_1d"].to_numpy()
    p["rvd"] = np.concatenate([[np.nan], rv1[:-1]]) * ANN                 # day d's own realised variance
    for h in (1, 7):
        p[f"rv_{h}"] = t[f"rv_{h}d"].to_numpy()
        p[f"dlogiv_{h}"] = np.log(p["dvol"].shift(-h) / p["dvol"])
    for n, f in fcs.items():
        for h in (1, 7, 30):
            p[f"F{h}_{n}"] = f[f"var_{h}d"].to_numpy()
    p = p[p.index <= pd.Timestamp(last_day)]
    for h in (1, 7):
        late = p.index > pd.Timestamp(last_day) - pd.Timedelta(days=h)
        p.loc[late, [f"rv_{h}", f"dlogiv_{h}"]] = np.nan
    return p


def margin_part(start: str = "2023-01-01", end: str = "2026-04-06") -> None:
    from lstm_strategies.trading import variance_margin as MG
    from lstm_strategies.trading.variance import signal_weight

    names = ["log_har", "har_iv", "lstm_iv"]
    rows = []
    for asset in ("btc", "eth"):
        p = margin_panel(asset, names, end)
        p = p[p.index >= pd.Timestamp("2021-03-24")]
        iv2 = p["iv2"].to_numpy()
        books = {"always": np.where(np.isfinite(iv2), 1.0, np.nan),
                 "premium_log_har": signal_weight("premium", iv2, p["F30_log_har"].to_numpy() * MG.ANN, cap=2.0,
                                                  scale=PREMIUM_SCALE[asset], max_multiple=3.0)}
        open_ok = ((p.index >= pd.Timestamp(start) - pd.Timedelta(days=30))
                   & (p.index <= pd.Timestamp(end) - pd.Timedelta(days=30)))
        eval_days = (p.index >= pd.Timestamp(start)) & (p.index <= pd.Timestamp(end))
        for book, w in books.items():
            w = np.where(open_ok, np.nan_to_num(w), 0.0)
            e1 = MG.ladder_exposures(w, 1)
            loss = MG.held_loss(e1, p["rvd"].to_numpy(), iv2)
            shock = MG.shock_margin(e1, iv2)
            ev = eval_days & (np.concatenate([[0.0], np.abs(e1["C"].to_numpy()[:-1])]) > 0)
            held = np.roll(ev, -1) | ev
            base = MG.exceedances(np.where(ev, loss, np.nan), np.where(held, shock, np.nan))
            rows.append({"asset": asset, "book": book, "margin": "shock_1.5x", "forecaster": "-", **base, "kappa": 1.0,
                         "max_day_loss": float(np.nanmax(np.where(ev, loss, np.nan)))})
            for fc in names:
                for cand, (h, level) in MARGIN_CANDIDATES.items():
                    rho = p[f"rv_{h}"].to_numpy() / p[f"F{h}_{fc}"].to_numpy()
                    es = MG.es_margin(MG.ladder_exposures(w, h), iv2, p[f"F{h}_{fc}"].to_numpy(), rho,
                                      p[f"dlogiv_{h}"].to_numpy(), h, level)
                    m_ev, sh_ev = np.where(held, es, np.nan), np.where(held, shock, np.nan)
                    both = np.isfinite(m_ev) & np.isfinite(sh_ev)
                    kappa = np.nanmean(sh_ev[both]) / np.nanmean(m_ev[both])
                    scaled = {"equal_mean": kappa, "raw": 1.0}
                    if cand == "es7d_975":
                        scaled["frozen_kappa"] = FROZEN_KAPPA[f"{asset}|{book}"]
                    for how, k in scaled.items():
                        rows.append({"asset": asset, "book": book, "margin": f"{cand}@{how}", "forecaster": fc,
                                     **MG.exceedances(np.where(ev, loss, np.nan), k * m_ev), "kappa": k})
        print(f"margin {asset} done", flush=True)
    pd.DataFrame(rows).to_csv(OUT / "margin.csv", index=False)


def main(argv: list[str] | None = None) -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=1000, help="draws of the Acerbi-Szekely Z2 p-values")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--report-only", action="store_true", help="tables and goal lines from the saved CSVs")
    parser.add_argument("--no-backtrader", action="store_true", help="skip the Backtrader runs of the LSTM-IV books")
    args = parser.parse_args(argv)
    OUT = Path(args.out)
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        import torch

        torch.set_num_threads(1)
        risk_part(args.sims)
        calibration_part()
        leverage_part()
        margin_part()
        if not args.no_backtrader:
            backtrader_part()
    from risk_goals import report

    report(OUT)


if __name__ == "__main__":
    main()
