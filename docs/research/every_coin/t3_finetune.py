"""Table 3: the self-refitting LSTM from pretrained weights (fine-tuning recipe and validation rule), 2021.

Folds end 2020-12-31 and 2021-06-30 (6-month folds; each forecasts the next half of 2021); the
pretrained weights never saw 2021. Two scenarios:

* ``new`` (as SOL): the coin is unseen by the pretraining: BTC fine-tunes the ETH model and ETH the
  BTC model (both trained to 2020-12-31), on the coin's own bars from N = 6, 12, 18 months before
  2021-01-01.
* ``cont`` (as BTC/ETH after 2021): the pooled BTC+ETH model (to 2020-12-31) fine-tuned on the coin's
  full history (the first fold adds no new bar; the second adds six months).

Every variant uses the shrinkage head chosen in Table 2; scored on 2021 against log-HAR refit
monthly on the coin's full history; ``frozen`` is the pretrained network without fine-tuning (the
zero-shot model) and ``scratch`` the library's self-refitting LSTM trained from scratch on each fold
(val_days 365, as ``lstm_refit``; ``scratch_rule`` with the shrinking validation rule); a fold that
cannot be trained falls back to the pretrained network.

    python t3_finetune.py [--stage 1|2|scratch|summary]
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from common import RESULTS, Panel, load_coin, log, score
from finetune import FineTuneConfig, fold_ends
from forecast import head_forecast, refitting
from lstm_strategies.errors import DataError
from lstm_strategies.forecasters.streaming import RollingWindowLSTM
from lstm_strategies.training import TrainConfig, train_ensemble
from shrink import shrink_head
from train_selection_models import selection_model

START, END, FIRST_END = "2021-01-01", "2021-12-31", "2020-12-31"
MONTHS = [6, 12, 18]
OUT = RESULTS / "t3"


def scenarios():
    out = []
    for coin in ("btc", "eth"):
        other = "eth" if coin == "btc" else "btc"
        for months in MONTHS:
            start = pd.Timestamp(START, tz="UTC") - pd.DateOffset(months=months)
            out.append(("new", coin, months, f"sel_{other}", str(start.date())))
        out.append(("cont", coin, 24, "sel_pooled", None))
    return out


_cache: dict = {}


def setup(kind, coin, months, model_name, start):
    key = (kind, coin, months)
    if key not in _cache:
        design = json.loads((RESULTS / "design_shrink.json").read_text())
        pre = selection_model(model_name)
        full = load_coin(coin)
        df = load_coin(coin, start=start)
        panel = Panel(df)
        ref = pd.DataFrame(shrink_head(Panel(full), None, 0.0, min_train_days=180), index=full.index)
        head = head_forecast(panel, pre.prior_ols, design)
        _cache[key] = {"design": design, "pre": pre, "df": df, "panel": panel, "head": head,
                       "log_har_full": ref.reindex(df.index).to_numpy(),
                       "frozen": head * pre.correction(panel.feats)}
    return _cache[key]


def run_config(name: str, cfg: FineTuneConfig) -> pd.DataFrame:
    path = OUT / f"{name}.csv"
    if path.exists():
        return pd.read_csv(path)
    rows, folds = [], []
    t0 = time.perf_counter()
    for kind, coin, months, model_name, start in scenarios():
        s = setup(kind, coin, months, model_name, start)
        flog: list = []
        fc = refitting(s["pre"], s["df"], s["design"], cfg, FIRST_END, stop=END, fold_log=flog, panel=s["panel"])
        table = score(s["df"], {"log_har_full": s["log_har_full"], "frozen": s["frozen"], name: fc}, START, END,
                      reference="log_har_full")
        table = table.assign(kind=kind, coin=coin, months=months)
        rows.append(table[table["model"] != "log_har_full"])
        folds += [f | {"kind": kind, "coin": coin, "months": months} for f in flog]
    out = pd.concat(rows, ignore_index=True).assign(config=name, seconds=time.perf_counter() - t0)
    OUT.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    (OUT / f"{name}_folds.json").write_text(json.dumps({"config": asdict(cfg), "folds": folds}, indent=1,
                                                       default=float))
    log(f"{name}: {time.perf_counter() - t0:.0f} s; " + summary_line(out, name))
    return out


def summary_line(t: pd.DataFrame, name: str) -> str:
    g = t[t["model"] == name]
    return " ".join(f"{kind}:{h}d {np.exp(np.log(g[(g['kind'] == kind) & (g['horizon'] == h)]['ratio']).mean()):.3f}"
                    for kind in ("new", "cont") for h in (1, 7, 30))


def scratch(val_rule: bool) -> pd.DataFrame:
    """The library's recipe from scratch on each fold (train_ensemble), with its val_days or the rule."""
    name = "scratch_rule" if val_rule else "scratch"
    path = OUT / f"{name}.csv"
    if path.exists():
        return pd.read_csv(path)
    frac = json.loads((RESULTS / "design_finetune.json").read_text())["val_frac"] if val_rule else None
    rows, folds = [], []
    for kind, coin, months, model_name, start in scenarios():
        s = setup(kind, coin, months, model_name, start)
        df, pre = s["df"], s["pre"]
        feats = s["panel"].feats
        corr = np.full(s["head"].shape, np.nan)
        ts = df.index.asi8
        ends = fold_ends(FIRST_END, min(df.index[-1], pd.Timestamp(END, tz="UTC") + pd.Timedelta(hours=23)))
        for k, end in enumerate(ends):
            lo = int(np.searchsorted(ts, end.value, side="right"))
            hi = int(np.searchsorted(ts, ends[k + 1].value, side="right")) if k + 1 < len(ends) else len(df)
            hist = (end - df.index[0]).total_seconds() / 86400
            cfg = TrainConfig(val_days=int(min(365, frac * hist)) if frac else 365)
            t0 = time.perf_counter()
            try:
                res = train_ensemble(df, str(end.date()), cfg, progress=False)
                net, note = res.model, "trained"
            except DataError as exc:
                net, note = pre.net, f"fallback to pretrained: {exc}"
            folds.append({"kind": kind, "coin": coin, "months": months, "fold_end": str(end.date()),
                          "val_days": cfg.val_days, "note": note, "seconds": time.perf_counter() - t0})
            begin = max(0, lo - pre.window + 1)
            corr[lo:hi] = np.exp(RollingWindowLSTM(net, pre.window, with_head=False).run(feats[begin:hi]))[lo - begin:]
        table = score(df, {"log_har_full": s["log_har_full"], name: s["head"] * corr}, START, END,
                      reference="log_har_full")
        rows.append(table[table["model"] != "log_har_full"].assign(kind=kind, coin=coin, months=months))
        log(f"{name} {kind} {coin} {months}: {folds[-2:]}")
    out = pd.concat(rows, ignore_index=True).assign(config=name)
    out.to_csv(path, index=False)
    (OUT / f"{name}_folds.json").write_text(json.dumps(folds, indent=1, default=float))
    return out


STAGE1 = {f"{layers}_lr{lr:g}" + ("_causal" if head == "causal" else ""): FineTuneConfig(lr=lr, layers=layers, head=head)
          for head in ("fixed", "causal") for layers in ("readout", "all") for lr in (1e-4, 3e-4, 1e-3)}


def objective(t: pd.DataFrame, name: str) -> float:
    """Mean over the two scenarios of the geometric mean ratio over coins, histories and horizons."""
    g = t[t["model"] == name]
    return float(np.mean([np.exp(np.log(g[g["kind"] == kind]["ratio"]).mean()) for kind in ("new", "cont")]))


def stage1() -> str:
    scores = {name: objective(run_config(name, cfg), name) for name, cfg in STAGE1.items()}
    best = min(scores, key=scores.get)
    log(f"stage 1 scores {scores}; best {best}")
    return best


def stage2(best: str) -> None:
    base = STAGE1[best]
    variants = {f"{best}_val{frac:.3g}": replace(base, val_frac=frac) for frac in (1 / 6, 1 / 3)}
    variants[f"{best}_nogate"] = replace(base, gate=False)
    variants[f"{best}_epochs5"] = replace(base, max_epochs=5)
    variants[f"{best}_mix0.5"] = replace(base, mix=0.5)
    variants[f"{best}_l2sp1"] = replace(base, l2sp=1.0)
    scores = {best: objective(run_config(best, base), best)}
    for name, cfg in variants.items():
        scores[name] = objective(run_config(name, cfg), name)
    log(f"stage 2 scores {scores}")
    # stage 3 (greedy forward): add the modifications that improved on the base one at a time, best
    # first, keeping each only if the combination improves the objective again
    mods = {f"{best}_val{1 / 6:.3g}": {"val_frac": 1 / 6}, f"{best}_val{1 / 3:.3g}": {"val_frac": 1 / 3},
            f"{best}_nogate": {"gate": False}, f"{best}_epochs5": {"max_epochs": 5}, f"{best}_mix0.5": {"mix": 0.5},
            f"{best}_l2sp1": {"l2sp": 1.0}}
    improving = sorted((n for n in mods if scores[n] < scores[best]), key=scores.get)
    current, current_name, current_score, applied = base, best, scores[best], []
    for n in improving:
        trial = replace(current, **mods[n])
        if trial == current:
            continue
        name = "+".join([best] + [m.removeprefix(best + "_") for m in applied + [n]])
        sc = objective(run_config(name, trial), name)
        scores[name] = sc
        if sc < current_score:
            current, current_name, current_score = trial, name, sc
            applied.append(n)
    log(f"stage 3 scores {scores}; chosen {current_name}")
    (RESULTS / "design_finetune.json").write_text(json.dumps(asdict(current) | {"name": current_name,
                                                                               "scores": scores}, indent=1))


def summary() -> None:
    frames = [pd.read_csv(p) for p in sorted(OUT.glob("*.csv"))]
    t = pd.concat(frames, ignore_index=True)
    chosen = json.loads((RESULTS / "design_finetune.json").read_text())
    lines = ["# Table 3: self-refitting LSTM from pretrained weights, 2021 (folds 2020-12-31, 2021-06-30)", "",
             "Geometric mean of QLIKE / log-HAR (refit monthly on the coin's full history) over coins (and, for "
             "`new`, N = 6, 12, 18 months of own history at 2021-01-01); objective = mean of the two scenarios' "
             "geometric means over horizons. `frozen` = zero-shot pretrained network with the same shrinkage head.", ""]
    rows = []
    for name, g in t.groupby("config"):
        row = {"config": name}
        for model in (name, "frozen"):
            gm = g[g["model"] == model]
            if gm.empty:
                continue
            for kind in ("new", "cont"):
                for h in (1, 7, 30):
                    sel = gm[(gm["kind"] == kind) & (gm["horizon"] == h)]["ratio"]
                    row[f"{'frozen ' if model == 'frozen' else ''}{kind} {h}d"] = np.exp(np.log(sel).mean())
        row["objective"] = objective(g, name)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("config").sort_values("objective")
    frozen_cols = [c for c in table.columns if c.startswith("frozen")]
    frozen = table[frozen_cols].iloc[0]
    table = table.drop(columns=frozen_cols)
    any_config = t[t["config"] == chosen["name"]]
    lines += [table.to_markdown(floatfmt=".3f"), "", "zero-shot (frozen) reference: " +
              ", ".join(f"{k.removeprefix('frozen ')} {v:.3f}" for k, v in frozen.items()) +
              f"; objective {objective(any_config, 'frozen'):.4f}", "",
              f"**chosen: {chosen['name']}** ({ {k: v for k, v in chosen.items() if k not in ('scores', 'name')} })", ""]
    per = t[t["config"] == chosen["name"]].pivot_table(index=["kind", "coin", "months"], columns=["model", "horizon"],
                                                      values="ratio")
    lines += ["## Chosen recipe per scenario (ratio to log-HAR full)", "", per.to_markdown(floatfmt=".3f"), ""]
    folds = json.loads((OUT / f"{chosen['name']}_folds.json").read_text())["folds"]
    lines += ["## Folds of the chosen recipe", "", pd.DataFrame(folds).to_markdown(floatfmt=".3g"), ""]
    for name in ("scratch", "scratch_rule"):
        p = OUT / f"{name}_folds.json"
        if p.exists():
            lines += [f"## Folds of `{name}`", "", pd.DataFrame(json.loads(p.read_text())).to_markdown(floatfmt=".3g"), ""]
    (RESULTS / "t3_finetune.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    stage = sys.argv[sys.argv.index("--stage") + 1] if "--stage" in sys.argv else "all"
    if stage in ("1", "all"):
        best = stage1()
    if stage in ("2", "all"):
        stage2(stage1())
    if stage in ("scratch", "all"):
        scratch(False)
        scratch(True)
    if stage in ("summary", "all"):
        summary()
