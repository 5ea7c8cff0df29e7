"""The ``lstm-strategies`` command: data, models, training, evaluation, backtests, comparisons, sweeps.

Every error a user can cause prints one line starting with ``error:`` (exit status 2) that names
the file, key or option and says what to do; output piped into ``head`` ends quietly. The commands
live in :mod:`~lstm_strategies.cli.data`, :mod:`~lstm_strategies.cli.train`,
:mod:`~lstm_strategies.cli.runs` and :mod:`~lstm_strategies.cli.evaluate`.
"""

from __future__ import annotations

import argparse
import os
import sys

import lstm_strategies.cli.data as data_commands
import lstm_strategies.cli.evaluate as evaluate_commands
import lstm_strategies.cli.forecast as forecast_commands
import lstm_strategies.cli.runs as run_commands
import lstm_strategies.cli.train as train_commands
from lstm_strategies._version import __version__
from lstm_strategies.cli.arguments import Parser, print_error, stderr_lines
from lstm_strategies.core.errors import LSTMStrategiesError

DESCRIPTION = """lstm-strategies: LSTM volatility forecasts for Backtrader, backtests and tearsheets.

  lstm-strategies backtest CONFIG.toml            run one config, write its tearsheet
  lstm-strategies compare A.toml B.toml ...       run several, side by side
  lstm-strategies sweep GRID.toml                 a grid of backtests (local pool or Ray)
  lstm-strategies evaluate --data btc_usdt_1h     forecast accuracy, out of sample
  lstm-strategies data inspect btc_usdt_1h        what a data file holds
  lstm-strategies forecast --data btc_usdt_1h     the latest forecast, against implied vol
  lstm-strategies models                          the bundled models

Every error a user can cause prints one line starting with "error:" (exit status 2) that names
the file, key or option and says what to do."""


PLUGIN_HELP = ("import a module that adds forecasters or strategies first (a module name or a path to a .py file; "
               "repeat it for several); installed packages' entry points load by themselves")


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
    parser = Parser(prog="lstm-strategies", description=DESCRIPTION, formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=f"lstm-strategies {__version__}")
    parser.add_argument("--plugin", action="append", dest="global_plugins", metavar="MODULE", help=PLUGIN_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name: str, help: str) -> argparse.ArgumentParser:
        cmd = parent.add_parser(name, help=help, description=help, formatter_class=_Formatter)
        if parent is not sub or name != "data":  # `data` only groups its actions, which take the option
            cmd.add_argument("--plugin", action="append", dest="plugins", metavar="MODULE", help=PLUGIN_HELP)
        return cmd

    for module in (data_commands, train_commands, run_commands, evaluate_commands, forecast_commands):
        module.add_commands(sub, command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with stderr_lines():  # an error line never continues a progress bar's line
        return _run(args)


def _run(args) -> int:
    try:
        from lstm_strategies.core.plugins import load_plugins

        load_plugins([*(getattr(args, "global_plugins", None) or []), *(getattr(args, "plugins", None) or [])])
        args.func(args)
    except LSTMStrategiesError as exc:
        print_error(str(exc))
        return 2
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # the system refused a file operation the checks above did not foresee
        print_error(f"{exc.filename or ''}: {exc.strerror or exc}".removeprefix(": "))
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted; outputs already written are complete (writes are atomic)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
