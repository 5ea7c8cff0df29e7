"""Step 7: the single test-period run (2023-01-01 -> 2026-04-06) of the designs frozen in REPORT.md, section 6.

Nothing here chooses anything: every parameter comes from designs.py / the frozen constants below.
Writes out/test_*.csv and out/test_goals.txt (the goal lines with their power numbers).
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import statsmodels.api as sm

import power as pw
from bands import BandPolicy
from common import ASSETS, CACHE, DECISION_TEST, HORIZONS, OUT, TEST, daily_frame, load_cache, qlike
from designs import anchored, calibrated
from straddle_sim import book_daily, hourly_grid, simulate

sys.path.insert(0, "/work/frozen/docs/research/variance")
import varswap  # noqa: E402

# ---- frozen (REPORT.md section 6) ------------------------------------------------------------------
TODAY_HEDGE = BandPolicy("fixed", band=0.05)
NEW_HEDGE = BandPolicy("ww", risk_aversion=34.0, check="bar", vol="forecast")
STRADDLE_RULE = (0.8, 1.5)
SWAP_RULE = (0.8, 1.2)
SIZED_NORM = {"btc": 4.68733719000384, "eth": 6.844895575933993}
OLD_NORM = {"btc": 4.98836, "eth": 5.20745}     # 0.3.0's premium log-HAR (reference)
GAMMAS = [1, 3, 10, 30, 100, 300, 1000, 3000]
LINES: list[str] = []


def say(line: str) -> None:
    LINES.append(line)
    print(line, flush=True)


def stationary_boot(n: int, reps: int, block: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(reps):
        yield pw.stationary_bootstrap_indices(n, block, rng)


# ---- 1. bias and accuracy ---------------------------------------------------------------------------
def forecasts(asset: str) -> tuple[dict, dict]:
    c = load_cache(asset)
    wins = dict(np.load(CACHE / f"windows_{asset}.npz"))
    f = {"log_har": c["log_har"], "har_iv": c["har_iv"], "garch": wins["garch|expanding"], "ewma": c["ewma"],
         "lstm": c["lstm"], "lstm_iv": c["lstm_iv"], "implied": c["implied"], "implied_level": c["implied_level"],
         "log_har_cal": calibrated(asset, "log_har", c, wins), "har_iv_cal": calibrated(asset, "har_iv", c, wins),
         "garch_cal": calibrated(asset, "garch", c, wins), "lstm_cal": calibrated(asset, "lstm", c, wins),
         "lstm_iv_cal": calibrated(asset, "lstm_iv", c, wins), "anchor": anchored(asset, c)}
    return c, f


def bias_rows(c: dict, F: np.ndarray, name: str, asset: str) -> list[dict]:
    d = daily_frame(c, F, *TEST)
    rows = []
    for h in HORIZONS:
        sub = d[[f"rv{h}", f"f{h}"]].dropna()
        for yr, g in sub.groupby(sub.index.year):
            rv, f = g[f"rv{h}"].to_numpy(), g[f"f{h}"].to_numpy()
            r = rv.mean() / f.mean()
            z = (rv - r * f) / f.mean()
            lags = pw.newey_west_lags(len(z), h)
            se = math.sqrt(pw.newey_west_variance(z, lags) / len(z))
            rows.append({"asset": asset, "fc": name, "year": yr, "h": h, "n": len(g), "bias": r, "se": se,
                         "lo": r - 1.96 * se, "hi": r + 1.96 * se, "mde": pw.mde_from_se(se),
                         "qlike": float(qlike(rv, f).mean())})
    return rows


def accuracy_rows(c: dict, fc: dict, asset: str) -> list[dict]:
    """QLIKE ratio of each calibrated forecaster to its 0.3.0 version and of the anchor to raw DVOL^2, DM and MDE."""
    from lstm_strategies.evaluation import diebold_mariano

    pairs = [("log_har_cal", "log_har"), ("har_iv_cal", "har_iv"), ("garch_cal", "garch"), ("lstm_cal", "lstm"),
             ("lstm_iv_cal", "lstm_iv"), ("anchor", "implied"), ("implied_level", "implied"), ("har_iv", "implied"),
             ("har_iv_cal", "implied"), ("log_har_cal", "implied"), ("lstm_iv_cal", "implied")]
    rows = []
    for a, b in pairs:
        da, db = daily_frame(c, fc[a], *TEST), daily_frame(c, fc[b], *TEST)
        for j, h in enumerate(HORIZONS):
            m = pd.concat([da[[f"rv{h}", f"f{h}"]], db[[f"f{h}"]].rename(columns={f"f{h}": "g"})], axis=1).dropna()
            if b == "implied" and h != 30:
                continue
            la, lb = qlike(m[f"rv{h}"], m[f"f{h}"]), qlike(m[f"rv{h}"], m["g"])
            dm = diebold_mariano(m[f"rv{h}"], m[f"f{h}"], m["g"], horizon=h)
            p = pw.dm_power(np.asarray(la), np.asarray(lb), horizon=h)
            row = {"asset": asset, "fc": a, "vs": b, "h": h, "n": len(m), "ratio": p["ratio"], "dm_p": dm["pvalue"],
                   "mde_ratio_low": p["mde_ratio_low"], "mde_ratio_high": p["mde_ratio_high"],
                   "n_required": p["n_required"]}
            if b == "implied":   # encompassing: log RV = a + b1 log DVOL^2 + b2 log F, NW 30 lags
                X = sm.add_constant(np.column_stack([np.log(m["g"].to_numpy()), np.log(m[f"f{h}"].to_numpy())]))
                res = sm.OLS(np.log(m[f"rv{h}"].to_numpy()), np.asarray(X)).fit(cov_type="HAC", cov_kwds={"maxlags": 30})
                row.update(b_dvol=res.params[1], p_dvol=res.pvalues[1], b_model=res.params[2], p_model=res.pvalues[2],
                           se_model=res.bse[2], mde_b_model=pw.mde_from_se(res.bse[2]))
            rows.append(row)
    return rows


# ---- 3. hedging -------------------------------------------------------------------------------------
def fvol(fc: dict) -> np.ndarray:
    return np.sqrt(fc["log_har_cal"][:, 2] * 365.0 / 30.0)


def sd_ratio_ci(a: np.ndarray, b: np.ndarray, reps: int = 2000, block: float = 30.0) -> tuple[float, float, float, float]:
    """sd(a)/sd(b) over paired origins, stationary-bootstrap 95% CI and the MDE of the ratio (80% power):
    ``exp(-2.80 se(log ratio))``."""
    est = a.std(ddof=1) / b.std(ddof=1)
    draws = np.array([a[i].std(ddof=1) / b[i].std(ddof=1) for i in stationary_boot(len(a), reps, block, 1)])
    se = np.log(draws).std(ddof=1)
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return est, lo, hi, math.exp(-pw.mde_from_se(se))


# ---- main -------------------------------------------------------------------------------------------
def main() -> None:
    pd.set_option("display.width", 250)
    bias, acc, hedge, front, dec, swaps, sized = [], [], [], [], [], [], []
    days = pd.date_range(*DECISION_TEST)
    for asset in ASSETS:
        c, fc = forecasts(asset)
        for name, F in fc.items():
            bias += bias_rows(c, F, name, asset)
        acc += accuracy_rows(c, fc, asset)

        # hedging
        g = hourly_grid(c, {"fvol": fvol(fc)})
        tr0, d0, dl0 = simulate(g, days, TODAY_HEDGE)
        tr1, d1, dl1 = simulate(g, days, NEW_HEDGE, hedge_vol="fvol")
        b0 = book_daily(d0, dl0, np.ones(len(days)), days)
        b1 = book_daily(d1, dl1, np.ones(len(days)), days)
        est, lo, hi, mde = sd_ratio_ci(tr1["net"].to_numpy(), tr0["net"].to_numpy())
        best, blo, bhi, bmde = sd_ratio_ci(b1.to_numpy(), b0.to_numpy())
        fams = {"fixed_daily": [BandPolicy("fixed", band=b) for b in [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3]],
                "fixed_bar": [BandPolicy("fixed", band=b, check="bar") for b in [0.05, 0.1, 0.15, 0.2, 0.3, 0.4]],
                "ww_iv_bar": [BandPolicy("ww", risk_aversion=x, check="bar") for x in GAMMAS],
                "ww_fc_bar": [BandPolicy("ww", risk_aversion=x, check="bar", vol="forecast") for x in GAMMAS]}
        for fam, pols in fams.items():
            for p in pols:
                tr, _, _ = simulate(g, days, p, hedge_vol="fvol" if p.vol == "forecast" else "iv")
                front.append({"asset": asset, "family": fam, "param": p.band if p.kind == "fixed" else p.risk_aversion,
                              "cost": tr["hedge_cost"].mean() * 100, "sd": tr["net"].std() * 100,
                              "mean": tr["net"].mean() * 100})
        fr = pd.DataFrame([r for r in front if r["asset"] == asset and r["family"] == "ww_fc_bar"]).sort_values("cost")
        at_cost = float(np.interp(tr0["hedge_cost"].mean() * 100, fr["cost"], fr["sd"]))
        hedge.append({"asset": asset, "today_cost": tr0["hedge_cost"].mean() * 100, "new_cost": tr1["hedge_cost"].mean() * 100,
                      "today_sd": tr0["net"].std() * 100, "new_sd": tr1["net"].std() * 100, "sd_ratio": est,
                      "sd_ratio_lo": lo, "sd_ratio_hi": hi, "sd_ratio_mde": mde,
                      "frontier_sd_at_today_cost": at_cost, "frontier_ratio": at_cost / (tr0["net"].std() * 100),
                      "book_sd_ratio": best, "book_lo": blo, "book_hi": bhi, "book_mde": bmde,
                      "today_mean": tr0["net"].mean() * 100, "new_mean": tr1["net"].mean() * 100,
                      "today_trades": tr0["hedge_trades"].mean(), "new_trades": tr1["hedge_trades"].mean()})

        # short / flat / long straddles
        p = varswap_panel(c, fc)
        for hedge_name, (tr, d, dl) in {"today": (tr0, d0, dl0), "new": (tr1, d1, dl1)}.items():
            always_book = book_daily(d, dl, np.ones(len(days)), days)
            for fname in ["log_har_cal", "log_har", "lstm_iv_cal", "lstm_cal", "har_iv_cal", "anchor"]:
                x = (p[f"F_{fname}"] / p["iv2"]).reindex(days).to_numpy()
                a, b = STRADDLE_RULE
                w = np.where(x <= a, 1.0, np.where(x >= b, -1.0, 0.0))
                w[~np.isfinite(x)] = 0.0
                signed = np.where(w > 0, tr["net"], np.where(w < 0, tr["net_long"], np.nan))
                short = tr["net"].to_numpy()
                lift = np.nanmean(signed) - short.mean()
                draws = []
                for idx in stationary_boot(len(days), 2000, 30.0, 2):
                    s_ = signed[idx]
                    if np.isfinite(s_).any():
                        draws.append(np.nanmean(s_) - short[idx].mean())
                draws = np.array(draws)
                se = draws.std(ddof=1)
                book = book_daily(d, dl, w, days)
                dec.append({"asset": asset, "hedge": hedge_name, "fc": fname, "n_traded": int((w != 0).sum()),
                            "share": float((w != 0).mean()), "share_long": float((w < 0).mean()),
                            "always_mean": short.mean() * 100, "rule_mean": np.nanmean(signed) * 100,
                            "lift": lift * 100, "lo": np.quantile(draws, 0.025) * 100, "hi": np.quantile(draws, 0.975) * 100,
                            "mde": pw.mde_from_se(se) * 100, "n_required_days": pw.required_n(lift, len(days) * se**2),
                            "book_sd_ratio": book.std() / always_book.std(),
                            "book_sharpe": book.mean() / book.std() * math.sqrt(365),
                            "always_book_sharpe": always_book.mean() / always_book.std() * math.sqrt(365)})

        # swaps: short/flat/long and the sized book
        a0 = varswap.run_book(p, varswap.rule_always(p), *DECISION_TEST)
        ma = varswap.metrics(a0)
        swaps.append({"asset": asset, "book": "always", **{k: ma[k] for k in ("sharpe", "pnl_yr", "worst30", "loss_ratio", "trade_share")}})
        for fname in ["log_har_cal", "lstm_iv_cal", "log_har"]:
            a, b = SWAP_RULE
            x = p[f"F_{fname}"] / p["iv2"]
            w = pd.Series(np.where(x <= a, 1.0, np.where(x >= b, -1.0, 0.0)), index=p.index).where(x.notna())
            bk = varswap.run_book(p, w, *DECISION_TEST)
            swaps.append(swap_row(asset, f"sfl_{fname}", bk, a0, ma))
        for name, fname, norm in [("sized_log_har_cal", "log_har_cal", SIZED_NORM[asset]),
                                  ("sized_log_har_030", "log_har", OLD_NORM[asset])]:
            raw = varswap.rule_premium(p, fname, cap=2.0)
            w = (raw * norm).clip(upper=varswap.LEV_CAP)
            bk = varswap.run_book(p, w, *DECISION_TEST)
            row = swap_row(asset, name, bk, a0, ma)
            row["mean_multiple"] = float(w.loc[DECISION_TEST[0]:DECISION_TEST[1]].fillna(0).mean())
            sized.append(row)
            swaps.append(row)

    B, A, H, FR, D, S = (pd.DataFrame(x) for x in (bias, acc, hedge, front, dec, swaps))
    for name, t in {"bias": B, "accuracy": A, "hedge": H, "hedge_frontier": FR, "straddle_rule": D, "swaps": S}.items():
        t.to_csv(OUT / f"test_{name}.csv", index=False)
    goals(B, A, H, D, S)
    (OUT / "test_goals.txt").write_text("\n".join(LINES) + "\n")


def varswap_panel(c: dict, fc: dict) -> pd.DataFrame:
    from common import daily_panel

    return daily_panel(c, {k: fc[k] for k in ("log_har_cal", "log_har", "lstm_iv_cal", "lstm_cal", "har_iv_cal",
                                               "anchor")})


def swap_row(asset: str, name: str, bk, a0, ma: dict) -> dict:
    m = varswap.metrics(bk)
    x, y = bk.daily["pnl"], a0.daily["pnl"].reindex(bk.daily.index)
    test = varswap.sharpe_test(x, y)
    pw_ = pw.sharpe_diff_power(x.to_numpy(), y.to_numpy(), 365, method="hac")
    return {"asset": asset, "book": name, **{k: m[k] for k in ("sharpe", "pnl_yr", "worst30", "loss_ratio", "trade_share")},
            "loss_ratio_rel": m["loss_ratio"] / ma["loss_ratio"] if ma["loss_ratio"] > 0 and np.isfinite(ma["loss_ratio"]) else np.nan,
            "d_sharpe": test["diff"], "p_boot": test["pvalue"], "mde_sharpe": pw_["mde"], "years_required": pw_["years_required"]}


def goals(B, A, H, D, S) -> None:
    say("== goal 1: bias ratio within 0.9-1.1 at 7 and 30 days in each of 2023, 2024, 2025 ==")
    for fcn in ["log_har_cal", "har_iv_cal", "garch_cal", "lstm_cal", "lstm_iv_cal", "anchor",
                "log_har", "har_iv", "garch", "lstm", "lstm_iv", "ewma", "implied", "implied_level"]:
        parts, met = [], True
        for asset in ASSETS:
            g = B[(B.fc == fcn) & (B.asset == asset) & (B.h.isin([7, 30])) & (B.year.isin([2023, 2024, 2025]))]
            ok = ((g.bias >= 0.9) & (g.bias <= 1.1)).all()
            met &= bool(ok)
            parts.append(f"{asset}: " + ", ".join(f"{r.year} {r.h}d {r.bias:.2f}±{1.96 * r.se:.2f}" for r in g.itertuples()))
        tag = "goal" if fcn.endswith("_cal") or fcn == "anchor" else "reference (0.3.0)"
        say(f"{tag} {fcn}: {'met' if met else 'not met'} ({'; '.join(parts)})")
    mde = B[(B.fc == "log_har_cal") & (B.h == 30) & (B.year.isin([2023, 2024, 2025]))]["mde"]
    say(f"  power: a year's 30-day bias ratio has se {B[(B.h == 30) & B.year.isin([2023, 2024, 2025])]['se'].median():.3f} "
        f"(median), MDE of a deviation from 1 at 80% power {mde.min():.2f}-{mde.max():.2f} (log-HAR cal); 7 days "
        f"{B[(B.fc == 'log_har_cal') & (B.h == 7) & B.year.isin([2023, 2024, 2025])]['mde'].median():.2f}")
    say("== goal 2: 30-day QLIKE <= 1.0x raw DVOL^2 for the anchored forecast (stretch 0.95x with a significant encompassing coefficient) ==")
    for fcn in ["anchor", "implied_level", "har_iv", "har_iv_cal", "log_har_cal", "lstm_iv_cal"]:
        g = A[(A.fc == fcn) & (A.vs == "implied") & (A.h == 30)]
        met = (g.ratio <= 1.0).all()
        stretch = ((g.ratio <= 0.95) & (g.p_model < 0.05)).all()
        tag = "goal" if fcn == "anchor" else "reference"
        say(f"{tag} {fcn}: {'met' if met else 'not met'}, stretch {'met' if stretch else 'not met'} (" + "; ".join(
            f"{r.asset} {r.ratio:.3f}x (DM p {r.dm_p:.2g}; detectable at 80%: <= {r.mde_ratio_low:.3f}x or >= "
            f"{r.mde_ratio_high:.3f}x; n for this ratio {r.n_required:,.0f}), encompassing b_model {r.b_model:.2f} "
            f"(p {r.p_model:.2g}, MDE {r.mde_b_model:.2f}), b_dvol {r.b_dvol:.2f}" for r in g.itertuples()) + ")")
    say("  calibrated vs 0.3.0 QLIKE (ratio, DM p, MDE ratio): " + "; ".join(
        f"{r.asset} {r.fc} {r.h}d {r.ratio:.3f} (p {r.dm_p:.2g}, +-{1 - r.mde_ratio_low:.3f})"
        for r in A[A.vs != "implied"].itertuples()))
    say("== goal 3: at equal hedge cost, per-straddle P&L sd >= 15% lower than today's daily 5% band ==")
    met = bool(((1 - H.sd_ratio) >= 0.15).all())
    say(f"goal hedge (WW at forecast, gamma_r 34, every bar): {'met' if met else 'not met'} (" + "; ".join(
        f"{r.asset}: sd {r.new_sd:.2f}% vs {r.today_sd:.2f}% = {1 - r.sd_ratio:+.1%} lower (95% CI of the ratio "
        f"{r.sd_ratio_lo:.3f}-{r.sd_ratio_hi:.3f}; detectable at 80%: ratio <= {r.sd_ratio_mde:.3f}), hedge cost "
        f"{r.new_cost:.3f}% vs {r.today_cost:.3f}%; frozen family's frontier at today's cost: "
        f"{1 - r.frontier_ratio:+.1%}; daily book sd {1 - r.book_sd_ratio:+.1%} (CI {1 - r.book_hi:+.1%}..{1 - r.book_lo:+.1%})"
        for r in H.itertuples()) + ")")
    say("== goal 4: short/flat/long lifts mean P&L per straddle by >= 0.5% of spot over always-short, 95% CI excluding 0, book sd <= 1.05x ==")
    for hedge_name in ["today", "new"]:
        for fcn in ["log_har_cal", "lstm_iv_cal", "log_har", "lstm_cal", "har_iv_cal", "anchor"]:
            g = D[(D.fc == fcn) & (D.hedge == hedge_name)]
            met = bool(((g.lift >= 0.5) & (g.lo > 0) & (g.book_sd_ratio <= 1.05)).all())
            tag = "goal" if (fcn == "log_har_cal" and hedge_name == "today") else "reported"
            say(f"{tag} straddle rule {fcn} (hedge {hedge_name}): {'met' if met else 'not met'} (" + "; ".join(
                f"{r.asset}: {r.rule_mean:+.2f}% vs always {r.always_mean:+.2f}%, lift {r.lift:+.2f} (95% CI "
                f"{r.lo:+.2f}..{r.hi:+.2f}; MDE {r.mde:.2f}; days needed for this lift {r.n_required_days:,.0f}), "
                f"{r.n_traded} straddles ({r.share:.0%} of days, {r.share_long:.0%} long), book sd {r.book_sd_ratio:.2f}x"
                for r in g.itertuples()) + ")")
    say("== swaps: short/flat/long ladder (x <= 0.8 short, >= 1.2 long) and the sized book ==")
    for r in S.itertuples():
        say(f"  {r.asset} {r.book}: Sharpe {r.sharpe:.2f}, P&L/yr {r.pnl_yr:,.0f}, worst30 {r.worst30:,.0f}, "
            f"worst30/annual {r.loss_ratio:.3f}" + (f" ({r.loss_ratio_rel:.2f}x always)" if np.isfinite(getattr(r, 'loss_ratio_rel', np.nan)) else "")
            + f", days traded {r.trade_share:.0%}" + (f", dSharpe vs always {r.d_sharpe:+.2f} (p {r.p_boot:.2f}, MDE {r.mde_sharpe:.2f}, "
                                                        f"years needed {r.years_required:.0f})" if np.isfinite(getattr(r, 'd_sharpe', np.nan)) else ""))
    g = S[(S.book == "sized_log_har_cal") & (S.asset == "btc")].iloc[0]
    a = S[(S.book == "always") & (S.asset == "btc")].iloc[0]
    met = g.loss_ratio_rel <= 0.5 and g.sharpe >= a.sharpe
    say(f"goal sized short-variance book (log-HAR cal): {'met' if met else 'not met'} (btc: worst30/annual P&L "
        f"{g.loss_ratio:.3f} = {g.loss_ratio_rel:.2f}x always-sell's {a.loss_ratio:.3f} (needs <= 0.5x); Sharpe "
        f"{g.sharpe:.2f} vs {a.sharpe:.2f} (p {g.p_boot:.2f}; MDE {g.mde_sharpe:.2f} Sharpe points; years to detect "
        f"this difference {g.years_required:.0f}))")


if __name__ == "__main__":
    if "--dry-run" in sys.argv:   # debug the script on the selection period (no test data read)
        TEST = ("2021-06-01", "2022-11-30")
        DECISION_TEST = ("2021-06-01", "2022-12-01")
        OUT = OUT / "dryrun"
        OUT.mkdir(exist_ok=True)
    main()
