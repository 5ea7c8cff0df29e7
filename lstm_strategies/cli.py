"""The ``lstm-strategies`` command."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lstm_strategies.errors import LSTMStrategiesError


def _cmd_data_inspect(args) -> None:
    import numpy as np

    from lstm_strategies.data import find_gaps, load_ohlcv
    from lstm_strategies.datasets import load_dataset, names
    from lstm_strategies.features import log_returns, periods_per_year

    df = load_dataset(args.file) if args.file in names() else load_ohlcv(args.file, fmt=args.format)
    gaps = find_gaps(df)
    print(f"file        {args.file}")
    print(f"rows        {len(df):,}")
    print(f"range       {df.index[0]} -> {df.index[-1]}")
    print(f"timeframe   {df.attrs['timeframe']}")
    longest = f"{gaps.longest} from {gaps.longest_start}" if gaps.n_gaps else "-"
    print(f"gaps        {gaps.n_gaps} ({gaps.missing_bars} missing bars); longest {longest}")
    ret = log_returns(df["close"])
    ppy = periods_per_year(df.attrs["timeframe"], args.calendar)
    table = ret.groupby(ret.index.year).agg(lambda r: float(np.nanstd(r, ddof=1) * np.sqrt(ppy)))
    print(f"annualised volatility by calendar year ({args.calendar} calendar, {ppy:g} bars/year):")
    for year, vol in table.items():
        print(f"  {year}  {vol:6.1%}")


def _cmd_train(args) -> None:
    from lstm_strategies.checkpoint import save_checkpoint
    from lstm_strategies.training import TrainConfig, train_ensemble

    if args.walk_forward:
        from lstm_strategies.walkforward import walk_forward

        cfg = TrainConfig(window=args.window, hidden_size=args.hidden, horizon=args.horizon, seed=args.seed,
                          max_epochs=args.epochs, val_days=args.val_days, weight_decay=args.weight_decay,
                          lr=args.lr, calendar=args.calendar, device=args.device)
        out = walk_forward(args.data, args.train_end, every_months=args.every_months, config=cfg, out=args.out,
                           executor=args.executor, address=args.address, members=args.ensemble)
        print(f"walk-forward forecasts: {out}")
        return
    cfg = TrainConfig(window=args.window, hidden_size=args.hidden, horizon=args.horizon, seed=args.seed,
                      max_epochs=args.epochs, val_days=args.val_days, weight_decay=args.weight_decay,
                      lr=args.lr, calendar=args.calendar, device=args.device)
    from lstm_strategies.datasets import load_dataset

    df = load_dataset(args.data)
    result = train_ensemble(df, args.train_end, cfg, members=args.ensemble, train_start=args.train_start)
    save_checkpoint(result.model, result.card, args.out)
    m = result.card.metrics
    print(f"saved {args.out}: validation QLIKE {m['val_qlike']:.4f} (log-HAR head alone "
          f"{m['val_qlike_log_har_init']:.4f}), {args.ensemble} member(s), {m['seconds']:.1f} s of training")


def _cmd_models(args) -> None:
    from lstm_strategies.checkpoint import pretrained_names, pretrained_path, read_card

    for name in pretrained_names():
        card = read_card(pretrained_path(name))
        print(f"{name:10s} {card.timeframe:>4s} bars, horizon {card.horizon}, window {card.window}, trained "
              f"{card.train_start[:10]} .. {card.train_end[:10]} on {Path(card.source).name}, "
              f"val QLIKE {card.metrics.get('val_qlike', float('nan')):.4f}")


def _cmd_backtest(args) -> None:
    from lstm_strategies.backtest import BacktestConfig, run_backtest
    from lstm_strategies.reports import print_summary, write_report

    config = BacktestConfig.from_toml(args.config)
    data = config.load_data(args.data)
    result = run_backtest(config, data, runonce=not args.next_mode, progress=True)
    out = Path(args.out or Path("backtests") / "output" / config.name)
    metrics = write_report(result, out)
    print_summary({config.name: metrics})
    print(f"\nwrote {out}/tearsheet.html, metrics.json, returns.csv and plots")


def _cmd_compare(args) -> None:
    from lstm_strategies.reports import compare

    compare(args.configs, Path(args.out), data=args.data)


def _cmd_evaluate(args) -> None:
    from lstm_strategies.evaluation import evaluate_cli

    evaluate_cli(args)


def _cmd_sweep(args) -> None:
    from lstm_strategies.sweep import run_sweep_cli

    run_sweep_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-strategies", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect OHLCV files").add_subparsers(dest="data_command", required=True)
    inspect = data.add_parser("inspect", help="rows, range, timeframe, gaps and yearly volatility of a file")
    inspect.add_argument("file", help="an OHLCV file, or a shipped dataset name (btc_usdt_1h, eth_usdt_1h)")
    inspect.add_argument("--format", choices=["shared", "yahoo", "binance", "ccxt"], default=None)
    inspect.add_argument("--calendar", choices=["crypto", "equity"], default="crypto")
    inspect.set_defaults(func=_cmd_data_inspect)

    train = sub.add_parser("train", help="train an LSTM volatility model (safetensors + JSON)")
    train.add_argument("--data", required=True, help="OHLCV file, a shipped dataset (btc_usdt_1h) or arch:sp500")
    train.add_argument("--train-end", required=True, help="last date whose target may be used")
    train.add_argument("--train-start", default=None)
    train.add_argument("--out", required=True, help="checkpoint folder")
    train.add_argument("--window", type=int, default=48)
    train.add_argument("--hidden", type=int, default=8)
    train.add_argument("--horizon", default="1D")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--val-days", type=int, default=365)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--ensemble", type=int, default=3, help="seeds merged into one network")
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--weight-decay", type=float, default=1e-3)
    train.add_argument("--device", default="cpu", help="cpu or cuda")
    train.add_argument("--calendar", choices=["crypto", "equity"], default="crypto",
                       help="annualisation: 365 (crypto) or 252 (equity) days")
    train.add_argument("--walk-forward", action="store_true", help="retrain every --every-months")
    train.add_argument("--every-months", type=int, default=6)
    train.add_argument("--executor", choices=["local", "ray"], default="local")
    train.add_argument("--address", default=None, help="Ray address (auto or ray://host:port)")
    train.set_defaults(func=_cmd_train)

    models = sub.add_parser("models", help="list the bundled pretrained models")
    models.set_defaults(func=_cmd_models)

    backtest = sub.add_parser("backtest", help="run a backtest config and write its tearsheet")
    backtest.add_argument("--config", required=True)
    backtest.add_argument("--data", default=None, help="use this OHLCV file instead of the config's")
    backtest.add_argument("--out", default=None, help="output folder (default backtests/output/NAME)")
    backtest.add_argument("--next-mode", action="store_true", help="run Backtrader bar by bar (runonce=False)")
    backtest.set_defaults(func=_cmd_backtest)

    comp = sub.add_parser("compare", help="run several configs; one comparison table and an index.html")
    comp.add_argument("configs", nargs="+")
    comp.add_argument("--out", default="backtests/output/compare")
    comp.add_argument("--data", default=None)
    comp.set_defaults(func=_cmd_compare)

    ev = sub.add_parser("evaluate", help="out-of-sample forecast accuracy of the LSTM and the baselines")
    ev.add_argument("--data", required=True)
    ev.add_argument("--model", default="btc-1h")
    ev.add_argument("--start", default="2022-01-01")
    ev.add_argument("--end", default=None)
    ev.add_argument("--out", default="backtests/output/evaluation")
    ev.set_defaults(func=_cmd_evaluate)

    sw = sub.add_parser("sweep", help="run a parameter grid of backtests (local pool or Ray)")
    sw.add_argument("--config", required=True)
    sw.add_argument("--executor", choices=["local", "ray"], default="local")
    sw.add_argument("--address", default=None)
    sw.add_argument("--workers", type=int, default=None)
    sw.add_argument("--out", default=None)
    sw.set_defaults(func=_cmd_sweep)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except LSTMStrategiesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; outputs already written are complete (writes are atomic)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
