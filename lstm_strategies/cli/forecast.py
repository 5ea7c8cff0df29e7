"""``lstm-strategies forecast``: the latest forecast of a file's last bar, against the market's implied vol."""

from __future__ import annotations

import lstm_strategies.cli.arguments as arg


def _cmd_forecast(args) -> None:
    from lstm_strategies.research.forecast_now import forecast_now

    result = forecast_now(args.data, implied=args.implied, model=args.model, forecaster=args.forecaster,
                          at=args.at, tz=args.tz, implied_units=args.implied_units, calendar=args.calendar)
    print(result.text())


def add_commands(sub, command) -> None:
    """The ``forecast`` command."""
    fc = command(sub, "forecast", "the latest 1/7/30-day volatility forecast of a file's last bar (annualised), "
                                  "with the market's implied volatility known then and the ratio")
    fc.add_argument("--data", required=True, help="OHLCV file or shipped dataset (btc_usdt_1h; a file that "
                    "`lstm-strategies data fetch` keeps up to date)")
    fc.add_argument("--implied", default=None, help="implied-vol series (btc_dvol_daily, eth_dvol_daily or a CSV "
                    "that `lstm-strategies data fetch-implied` keeps up to date)")
    which = fc.add_mutually_exclusive_group()
    which.add_argument("--model", default=None, help="bundled model or checkpoint folder (default: the data's "
                       "coin's bundled model, btc-1h or eth-1h, their -iv twins with --implied, else crypto-1h)")
    which.add_argument("--forecaster", default=None, help="a registered forecaster instead (ewma, garch, har, "
                       "log_har, har_iv, implied, ...)")
    fc.add_argument("--at", type=arg.date, default=None, help="forecast at the last bar of this day (YYYY-MM-DD; "
                    "default: the file's last bar)")
    fc.add_argument("--implied-units", choices=["percent", "fraction"], default=None,
                    help="units of the --implied file's values (default: read from its header or values)")
    fc.add_argument("--calendar", choices=["crypto", "equity"], default=None,
                    help="calendar of a --forecaster (default: crypto; a model brings its own)")
    fc.add_argument("--tz", type=arg.time_zone, default=None, help="time zone of naive timestamps in --data")
    fc.set_defaults(func=_cmd_forecast)
