"""``lstm-strategies backtest``, ``compare`` and ``sweep``: run configs and write their reports."""

from __future__ import annotations

import argparse
from pathlib import Path

import lstm_strategies.cli.arguments as arg


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


def _cmd_sweep(args) -> None:
    from lstm_strategies.core.atomic import child
    from lstm_strategies.research.sweep import SweepConfig, run_sweep

    config = SweepConfig.from_toml(_config_path(args))
    out = Path(args.out) if args.out else child(Path("backtests") / "output" / "sweeps", config.name, "sweep name")
    run_sweep(config, out, args.executor, args.workers, args.address)


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


def add_commands(sub, command) -> None:
    """The ``backtest``, ``compare`` and ``sweep`` commands."""
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

    sw = command(sub, "sweep", "run a parameter grid of backtests (local pool or Ray), resumable")
    _add_config_arguments(sw, "a sweep TOML file (see backtests/sweeps/)")
    sw.add_argument("--executor", choices=["local", "ray"], default="local", help="where tasks run")
    sw.add_argument("--address", default=None, help="Ray address (auto or ray://host:port)")
    sw.add_argument("--workers", type=arg.integer(1, 4096), default=None,
                    help="processes (default: the cores available)")
    sw.add_argument("--out", default=None, help="output folder (default: backtests/output/sweeps/NAME)")
    sw.set_defaults(func=_cmd_sweep)
