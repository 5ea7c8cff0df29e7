"""Shared fixtures: the real market data that ships with the package (nothing outside the repo)."""

from __future__ import annotations

import os
import socket

import backtrader as bt
import pandas as pd
import pytest

from lstm_strategies.data import resample_ohlcv
from lstm_strategies.datasets import load_dataset


@pytest.fixture(scope="session", autouse=True)
def private_fold_cache(tmp_path_factory):
    """No test reads or writes the user's fold cache (~/.cache/lstm-strategies): a fresh one per run."""
    previous = os.environ.get("LSTM_STRATEGIES_CACHE")
    os.environ["LSTM_STRATEGIES_CACHE"] = str(tmp_path_factory.mktemp("fold-cache"))
    yield
    if previous is None:
        os.environ.pop("LSTM_STRATEGIES_CACHE", None)
    else:
        os.environ["LSTM_STRATEGIES_CACHE"] = previous


@pytest.fixture(scope="session")
def btc_hourly() -> pd.DataFrame:
    return load_dataset("btc_usdt_1h")


@pytest.fixture(scope="session")
def eth_hourly() -> pd.DataFrame:
    return load_dataset("eth_usdt_1h")


@pytest.fixture(scope="session")
def btc_daily(btc_hourly) -> pd.DataFrame:
    """Daily bars aggregated from the shipped hourly BTC bars (UTC days)."""
    return resample_ohlcv(btc_hourly, "1D")


def window(df: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """A slice of a frame by UTC dates, keeping its attrs."""
    out = df[(df.index >= pd.Timestamp(start, tz="UTC")) & (df.index < pd.Timestamp(end, tz="UTC"))]
    out.attrs = dict(df.attrs)
    return out


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def guard(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", guard)
    monkeypatch.setattr(socket.socket, "connect_ex", guard)
    monkeypatch.setattr(socket, "create_connection", guard)
    monkeypatch.setattr(socket, "getaddrinfo", guard)


def run_ewma_on_a_stock_feed(frame: pd.DataFrame, runonce: bool) -> None:
    """Run ``EWMAVolatility`` over ``frame`` (hourly, UTC) through Backtrader's own ``PandasData``,
    bypassing the package's loader and feed."""
    from lstm_strategies.indicators import EWMAVolatility

    naive = frame.copy()
    naive.index = naive.index.tz_localize(None)

    class Probe(bt.Strategy):
        def __init__(self):
            EWMAVolatility(self.data)

    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    cerebro.adddata(bt.feeds.PandasData(dataname=naive, openinterest=None, timeframe=bt.TimeFrame.Minutes,
                                        compression=60))
    cerebro.addstrategy(Probe)
    cerebro.run()


def variance_config(strategy: str = "variance_swap", params: dict | None = None, forecaster: str = "ewma",
                    baselines: bool = False, **backtest):
    """A variance strategy on the shipped BTC DVOL, trading from 2023-01-01 (the bars come with the run)."""
    from lstm_strategies.backtest import BacktestConfig

    sizing = {"reference_vol": 81.35} if strategy == "variance_swap" else {}
    params = {"implied_vol": "btc_dvol_daily", "entries_until": "2023-02-28", **sizing, **(params or {})}
    return BacktestConfig.from_dict({
        "name": strategy, "data": {"file": "unused"},
        "backtest": {"start": "2023-01-01", "cash": 100_000, **backtest},
        "strategy": {"name": strategy, "forecaster": forecaster, "params": params},
        "report": {"baselines": baselines, "tearsheet": False}})
