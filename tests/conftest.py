"""Shared fixtures: the real market data in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest

from lstm_strategies.backtest import data_dir
from lstm_strategies.data import load_ohlcv

SHARED = data_dir()


def shared_file(name: str) -> Path:
    """Path of a shared data file; a missing file fails the test loudly (never skips)."""
    path = SHARED / name
    if not path.exists():
        pytest.fail(f"{path} is missing: the tests need the real data in ../shared/data "
                    "(or set $LSTM_STRATEGIES_DATA to its folder)")
    return path


@pytest.fixture(scope="session")
def btc_hourly() -> pd.DataFrame:
    return load_ohlcv(shared_file("btc_usdt_1h.csv.gz"))


@pytest.fixture(scope="session")
def eth_hourly() -> pd.DataFrame:
    return load_ohlcv(shared_file("eth_usdt_1h.csv.gz"))


@pytest.fixture(scope="session")
def btc_daily() -> pd.DataFrame:
    return load_ohlcv(shared_file("btc_usd_1d.csv"))


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
