"""``lstm-strategies train`` and ``models``: train an LSTM (single, pooled, implied-vol, walk-forward), list
the bundled models."""

from __future__ import annotations

from pathlib import Path

import lstm_strategies.cli.arguments as arg
from lstm_strategies.data.calendar import CALENDARS

CALENDAR_NAMES = sorted(CALENDARS)


def _train_config(args):
    from lstm_strategies.models.train_config import TrainConfig

    return TrainConfig(window=args.window, hidden_size=args.hidden, horizons=args.horizons, seed=args.seed,
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
    cfg = ImpliedTrainConfig(window=args.window, hidden_size=args.hidden, horizons=args.horizons, seed=args.seed,
                             epochs=args.epochs or ImpliedTrainConfig.epochs, val_days=args.val_days,
                             weight_decay=args.weight_decay, lr=args.lr, calendar=args.calendar)
    result = train_implied_lstm(load_dataset(args.data, tz=args.tz),
                                load_implied_vol(args.implied, units=args.implied_units), args.train_end, cfg,
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
    from lstm_strategies.core.dates import parse_date
    from lstm_strategies.core.errors import ConfigError

    names = [n.strip() for n in args.data.split(",")]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise ConfigError(f"--data {args.data!r}: give one dataset or several distinct ones separated by commas "
                          "(btc_usdt_1h,eth_usdt_1h)")
    if len(names) > 1 and (args.walk_forward or args.implied):
        raise ConfigError("--data with several datasets trains one pooled model; --walk-forward and --implied take "
                          "one dataset")
    if args.walk_forward and args.tz:
        raise ConfigError("--tz does not apply to --walk-forward (each fold reads --data itself): convert the file's "
                          "times to UTC or give them offsets")
    if args.train_start and parse_date(args.train_start) >= parse_date(args.train_end):
        raise ConfigError(f"--train-start {args.train_start} is not before --train-end {args.train_end}: training "
                          "reads the bars from --train-start to --train-end")
    if args.implied_units and not args.implied:
        raise ConfigError("--implied-units says the units of the --implied file: give --implied too")
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
    frames = {name: load_dataset(name, tz=args.tz) for name in names}
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
    df = load_dataset(args.data, tz=args.tz)
    result = train_ensemble(df, args.train_end, cfg, members=args.ensemble, train_start=args.train_start)
    save_checkpoint(result.model, result.card, args.out)
    m = result.card.metrics
    print(f"saved {args.out}: horizons {result.card.horizons} days, validation QLIKE {m['val_qlike']:.4f} (log-HAR "
          f"heads alone {m['val_qlike_log_har_init']:.4f}), {args.ensemble} member(s), {m['seconds']:.1f} s of "
          "training")


def _cmd_models(args) -> None:
    from lstm_strategies.models.sealed import pretrained_names, pretrained_path, read_card  # no torch

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


def add_commands(sub, command) -> None:
    """The ``train`` and ``models`` commands."""
    from lstm_strategies.models.train_config import TrainConfig

    defaults = TrainConfig()
    train = command(sub, "train", "train an LSTM term-structure model (safetensors + JSON card)")
    train.add_argument("--data", required=True, help="OHLCV file, a shipped dataset (btc_usdt_1h) or arch:sp500; "
                       "several separated by commas train one pooled model (btc_usdt_1h,eth_usdt_1h)")
    train.add_argument("--shrink-k", default=None, help="pooled models: the shrinkage head's k in days per horizon "
                       "(default 1000,240,480 for 1,7,30 days)")
    train.add_argument("--train-end", type=arg.date, required=True,
                       help="last date whose targets may be used (YYYY-MM-DD)")
    train.add_argument("--train-start", type=arg.date, default=None,
                       help="first bar to use (YYYY-MM-DD; default: the first of the data)")
    train.add_argument("--out", required=True, help="checkpoint folder (or the walk-forward output folder)")
    train.add_argument("--window", type=arg.integer(2, 10_000), default=defaults.window,
                       help="bars of history per forecast")
    train.add_argument("--hidden", type=arg.integer(1, 1024), default=defaults.hidden_size,
                       help="LSTM units per ensemble member")
    train.add_argument("--horizons", type=arg.horizons, default=None,
                       help="comma-separated horizons in days (default: 1,7,30 crypto; 1,5,21 equity)")
    train.add_argument("--epochs", type=arg.integer(1, 10_000), default=None,
                       help=f"most epochs with early stopping (default {defaults.max_epochs}); with --implied the "
                            "fixed number (default 4)")
    train.add_argument("--implied", default=None,
                       help="train the LSTM with implied volatility (LSTM-IV) on this series (btc_dvol_daily, "
                            "eth_dvol_daily or a CSV)")
    train.add_argument("--implied-units", choices=["percent", "fraction"], default=None,
                       help="units of the --implied file's values (default: read from its header or values; an "
                            "ambiguous file is refused)")
    train.add_argument("--tz", type=arg.time_zone, default=None,
                       help="time zone of naive timestamps in --data (e.g. Europe/Berlin or UTC)")
    train.add_argument("--val-days", type=arg.integer(1, 36_500), default=defaults.val_days,
                       help="validation days before --train-end")
    train.add_argument("--seed", type=arg.seed, default=defaults.seed, help="seed of the first member")
    train.add_argument("--ensemble", type=arg.integer(1, 100), default=3, help="seeds merged into one network")
    train.add_argument("--lr", type=arg.number(0, 10, low_open=True), default=defaults.lr,
                       help="learning rate of the LSTM")
    train.add_argument("--weight-decay", type=arg.number(0, 10), default=defaults.weight_decay,
                       help="Adam weight decay")
    train.add_argument("--device", default=defaults.device, help="cpu or cuda")
    train.add_argument("--calendar", choices=CALENDAR_NAMES, default=defaults.calendar,
                       help="crypto: 365 days, 24h; equity: 252 trading days")
    train.add_argument("--walk-forward", action="store_true", help="retrain every --every-months")
    train.add_argument("--every-months", type=arg.integer(1, 120), default=6, help="months between walk-forward folds")
    train.add_argument("--cache-dir", default=None,
                       help="fold models (default: $LSTM_STRATEGIES_CACHE or ~/.cache/lstm-strategies)")
    train.add_argument("--executor", choices=["local", "ray"], default="local", help="where folds run")
    train.add_argument("--address", default=None, help="Ray address (auto or ray://host:port)")
    train.set_defaults(func=_cmd_train)

    models = command(sub, "models", "list the bundled pretrained models")
    models.set_defaults(func=_cmd_models)
