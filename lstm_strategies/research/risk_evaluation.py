"""Backtests of risk forecasts: ``lstm-strategies evaluate --risk`` and the risk race.

For every forecaster, the 1-day VaR (99%) and ES (97.5%) and the 7-day VaR (97.5% and 95%) and ES
(97.5%), long and short, made by filtered historical simulation of its own standardised returns
(:mod:`lstm_strategies.forecasters.risk`; the frozen specs of :func:`~lstm_strategies.stats.tail_risk.
default_spec`), are scored on the origins from ``start`` to ``end``:

* **coverage** per tail (:func:`~lstm_strategies.stats.risk_backtests.coverage_summary`): breaches and
  their rate, Kupiec, Christoffersen independence and conditional coverage, Basel zones per calendar
  year (the year's own binomial cut-offs: 365 days at 99% -> green 0-6, yellow 7-12, red 13+; years under
  60 days not zoned); at 7 days the overlap-robust Hansen-Hodrick t-test and the non-overlapping Kupiec
  tests (Bonferroni) instead;
* **the ES**: loss/ES on the days the loss exceeded the VaR at the ES's level (1 when right), McNeil-Frey
  (one-sided, 2,000 centred-bootstrap draws) and Acerbi-Szekely Z2 (p-value simulated from each day's own
  predictive law, ``sims`` draws) at 1 day;
* **FZ0** (Patton, Ziegel & Chen 2019) at 97.5%, the mean of the long and short tails' losses per day,
  with Diebold-Mariano (HLN) tests against the references (log-HAR, HAR-IV, the LSTM), on the days every
  forecaster has a forecast.

The pools need forecasts before ``start``: every forecaster forecasts the data from its first bar
(a network's in-sample residuals stay in its pool, the frozen choice; its scored origins must be out of
sample). Files hold fractions; printed tables percent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_strategies.core.atomic import atomic_write
from lstm_strategies.forecasters.risk import risk_inputs
from lstm_strategies.stats import risk_backtests as B
from lstm_strategies.stats.tail_risk import default_spec, forecast_risk, null_sampler

#: forecasters every other one is compared with on FZ0 (those present)
RISK_REFERENCES = ("log_har", "har_iv", "lstm")
#: the VaR levels scored per horizon (the ES is at 97.5% for both)
LEVELS = {1: (0.99,), 7: (0.975, 0.95)}


def scored_mask(index: pd.DatetimeIndex, start=None, end=None) -> np.ndarray:
    """Origins stamped from ``start`` to ``end`` (days; the end day's own origin included)."""
    keep = np.ones(len(index), dtype=bool)
    if start is not None:
        keep &= index >= pd.Timestamp(start, tz="UTC")
    if end is not None:
        keep &= index <= pd.Timestamp(end, tz="UTC") + pd.Timedelta("1D")
    return keep


def score_risk(risk: pd.DataFrame, start=None, end=None, horizon: int = 1, var_level: float = 0.99,
               es_level: float = 0.975, sims: int = 0, mf_reps: int = 2000, sides=("long", "short")) -> list[dict]:
    """Per tail: coverage, ES ratio, McNeil-Frey and Acerbi-Szekely Z2 (1 day; Z2 when ``sims``), mean FZ0.

    ``risk`` is a :func:`~lstm_strategies.stats.tail_risk.forecast_risk` frame over *all* origins with a
    ``ret`` column (the realised h-day return); the Z2 draws cover every origin and keep the scored ones,
    so a p-value does not depend on the scored window's position in the history."""
    m = scored_mask(risk.index, start, end) & risk["ret"].notna().to_numpy() & risk["var_long"].notna().to_numpy()
    sub, rr = risk[m], risk["ret"][m]
    sampler = None
    if sims:
        draw = null_sampler(risk)
        sampler = lambda n: draw(n)[:, m]  # noqa: E731
    rows = []
    for side in sides:
        row = {"side": side, **B.coverage_summary(rr, sub[f"var_{side}"], var_level, side, horizon)}
        er = B.es_ratio(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], side)
        row.update({"es_ratio": er["ratio"], "es_days": er["days"]})
        if horizon == 1:
            row["mf_p"] = B.mcneil_frey(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], sub["sigma"], side,
                                        reps=mf_reps)["pvalue"]
            if sampler is not None:
                row["z2_p"] = B.acerbi_szekely_z2(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], sub["sigma"],
                                                  es_level, side, sampler, sims)["pvalue"]
        row["fz0"] = float(np.mean(B.fz0_loss(rr, sub[f"var_es_{side}"], sub[f"es_{side}"], es_level, side)))
        method = risk.attrs["spec"].method
        row["fallback_share"] = float((sub["source"] != "fhs").mean()) if method == "fhs" else 1.0
        rows.append(row)
    return rows


def fz0_daily(risk: pd.DataFrame, start=None, end=None, es_level: float = 0.975) -> pd.Series:
    """The daily two-tail FZ0 (mean of the long and the short tail's loss) on the scored origins."""
    m = scored_mask(risk.index, start, end) & risk["ret"].notna().to_numpy() & risk["var_long"].notna().to_numpy()
    sub, rr = risk[m], risk["ret"][m]
    lo = B.fz0_loss(rr, sub["var_es_long"], sub["es_long"], es_level, "long")
    hi = B.fz0_loss(rr, sub["var_es_short"], sub["es_short"], es_level, "short")
    return pd.Series(0.5 * (lo + hi), index=sub.index)


def fz0_tests(fz: dict[str, pd.Series], horizon: int = 1, refs=RISK_REFERENCES) -> list[dict]:
    """Each forecaster against each reference present: mean FZ0s, the difference, DM (HLN) on the days every
    forecaster has a loss (a NaN p-value where two forecasts are the same)."""
    frame = pd.DataFrame(fz).dropna()
    rows = []
    for name in frame:
        for ref in refs:
            if ref == name or ref not in frame:
                continue
            d = B.dm_test(frame[name], frame[ref], horizon=horizon)
            rows.append({"h": horizon, "forecaster": name, "vs": ref, "fz0": frame[name].mean(),
                         "fz0_ref": frame[ref].mean(), "diff": d["mean_diff"], "dm_stat": d["stat"],
                         "dm_p": d["pvalue"], "n": d["n"]})
    return rows


def zones_by_year(risk: pd.DataFrame, start=None, end=None, var_level: float = 0.99) -> pd.DataFrame:
    """The Basel zones per calendar year and tail (``traffic_light``), one row per year and side."""
    m = scored_mask(risk.index, start, end) & risk["ret"].notna().to_numpy() & risk["var_long"].notna().to_numpy()
    out = []
    for side in ("long", "short"):
        hits = pd.Series(B.breaches(risk["ret"][m], risk[f"var_{side}"][m], side), index=risk.index[m])
        out.append(B.traffic_light(hits, 1.0 - var_level).reset_index().assign(side=side))
    return pd.concat(out, ignore_index=True)


@dataclass
class RiskEvaluation:
    """What :func:`evaluate_risk` measured (fractions)."""

    one_day: pd.DataFrame
    seven_day: pd.DataFrame
    fz0_dm: pd.DataFrame
    by_year: pd.DataFrame
    notes: dict = field(default_factory=dict)


def risk_forecasters(model: str = "btc-1h", implied: pd.Series | None = None, iv_model: str | None = None,
                     calendar: str = "crypto") -> dict:
    """Every registered forecaster taking part (:func:`~lstm_strategies.forecasters.scoring.scored`): the LSTM
    ``model``, every baseline whose inputs are given and, with ``implied``, the LSTM-IV ``iv_model``; no
    self-refitting model."""
    from lstm_strategies.data.calendar import get_calendar
    from lstm_strategies.forecasters.registry import make_forecaster
    from lstm_strategies.forecasters.scoring import ScoringSetup, scored

    setup = ScoringSetup(model=model, horizons=tuple(get_calendar(calendar).horizons), calendar=calendar,
                         inputs=frozenset() if implied is None else frozenset({"implied_vol"}), iv_model=iv_model)
    # a checkpoint on another calendar is a ConfigError of make_forecaster
    models = {column: make_forecaster(name, calendar, **params) for column, (name, params) in scored(setup).items()}
    inputs = {} if implied is None else {"implied_vol": implied}
    for m in models.values():
        if m.inputs:
            m.set_inputs(**{k: inputs[k] for k in m.inputs})
    return models


def evaluate_risk(df: pd.DataFrame, forecasters: dict, start: str, end: str | None = None, sims: int = 1000,
                  progress: bool = False, inputs: dict | None = None) -> RiskEvaluation:
    """The risk backtests of every forecaster on the origins ``start`` .. ``end`` (7 days: to ``end`` - 6).

    ``inputs`` (name -> :func:`~lstm_strategies.forecasters.risk.risk_inputs`) skips the forecasting."""
    from tqdm.auto import tqdm

    from lstm_strategies.core.errors import LeakageError

    first = pd.Timestamp(start, tz="UTC")
    end7 = None if end is None else str((pd.Timestamp(end) - pd.Timedelta(days=6)).date())
    rows1, rows7, years, notes = [], [], [], {}
    fz: dict[int, dict[str, pd.Series]] = {1: {}, 7: {}}
    for name, f in tqdm(forecasters.items(), desc="risk", unit="forecaster", leave=False, disable=not progress):
        check = getattr(f, "check_out_of_sample", None)
        if check is not None:
            try:
                check(first)
            except LeakageError as exc:
                raise LeakageError(f"{name}: {exc}") from None
        frame = inputs[name] if inputs and name in inputs else risk_inputs(f, df, [1, 7])
        for h in (1, 7):
            for level in LEVELS[h]:
                risk = forecast_risk(frame[f"var_{h}d"], frame[f"ret_{h}d"], default_spec(h, var_level=level))
                risk["ret"] = frame[f"ret_{h}d"]
                stop = end if h == 1 else end7
                for row in score_risk(risk, start, stop, h, level, sims=sims if h == 1 else 0):
                    (rows1 if h == 1 else rows7).append({"forecaster": name, "level": level, **row})
                if level == LEVELS[h][0]:
                    fz[h][name] = fz0_daily(risk, start, stop)
                    if h == 1:
                        years.append(zones_by_year(risk, start, stop, level).assign(forecaster=name))
        pool = getattr(f, "train_end", None)
        if pool is not None:
            notes[f"{name}_pool"] = f"its pool holds its in-sample residuals (trained to {pool.date()})"
    dm = pd.DataFrame(fz0_tests(fz[1], 1) + fz0_tests(fz[7], 7))
    return RiskEvaluation(pd.DataFrame(rows1), pd.DataFrame(rows7), dm, pd.concat(years, ignore_index=True), notes)


def write_risk(ev: RiskEvaluation, out) -> list[str]:
    """``risk_1d.csv``, ``risk_7d.csv``, ``risk_fz0_dm.csv``, ``risk_by_year.csv`` (fractions) into ``out``."""
    names = []
    for name, table in (("risk_1d", ev.one_day), ("risk_7d", ev.seven_day), ("risk_fz0_dm", ev.fz0_dm),
                        ("risk_by_year", ev.by_year)):
        atomic_write(out / f"{name}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
        names.append(f"{name}.csv")
    return names


def percent_table(rows: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """A risk table for people: rates in percent, p-values and ratios as they are."""
    cols = ["forecaster", "level", "side", "n", "breaches", "rate", "kupiec_p"]
    cols += (["ind_p", "cc_p", "yellow_years", "red_years", "zones", "es_ratio", "mf_p", "z2_p"] if horizon == 1
             else ["hac_p", "nonoverlap_bonf_p", "es_ratio"])
    cols += ["fz0", "fallback_share"]
    table = rows[[c for c in cols if c in rows]].copy()
    table["rate"] = 100 * table["rate"]
    table["fallback_share"] = 100 * table["fallback_share"]
    return table.rename(columns={"rate": "rate_%", "fallback_share": "fallback_%"})


def print_risk(ev: RiskEvaluation) -> None:
    """The tables and the FZ0 tests on stdout (percent)."""
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_rows", 200,
                           "display.float_format", "{:.3f}".format):
        print("\n1-day VaR 99% / ES 97.5% (FHS 250): breach rate per tail (1% expected), coverage tests, Basel "
              "zones per year, loss/ES on breach days, ES tests, FZ0 at 97.5%")
        print(percent_table(ev.one_day, 1).to_string(index=False))
        print("\n7-day VaR 97.5% and 95% / ES 97.5% (FHS 500), overlap-robust coverage tests")
        print(percent_table(ev.seven_day, 7).to_string(index=False))
        if len(ev.fz0_dm):
            print("\nFZ0 (two tails, 97.5%): difference against each reference (negative: better) and DM-HLN p-value")
            print(ev.fz0_dm.to_string(index=False))
    for key, text in ev.notes.items():
        print(f"note ({key}): {text}")


def risk_cli(args, df: pd.DataFrame, implied, iv_model, out) -> None:
    """``lstm-strategies evaluate --risk``: the risk backtests of the evaluated forecasters, written to ``out``."""
    models = risk_forecasters(args.model, implied, iv_model)
    ev = evaluate_risk(df, models, args.start, args.end, sims=args.risk_sims, progress=True)
    print_risk(ev)
    print(f"wrote {', '.join(write_risk(ev, out))} into {out}")
