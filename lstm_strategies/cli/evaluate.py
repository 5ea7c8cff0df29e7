"""``lstm-strategies evaluate``: the evaluation's tables, plots and, with ``--implied``, the forecasts
against implied volatility, written to one output folder. (Imports are inside the functions: building
the command line must not import pandas or the research layer.)"""

from __future__ import annotations

import lstm_strategies.cli.arguments as arg


def _print(title: str, table) -> None:
    import pandas as pd

    with pd.option_context("display.width", 220, "display.max_columns", 30, "display.float_format", "{:.4g}".format):
        print(f"\n{title}")
        print(table)


def _check_window(args):
    """The first origin scored, once ``--start``/``--end`` and the models' training ends allow it (before any
    data is read or forecast): a start inside a model's training window names ``--start``."""
    from lstm_strategies.core.dates import parse_date
    from lstm_strategies.core.errors import ConfigError
    from lstm_strategies.forecasters.registry import make_forecaster

    first = parse_date(args.start, "--start")
    if args.end is not None and parse_date(args.end, "--end") < first:
        raise ConfigError(f"--end {args.end} is before --start {args.start}: the scored window runs from --start "
                          "to --end; swap them or pass a later --end")
    if args.implied_units and not args.implied:
        raise ConfigError("--implied-units says the units of the --implied file: give --implied too")
    make_forecaster("lstm", model=args.model).check_out_of_sample(first, knob="--start")
    return first


def _implied(args, first):
    """The implied series and the LSTM-IV scored beside it (checked against its training window), or Nones."""
    if not args.implied:
        return None, None
    from lstm_strategies.forecasters.registry import make_forecaster
    from lstm_strategies.market.implied import load_implied_vol
    from lstm_strategies.research.versus_implied import implied_model

    chosen, note = implied_model(args.model, None if args.iv_model == "none" else args.iv_model, first)
    if chosen:
        make_forecaster("lstm_iv", model=chosen).check_out_of_sample(first, knob="--start")
    implied = load_implied_vol(args.implied, units=args.implied_units)
    if note:
        print(f"note (lstm_iv): {note}")
    return implied, chosen


def _write_tables(ev, out) -> None:
    from lstm_strategies.core.atomic import atomic_write, atomic_write_text
    from lstm_strategies.data.calendar import get_calendar
    from lstm_strategies.research.calibration import bias_pivot, bias_table
    from lstm_strategies.research.evaluation import plot_forecasts

    md = []
    for h, table in ev.overall.items():
        atomic_write(out / f"evaluation_{h}d.csv", lambda tmp, t=table: t.to_csv(tmp))
        md.append(f"## Horizon {h} day(s)\n\n{table.to_markdown(floatfmt='.4g')}\n")
    for name, table in (("by_year", ev.by_year), ("by_regime", ev.by_regime), ("stress", ev.stress)):
        atomic_write(out / f"evaluation_{name}.csv", lambda tmp, t=table: t.to_csv(tmp))
        md.append(f"## 1-day QLIKE {name.replace('_', ' ')}\n\n{table.to_markdown(floatfmt='.4g')}\n")
    bias = bias_table(ev.forecasts)
    atomic_write(out / "bias_by_year.csv", lambda tmp: bias.to_csv(tmp, index=False))
    md.append(f"## mean(realized) / mean(forecast) by year (±1.96 NW se)\n\n{bias_pivot(bias).to_markdown()}\n")
    md += [f"note: {key}: {text}\n" for key, text in ev.notes.items() if key.startswith("mcs_")]
    atomic_write_text(out / "evaluation.md", "\n".join(md))
    days_per_year = get_calendar(ev.calendar).days_per_year
    for h in ev.horizons:
        plot_forecasts(ev.forecasts[h], out / f"forecast_vs_realized_{h}d.png", days_per_year, h)


def _show(ev, data: str) -> None:
    from lstm_strategies.research.calibration import bias_pivot, bias_table

    bias = bias_table(ev.forecasts)
    h0 = ev.horizons[0]
    first, last = ev.forecasts[h0].index[0].date(), ev.forecasts[h0].index[-1].date()
    print(f"out-of-sample forecast origins {first} .. {last}, {len(ev.forecasts[h0])} days, {data}")
    for h, table in ev.overall.items():
        _print(f"horizon {h} day(s): realized variance of the next {h} day(s)", table)
    _print("1-day QLIKE by calendar year", ev.by_year)
    _print("1-day QLIKE by regime (terciles of the trailing 30-day variance known at the forecast)", ev.by_regime)
    _print("1-day QLIKE in named stress windows", ev.stress)
    _print("mean(realized) / mean(forecast) per calendar year of the origins, ±1.96 Newey-West se (bias_by_year.csv "
           "has the MDE, QLIKE and Mincer-Zarnowitz per year)", bias_pivot(bias))
    for key, count in ev.notes.items():
        if key.endswith("_convergence_warnings"):
            print(f"\n{key.removesuffix('_convergence_warnings')} fits that arch flagged as not converged: {count}")
    for key, text in ev.notes.items():
        if key.startswith("mcs_"):
            print(f"note ({key}): {text}")
    for key, value in ev.notes.items():
        if key.endswith("_input_fallbacks"):
            print(f"\n{key.removesuffix('_input_fallbacks')} forecast without an input value on some bars: {value}")


def evaluate_cli(args) -> None:
    """``lstm-strategies evaluate``: each table is written as soon as it is computed, so a late failure
    (or an interrupt) keeps what was done."""
    from lstm_strategies.core.atomic import atomic_write, claim_folder
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.research import evaluation
    from lstm_strategies.research.evaluation import MCSSettings
    from lstm_strategies.research.versus_implied import report_implied

    first = _check_window(args)
    implied, chosen = _implied(args, first)
    df = load_dataset(args.data, tz=args.tz)
    if first > df.index[-1]:
        from lstm_strategies.core.errors import ConfigError

        raise ConfigError(f"--start {args.start} is after the last bar of {args.data} ({df.index[-1]}): nothing "
                          "would be scored; pass an earlier --start or a longer file")
    out = claim_folder(args.out, "evaluation")
    horizons, cal, frames, notes = evaluation.collect_forecasts(df, args.model, args.start, args.end,
                                                                refit_every=args.refit_every, implied=implied,
                                                                iv_model=chosen, progress=True,
                                                                extra=_calibrated(args, chosen))
    for h, frame in frames.items():
        atomic_write(out / f"forecasts_{h}d.csv", lambda tmp, f=frame: f.to_csv(tmp))
    ev = evaluation.score_forecasts(df, horizons, cal, frames, notes, MCSSettings(
        size=args.mcs_size, reps=args.mcs_reps, block_size=args.mcs_block, seed=args.seed), progress=True)
    _write_tables(ev, out)
    _show(ev, args.data)
    if implied is not None:
        report_implied(ev, implied.attrs.get("source", args.implied), out)
    print(f"wrote {out}/evaluation.md, evaluation_*.csv, bias_by_year.csv, forecasts_*.csv and "
          "forecast_vs_realized_*.png")
    if args.risk:  # issue #30: VaR/ES backtests of the same forecasters (research/risk_evaluation.py)
        from lstm_strategies.research.risk_evaluation import risk_cli

        risk_cli(args, df, implied, chosen, out)


def _calibrated(args, iv_model: str | None) -> dict | None:
    """With ``--calibrated``: the calibrated variants (issue #29) of the forecasters evaluated."""
    if not args.calibrated:
        return None
    from lstm_strategies.forecasters.calibrated import CALIBRATED, calibrated

    models = {"lstm_cal": args.model, "lstm_iv_cal": iv_model}
    extra = {}
    for variant in CALIBRATED:
        name, params = calibrated(variant)
        if variant in models:
            if models[variant] is None:
                continue
            params["model"] = models[variant]
        extra[variant] = (name, params)
    return extra | {"implied_anchor": ("implied_anchor", {})}    # joins when --implied gives its input


def add_commands(sub, command) -> None:
    """The ``evaluate`` command."""
    ev = command(sub, "evaluate", "out-of-sample forecast accuracy of the LSTM and the baselines, per horizon")
    ev.add_argument("--data", required=True, help="OHLCV file or shipped dataset (btc_usdt_1h)")
    ev.add_argument("--model", default="btc-1h", help="bundled model name or checkpoint folder")
    ev.add_argument("--start", type=arg.date, default="2022-01-01", help="first forecast origin scored (YYYY-MM-DD)")
    ev.add_argument("--end", type=arg.date, default=None, help="last forecast origin scored (YYYY-MM-DD)")
    ev.add_argument("--refit-every", default=None,
                    help="also score the self-refitting LSTM, retrained every N months (e.g. 6M)")
    ev.add_argument("--implied", default=None,
                    help="an implied-vol series (btc_dvol_daily, eth_dvol_daily or a CSV): the forecasters that read "
                         "it join the race, and every forecaster is scored against it")
    ev.add_argument("--implied-units", choices=["percent", "fraction"], default=None,
                    help="units of the --implied file's values (default: read from its header or values; an "
                         "ambiguous file is refused)")
    ev.add_argument("--tz", type=arg.time_zone, default=None,
                    help="time zone of naive timestamps in --data (e.g. Europe/Berlin or UTC)")
    ev.add_argument("--iv-model", default="auto",
                    help="with --implied, the LSTM-IV scored (auto: the bundled <model>-iv when the window starts "
                         "after its training; none: no LSTM-IV)")
    ev.add_argument("--calibrated", action="store_true",
                    help="also score the calibrated variants (issue #29: log_har_cal, garch_cal, lstm_cal and, with "
                         "--implied, har_iv_cal, lstm_iv_cal and implied_anchor; forecasters/calibrated.py)")
    ev.add_argument("--mcs-size", type=arg.number(0, 1, low_open=True, high_open=True), default=0.05,
                    help="Model Confidence Set size (a test size in (0, 1))")
    ev.add_argument("--mcs-reps", type=arg.integer(10, 1_000_000), default=1000, help="MCS bootstrap replications")
    ev.add_argument("--mcs-block", type=arg.integer(1, 1000), default=10, help="MCS bootstrap block length (days)")
    ev.add_argument("--seed", type=arg.seed, default=0, help="seed of the MCS bootstrap")
    ev.add_argument("--risk", action="store_true",
                    help="also backtest each forecaster's 1- and 7-day VaR/ES (filtered historical simulation of its "
                         "own residuals): risk_1d.csv, risk_7d.csv, risk_fz0_dm.csv, risk_by_year.csv")
    ev.add_argument("--risk-sims", type=arg.integer(10, 1_000_000), default=1000,
                    help="with --risk, draws of the Acerbi-Szekely Z2 test")
    ev.add_argument("--out", default="backtests/output/evaluation", help="output folder")
    ev.set_defaults(func=evaluate_cli)
