"""The ``lstm-strategies`` command: data, models, training, evaluation, backtests, comparisons, sweeps.

Every error a user can cause prints one line starting with ``error:`` (exit status 2) that names
the file, key or option and says what to do; output piped into ``head`` ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lstm_strategies._version import __version__
from lstm_strategies.core.errors import LSTMStrategiesError
from lstm_strategies.data.calendar import CALENDARS

CALENDAR_NAMES = sorted(CALENDARS)


def _cmd_data_inspect(args) -> None:
    import numpy as np

    from lstm_strategies.data.bars import find_gaps
    from lstm_strategies.data.calendar import get_calendar
    from lstm_strategies.data.datasets import SHIPPED, load_dataset, names
    from lstm_strategies.data.load import load_ohlcv
    from lstm_strategies.features.realized import log_returns

    if args.file in SHIPPED and SHIPPED[args.file].kind == "implied_vol":
        return _inspect_implied(args.file)
    if args.file in names() or (args.format is None and args.tz is None):
        df = load_dataset(args.file)   # a shipped name, a file, or an extra dataset (unknown names list them)
    else:
        df = load_ohlcv(args.file, fmt=args.format, tz=args.tz)
    cal = get_calendar(args.calendar)
    gaps = find_gaps(df, calendar=cal)
    print(f"file        {args.file}")
    print(f"rows        {len(df):,}")
    print(f"range       {df.index[0]} -> {df.index[-1]}")
    print(f"timeframe   {df.attrs['timeframe']}")
    longest = "-"
    if gaps.n_gaps:
        span = f"{int(gaps.table['missing'].max())} sessions" if not cal.time_based else str(gaps.longest)
        longest = f"{span} from {gaps.longest_start}"
    sessions = " trading sessions (weekends and market holidays are not gaps)" if not cal.time_based else " bars"
    print(f"gaps        {gaps.n_gaps} ({gaps.missing_bars} missing{sessions}); longest {longest}")
    ignored = df.attrs.get("ignored_columns") or []
    if ignored:
        print(f"ignored     {', '.join(map(str, ignored))}")
    ret = log_returns(df["close"])
    ppy = get_calendar(args.calendar).periods_per_year(df.attrs["timeframe"])
    table = ret.groupby(ret.index.year).agg(lambda r: float(np.nanstd(r, ddof=1) * np.sqrt(ppy)))
    print(f"annualised volatility by calendar year ({args.calendar} calendar, {ppy:g} bars/year):")
    for year, vol in table.items():
        print(f"  {year}  {vol:6.1%}")


def _inspect_implied(name: str) -> None:
    """``data inspect`` of an implied-volatility series: range, gaps, when values are known, yearly means."""
    from lstm_strategies.market.implied import load_implied_vol

    iv = load_implied_vol(name)
    print(f"file        {name} (implied volatility, {iv.attrs['unit']} in the file)")
    print(f"rows        {len(iv):,}")
    print(f"range       {iv.attrs['first_period']} -> {iv.attrs['last_period']} (each value known at the end of "
          f"its period: from {iv.index[0]} to {iv.index[-1]})")
    print(f"period      {iv.attrs['period']}")
    print(f"gaps        {iv.attrs['gaps']} ({iv.attrs['missing_periods']} missing periods)")
    print("mean implied volatility by calendar year:")
    for year, vol in iv.groupby(iv.index.year).mean().items():
        print(f"  {year}  {vol:6.1%}")


def _cmd_data_fetch(args) -> None:
    import pandas as pd

    from lstm_strategies.data.bars import find_gaps
    from lstm_strategies.data.fetch import fetch_ohlcv

    df = fetch_ohlcv(args.exchange, args.symbol, args.timeframe, args.since, until=args.until, out=args.out,
                     limit=args.limit, progress=not args.no_progress)
    gaps = find_gaps(df, pd.Timedelta(df.attrs["timeframe"])).n_gaps if len(df) >= 2 else 0
    print(f"wrote {args.out}: {len(df):,} bars ({df.attrs['fetched_rows']:,} new), "
          f"{df.index[0]} -> {df.index[-1]}, {gaps} gaps")


def _train_config(args):
    from lstm_strategies.models.train_config import TrainConfig

    horizons = [int(h) for h in args.horizons.split(",")] if args.horizons else None
    return TrainConfig(window=args.window, hidden_size=args.hidden, horizons=horizons, seed=args.seed,
                       max_epochs=args.epochs or TrainConfig.max_epochs, val_days=args.val_days,
                       weight_decay=args.weight_decay, lr=args.lr, calendar=args.calendar, device=args.device)


def _train_implied(args) -> None:
    """``train --implied``: the LSTM-IV design (fixed epochs, corrections gated on the last val_days)."""
    from lstm_strategies.core.errors import ConfigError
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.market.implied import load_implied_vol
    from lstm_strategies.models.checkpoint import save_checkpoint
    from lstm_strategies.models.training_iv import ImpliedTrainConfig, train_implied_lstm

    if args.walk_forward or args.train_start:
        raise ConfigError("train --implied trains one LSTM-IV from the first bar: --walk-forward and --train-start do "
                          "not apply (the self-refitting lstm_iv_refit forecaster retrains it in a backtest)")
    horizons = [int(h) for h in args.horizons.split(",")] if args.horizons else None
    cfg = ImpliedTrainConfig(window=args.window, hidden_size=args.hidden, horizons=horizons, seed=args.seed,
                             epochs=args.epochs or ImpliedTrainConfig.epochs, val_days=args.val_days,
                             weight_decay=args.weight_decay, lr=args.lr, calendar=args.calendar)
    result = train_implied_lstm(load_dataset(args.data), load_implied_vol(args.implied), args.train_end, cfg,
                                members=args.ensemble)
    save_checkpoint(result.model, result.card, args.out)
    m = result.card.metrics
    kept = [h for h, k in zip(result.card.horizons, m["correction_kept"], strict=True) if k]
    ratios = [round(r, 4) for r in m["val_qlike_ratio_to_head"]]
    print(f"saved {args.out}: LSTM-IV on {args.data} and {args.implied}, horizons {result.card.horizons} days, "
          f"corrections kept at {kept} days (validation QLIKE / head {ratios}), {m['train_rows']} training rows, "
          f"{args.ensemble} member(s), {m['seconds']:.1f} s of training")


def _data_names(args) -> list[str]:
    """``--data`` as a list: one dataset, or several separated by commas (pooled training)."""
    from lstm_strategies.core.errors import ConfigError

    names = [n.strip() for n in args.data.split(",")]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise ConfigError(f"--data {args.data!r}: give one dataset or several distinct ones separated by commas "
                          "(btc_usdt_1h,eth_usdt_1h)")
    if len(names) > 1 and (args.walk_forward or args.implied):
        raise ConfigError("--data with several datasets trains one pooled model; --walk-forward and --implied take "
                          "one dataset")
    if args.shrink_k and len(names) == 1:
        raise ConfigError("--shrink-k sets the shrinkage prior of a pooled model: give several --data datasets")
    return names


def _train_pooled(args, names: list[str], cfg) -> None:
    """``train --data a,b``: pooled pretraining with per-coin heads and the shrinkage prior in the card."""
    from lstm_strategies.core.errors import ConfigError
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.models.checkpoint import save_checkpoint
    from lstm_strategies.models.training_pooled import train_pooled

    k_days = None
    if args.shrink_k:
        try:
            k_days = [float(k) for k in args.shrink_k.split(",")]
        except ValueError:
            raise ConfigError(f"--shrink-k {args.shrink_k!r}: give one number of days per horizon, e.g. "
                              "1000,240,480") from None
        if len(k_days) != len(cfg.resolved_horizons()) or any(not 0 <= k <= 1e6 for k in k_days):
            raise ConfigError(f"--shrink-k {args.shrink_k!r}: give one k in 0..1e6 days per horizon "
                              f"({cfg.resolved_horizons()})")
    frames = {name: load_dataset(name) for name in names}
    result = train_pooled(frames, args.train_end, cfg, members=args.ensemble, k_days=k_days,
                          train_start=args.train_start)
    save_checkpoint(result.model, result.card, args.out)
    m, prior = result.card.metrics, result.card.head_prior
    kept = [h for h, k in zip(result.card.horizons, m["correction_kept"], strict=True) if k]
    print(f"saved {args.out}: pooled on {', '.join(names)} (one head per coin in training), horizons "
          f"{result.card.horizons} days, validation QLIKE {m['val_qlike']:.4f}, corrections kept at {kept} days, "
          f"shrinkage prior k {prior['k_days']} days, {args.ensemble} member(s), {m['seconds']:.1f} s of training")


def _cmd_train(args) -> None:
    from lstm_strategies.core.atomic import claim_folder

    _data_names(args)  # refused before anything is written
    if args.implied:
        claim_folder(args.out, "checkpoint")
        _train_implied(args)
        return
    cfg = _train_config(args)
    claim_folder(args.out, "walk-forward forecasts" if args.walk_forward else "checkpoint")
    if args.walk_forward:
        from lstm_strategies.research.walkforward import walk_forward

        out = walk_forward(args.data, args.train_end, every_months=args.every_months, config=cfg, out=args.out,
                           executor=args.executor, address=args.address, members=args.ensemble,
                           cache_dir=args.cache_dir)
        print(f"walk-forward forecasts: {out}")
        return
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.models.checkpoint import save_checkpoint
    from lstm_strategies.models.training import train_ensemble

    names = _data_names(args)
    if len(names) > 1:
        _train_pooled(args, names, cfg)
        return
    df = load_dataset(args.data)
    result = train_ensemble(df, args.train_end, cfg, members=args.ensemble, train_start=args.train_start)
    save_checkpoint(result.model, result.card, args.out)
    m = result.card.metrics
    print(f"saved {args.out}: horizons {result.card.horizons} days, validation QLIKE {m['val_qlike']:.4f} (log-HAR "
          f"heads alone {m['val_qlike_log_har_init']:.4f}), {args.ensemble} member(s), {m['seconds']:.1f} s of "
          "training")


def _cmd_models(args) -> None:
    from lstm_strategies.models.checkpoint import pretrained_names, pretrained_path, read_card

    for name in pretrained_names():
        card = read_card(pretrained_path(name))
        if card.inputs:
            kept = [h for h, k in zip(card.horizons, card.metrics["correction_kept"], strict=True) if k]
            val = f"reads {', '.join(card.inputs)} ({card.training.get('implied_source')}), corrections at {kept} days"
        else:
            val = f"val QLIKE {card.metrics.get('val_qlike', float('nan')):.4f}"
        if card.head_prior:
            val += f", shrinkage prior (head='shrink', k {[int(k) for k in card.head_prior['k_days']]} days)"
        print(f"{name:10s} {card.timeframe:>3s} bars, {card.calendar}, horizons {card.horizons} days, window "
              f"{card.window}, trained {card.train_start[:10]} .. {card.train_end[:10]} on {Path(card.source).name}, "
              f"{val}")


def _cmd_backtest(args) -> None:
    from lstm_strategies.api import load_config, run
    from lstm_strategies.core.atomic import check_destination, child

    config = load_config(_config_path(args))
    out = check_destination(args.out or child(Path("backtests") / "output", config.name, "config name"))
    result = run(config, args.data, runonce=not args.next_mode, progress=True)
    result.write(out)
    result.show()
    print(f"\nwrote {out}/tearsheet.html, metrics.json, returns.csv and plots")


def _cmd_compare(args) -> None:
    from lstm_strategies.api import compare

    compare(args.configs, Path(args.out), data=args.data)


def _cmd_evaluate(args) -> None:
    from lstm_strategies.cli.evaluate import evaluate_cli

    evaluate_cli(args)


def _cmd_sweep(args) -> None:
    from lstm_strategies.core.atomic import child
    from lstm_strategies.research.sweep import SweepConfig, run_sweep

    config = SweepConfig.from_toml(_config_path(args))
    out = Path(args.out) if args.out else child(Path("backtests") / "output" / "sweeps", config.name, "sweep name")
    run_sweep(config, out, args.executor, args.workers, args.address)


DESCRIPTION = """lstm-strategies: LSTM volatility forecasts for Backtrader, backtests and tearsheets.

  lstm-strategies backtest CONFIG.toml            run one config, write its tearsheet
  lstm-strategies compare A.toml B.toml ...       run several, side by side
  lstm-strategies sweep GRID.toml                 a grid of backtests (local pool or Ray)
  lstm-strategies evaluate --data btc_usdt_1h     forecast accuracy, out of sample
  lstm-strategies data inspect btc_usdt_1h        what a data file holds
  lstm-strategies models                          the bundled models

Every error a user can cause prints one line starting with "error:" (exit status 2) that names
the file, key or option and says what to do."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Show an option's default in --help once: where it has one and its help does not say it already."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS) or action.option_strings == []
                or isinstance(action, argparse._VersionAction)):
            return text
        return f"{text} (default: {default})"


def build_parser() -> argparse.ArgumentParser:
    from lstm_strategies.models.train_config import TrainConfig

    defaults = TrainConfig()
    parser = argparse.ArgumentParser(prog="lstm-strategies", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"lstm-strategies {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name: str, help: str) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=help, description=help, formatter_class=_Formatter)

    data = command(sub, "data", "inspect or fetch OHLCV data").add_subparsers(dest="data_command", required=True,
                                                                             metavar="ACTION")
    inspect = command(data, "inspect", "rows, range, timeframe, gaps and yearly volatility of a file")
    inspect.add_argument("file", help="an OHLCV file or a shipped dataset (btc_usdt_1h, eth_usdt_1h; implied-vol "
                                      "series such as btc_dvol_daily too)")
    inspect.add_argument("--format", choices=["shared", "yahoo", "binance", "ccxt"], default=None,
                         help="force a format instead of detecting it")
    inspect.add_argument("--calendar", choices=CALENDAR_NAMES, default="crypto",
                         help="annualisation calendar (365 or 252 days)")
    inspect.add_argument("--tz", default=None,
                         help="time zone of naive timestamps, e.g. Europe/Berlin or UTC (times with an offset "
                              "or a Z need none)")
    inspect.set_defaults(func=_cmd_data_inspect)
    fetch = command(data, "fetch", "download OHLCV bars from an exchange through ccxt (needs network access)")
    _add_fetch_arguments(fetch)
    fetch.set_defaults(func=_cmd_data_fetch)

    train = command(sub, "train", "train an LSTM term-structure model (safetensors + JSON card)")
    train.add_argument("--data", required=True, help="OHLCV file, a shipped dataset (btc_usdt_1h) or arch:sp500; "
                       "several separated by commas train one pooled model (btc_usdt_1h,eth_usdt_1h)")
    train.add_argument("--shrink-k", default=None, help="pooled models: the shrinkage head's k in days per horizon "
                       "(default 1000,240,480 for 1,7,30 days)")
    train.add_argument("--train-end", required=True, help="last date whose targets may be used (YYYY-MM-DD)")
    train.add_argument("--train-start", default=None, help="first bar to use (default: the first of the data)")
    train.add_argument("--out", required=True, help="checkpoint folder (or the walk-forward output folder)")
    train.add_argument("--window", type=int, default=defaults.window, help="bars of history per forecast")
    train.add_argument("--hidden", type=int, default=defaults.hidden_size, help="LSTM units per ensemble member")
    train.add_argument("--horizons", default=None,
                       help="comma-separated horizons in days (default: 1,7,30 crypto; 1,5,21 equity)")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"most epochs with early stopping (default {defaults.max_epochs}); with --implied the "
                            "fixed number (default 4)")
    train.add_argument("--implied", default=None,
                       help="train the LSTM with implied volatility (LSTM-IV) on this series (btc_dvol_daily, "
                            "eth_dvol_daily or a CSV)")
    train.add_argument("--val-days", type=int, default=defaults.val_days, help="validation days before --train-end")
    train.add_argument("--seed", type=int, default=defaults.seed, help="seed of the first member")
    train.add_argument("--ensemble", type=int, default=3, help="seeds merged into one network")
    train.add_argument("--lr", type=float, default=defaults.lr, help="learning rate of the LSTM")
    train.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="Adam weight decay")
    train.add_argument("--device", default=defaults.device, help="cpu or cuda")
    train.add_argument("--calendar", choices=CALENDAR_NAMES, default=defaults.calendar,
                       help="crypto: 365 days, 24h; equity: 252 trading days")
    train.add_argument("--walk-forward", action="store_true", help="retrain every --every-months")
    train.add_argument("--every-months", type=int, default=6, help="months between walk-forward folds")
    train.add_argument("--cache-dir", default=None,
                       help="fold models (default: $LSTM_STRATEGIES_CACHE or ~/.cache/lstm-strategies)")
    train.add_argument("--executor", choices=["local", "ray"], default="local", help="where folds run")
    train.add_argument("--address", default=None, help="Ray address (auto or ray://host:port)")
    train.set_defaults(func=_cmd_train)

    models = command(sub, "models", "list the bundled pretrained models")
    models.set_defaults(func=_cmd_models)

    backtest = command(sub, "backtest", "run a backtest config and write its tearsheet")
    _add_config_arguments(backtest, "a backtest TOML file (see backtests/)")
    backtest.add_argument("--data", default=None, help="use this OHLCV file instead of the config's [data]")
    backtest.add_argument("--out", default=None, help="output folder (default: backtests/output/NAME)")
    backtest.add_argument("--next-mode", action="store_true", help="run Backtrader bar by bar (runonce=False)")
    backtest.set_defaults(func=_cmd_backtest)

    comp = command(sub, "compare", "run several configs; one comparison table and an index.html")
    comp.add_argument("configs", nargs="+", help="backtest TOML files")
    comp.add_argument("--out", default="backtests/output/compare", help="output folder")
    comp.add_argument("--data", default=None, help="use this OHLCV file for every config")
    comp.set_defaults(func=_cmd_compare)

    ev = command(sub, "evaluate", "out-of-sample forecast accuracy of the LSTM and the baselines, per horizon")
    ev.add_argument("--data", required=True, help="OHLCV file or shipped dataset (btc_usdt_1h)")
    ev.add_argument("--model", default="btc-1h", help="bundled model name or checkpoint folder")
    ev.add_argument("--start", default="2022-01-01", help="first forecast origin scored")
    ev.add_argument("--end", default=None, help="last forecast origin scored")
    ev.add_argument("--refit-every", default=None,
                    help="also score the self-refitting LSTM, retrained every N months (e.g. 6M)")
    ev.add_argument("--implied", default=None,
                    help="an implied-vol series (btc_dvol_daily, eth_dvol_daily or a CSV): the forecasters that read "
                         "it join the race, and every forecaster is scored against it")
    ev.add_argument("--iv-model", default="auto",
                    help="with --implied, the LSTM-IV scored (auto: the bundled <model>-iv when the window starts "
                         "after its training; none: no LSTM-IV)")
    ev.add_argument("--mcs-size", type=float, default=0.05, help="Model Confidence Set size")
    ev.add_argument("--mcs-reps", type=int, default=1000, help="MCS bootstrap replications")
    ev.add_argument("--mcs-block", type=int, default=10, help="MCS bootstrap block length (days)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the MCS bootstrap")
    ev.add_argument("--out", default="backtests/output/evaluation", help="output folder")
    ev.set_defaults(func=_cmd_evaluate)

    sw = command(sub, "sweep", "run a parameter grid of backtests (local pool or Ray), resumable")
    _add_config_arguments(sw, "a sweep TOML file (see backtests/sweeps/)")
    sw.add_argument("--executor", choices=["local", "ray"], default="local", help="where tasks run")
    sw.add_argument("--address", default=None, help="Ray address (auto or ray://host:port)")
    sw.add_argument("--workers", type=int, default=None, help="processes (default: the cores available)")
    sw.add_argument("--out", default=None, help="output folder (default: backtests/output/sweeps/NAME)")
    sw.set_defaults(func=_cmd_sweep)
    return parser


def _add_config_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """A config given as the command's argument (``backtest X.toml``), or with ``--config`` as before."""
    parser.add_argument("config", nargs="?", metavar="CONFIG", help=what)
    parser.add_argument("--config", dest="config_option", metavar="CONFIG", help="the same, as an option")


def _config_path(args) -> str:
    from lstm_strategies.core.errors import ConfigError

    given = [c for c in (args.config, args.config_option) if c]
    if not given:
        raise ConfigError(f"{args.command}: give a config file, e.g. `lstm-strategies {args.command} "
                          f"backtests/btc_vol_target_lstm.toml`")
    if len(given) == 2 and given[0] != given[1]:
        raise ConfigError(f"{args.command}: two configs given ({given[0]} and --config {given[1]}); give one")
    return given[0]


def _add_fetch_arguments(fetch: argparse.ArgumentParser) -> None:
    fetch.add_argument("--exchange", default="binance", help="a ccxt exchange id")
    fetch.add_argument("--symbol", required=True, help="market symbol, e.g. BTC/USDT")
    fetch.add_argument("--timeframe", default="1h", help="bar size, e.g. 1h or 1d")
    fetch.add_argument("--since", required=True, help="first bar (YYYY-MM-DD); resumes after the file's last bar")
    fetch.add_argument("--until", default=None,
                       help="stop before bars opening at this UTC time (default: up to the last closed bar)")
    fetch.add_argument("--out", required=True, help="CSV or CSV.gz file in the standard layout")
    fetch.add_argument("--limit", type=int, default=1000, help="bars per request")
    fetch.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except LSTMStrategiesError as exc:
        sys.stdout.flush()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # the system refused a file operation the checks above did not foresee
        sys.stdout.flush()
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}".replace("error: : ", "error: "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; outputs already written are complete (writes are atomic)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
