"""``lstm-strategies data``: inspect a file or a shipped series, fetch bars from an exchange."""

from __future__ import annotations

import argparse

import lstm_strategies.cli.arguments as arg
from lstm_strategies.data.calendar import CALENDARS

CALENDAR_NAMES = sorted(CALENDARS)


def _cmd_data_inspect(args) -> None:
    import numpy as np

    from lstm_strategies.data.bars import find_gaps
    from lstm_strategies.data.calendar import get_calendar
    from lstm_strategies.data.datasets import load_dataset, names
    from lstm_strategies.data.load import load_ohlcv
    from lstm_strategies.features.realized import log_returns
    from lstm_strategies.market.implied import looks_implied

    if args.implied_units or looks_implied(args.file):
        return _inspect_implied(args.file, args.implied_units)
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


def _inspect_implied(name: str, units: str | None = None) -> None:
    """``data inspect`` of an implied-volatility series: range, gaps, when values are known, yearly means."""
    from lstm_strategies.market.implied import load_implied_vol

    iv = load_implied_vol(name, units=units)
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


def _cmd_data_fetch_implied(args) -> None:
    from lstm_strategies.market.fetch_implied import fetch_implied_vol

    frame = fetch_implied_vol(args.currency, args.since, until=args.until, out=args.out)
    days, new = frame.index, frame.attrs["fetched_days"]
    print(f"wrote {args.out}: {len(frame):,} days of Deribit's {args.currency.upper()} DVOL ({new:,} new), "
          f"{days[0].date()} -> {days[-1].date()} (daily closes in percent; the last is known from "
          f"{frame.attrs['last_day_ends']})")


def _add_fetch_arguments(fetch: argparse.ArgumentParser) -> None:
    fetch.add_argument("--exchange", default="binance", help="a ccxt exchange id")
    fetch.add_argument("--symbol", required=True, help="market symbol, e.g. BTC/USDT")
    fetch.add_argument("--timeframe", default="1h", help="bar size, e.g. 1h or 1d")
    fetch.add_argument("--since", type=arg.date, required=True,
                       help="first bar (YYYY-MM-DD); resumes after the file's last bar")
    fetch.add_argument("--until", type=arg.date, default=None,
                       help="stop before bars opening at this UTC time (default: up to the last closed bar)")
    fetch.add_argument("--out", required=True, help="CSV or CSV.gz file in the standard layout")
    fetch.add_argument("--limit", type=arg.integer(1, 100_000), default=1000, help="bars per request")
    fetch.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_commands(sub, command) -> None:
    """The ``data`` command and its actions."""
    data = command(sub, "data", "inspect or fetch OHLCV data").add_subparsers(dest="data_command", required=True,
                                                                             metavar="ACTION")
    inspect = command(data, "inspect", "rows, range, timeframe, gaps and yearly volatility of a file")
    inspect.add_argument("file", help="an OHLCV file or a shipped dataset (btc_usdt_1h, eth_usdt_1h; implied-vol "
                                      "series such as btc_dvol_daily too)")
    inspect.add_argument("--format", choices=["shared", "yahoo", "binance", "ccxt"], default=None,
                         help="force a format instead of detecting it")
    inspect.add_argument("--calendar", choices=CALENDAR_NAMES, default="crypto",
                         help="annualisation calendar (365 or 252 days)")
    inspect.add_argument("--tz", type=arg.time_zone, default=None,
                         help="time zone of naive timestamps, e.g. Europe/Berlin or UTC (times with an offset "
                              "or a Z need none)")
    inspect.add_argument("--implied-units", choices=["percent", "fraction"], default=None,
                         help="read the file as implied volatility in these units (a file whose header names an "
                              "implied-vol column, such as timestamp,dvol, is read as one without it)")
    inspect.set_defaults(func=_cmd_data_inspect)
    fetch = command(data, "fetch", "download OHLCV bars from an exchange through ccxt (needs network access)")
    _add_fetch_arguments(fetch)
    fetch.set_defaults(func=_cmd_data_fetch)
    fetch_iv = command(data, "fetch-implied", "download Deribit's DVOL implied-volatility index (daily closes) "
                                              "through ccxt (needs network access)")
    fetch_iv.add_argument("--currency", default="BTC", help="BTC or ETH (Deribit's DVOL indices)")
    fetch_iv.add_argument("--since", type=arg.date, default="2021-03-24",
                          help="first day (YYYY-MM-DD; default: the first day Deribit published DVOL, 2021-03-24); "
                               "resumes after the file's last day")
    fetch_iv.add_argument("--until", type=arg.date, default=None,
                          help="stop before this day (default: up to the last day that has ended)")
    fetch_iv.add_argument("--out", required=True,
                          help="CSV file in the shipped layout (timestamp,dvol: a UTC day, percent)")
    fetch_iv.set_defaults(func=_cmd_data_fetch_implied)
