"""Shared fixtures: the real market data that ships with the package (nothing outside the repo)."""

from __future__ import annotations

import os
import socket

import backtrader as bt
import pandas as pd
import pytest

from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.data.load import resample_ohlcv


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
    from lstm_strategies.trading.indicators import EWMAVolatility

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


@pytest.fixture(scope="session")
def btc_dvol():
    """Deribit's BTC DVOL (shipped), indexed by the time each daily close becomes known."""
    from lstm_strategies.market.implied import load_implied_vol

    return load_implied_vol("btc_dvol_daily")


def perturb_after(df: pd.DataFrame, implied: pd.Series, when: pd.Timestamp, seed: int = 0):
    """Bars stamped after ``when`` (prices x exp(N(0, 0.03)), volume x U(0.5, 2)) and implied values
    known after that bar's close (x U(0.6, 1.4)) changed at random; everything earlier untouched."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bars = df.copy()
    late = bars.index > when
    k = np.exp(rng.normal(0.0, 0.03, late.sum()))
    for col in ("open", "high", "low", "close"):
        bars.loc[late, col] = bars.loc[late, col] * k
    bars.loc[late, "volume"] = bars.loc[late, "volume"] * rng.uniform(0.5, 2.0, late.sum())
    bars.attrs = dict(df.attrs)
    iv = implied.copy()
    known_late = iv.index > when + pd.Timedelta(df.attrs.get("timeframe") or "1h")
    iv[known_late] = iv[known_late] * rng.uniform(0.6, 1.4, known_late.sum())
    iv.attrs = dict(implied.attrs)
    return bars, iv


def forecasts(make, df: pd.DataFrame, implied: pd.Series, start, streaming: bool):
    """Forecasts of a fresh ``make()`` given ``implied``: batched (``predict_batch(start=)``) or streamed
    bar by bar (``publish_from(start)``)."""
    import numpy as np

    f = make().set_inputs(implied_vol=implied).fit(df)
    if not streaming:
        return f.predict_batch(df, start=start)
    f.publish_from(start)
    cols = df[["open", "high", "low", "close", "volume"]].to_numpy()
    return np.array([f.update_fields(t, *row) for t, row in zip(df.index.asi8, cols.tolist(), strict=True)])


def assert_causal(make, df: pd.DataFrame, implied: pd.Series, when: str, start: str, streaming: bool) -> None:
    """Perturbing every bar and implied value after ``when`` leaves every forecast at or before it
    bit-identical (in the path asked for), and moves most later ones."""
    import numpy as np

    when = pd.Timestamp(when, tz="UTC")
    base = forecasts(make, df, implied, start, streaming)
    bars, iv = perturb_after(df, implied, when)
    moved = forecasts(make, bars, iv, start, streaming)
    before = (df.index <= when) & (df.index >= pd.Timestamp(start, tz="UTC"))
    assert np.isfinite(base[before]).any()
    np.testing.assert_array_equal(moved[before], base[before])
    later = df.index > when
    assert np.mean(moved[later] != base[later]) > 0.5


def moved_at_its_close(make, df: pd.DataFrame, implied: pd.Series, when: str, start: str) -> list[list[bool]]:
    """Change only the implied value that becomes known at the close of bar ``when``: forecasts before
    that bar stay bit-identical in both paths; returns, per path (batched, streaming), which horizons
    moved at ``when`` (the value is read as soon as it is known)."""
    import numpy as np

    when = pd.Timestamp(when, tz="UTC")
    changed = implied.copy()
    changed[when + pd.Timedelta(df.attrs.get("timeframe") or "1h")] *= 1.3
    changed.attrs = dict(implied.attrs)
    i = df.index.get_loc(when)
    moved = []
    for streaming in (False, True):
        base = forecasts(make, df, implied, start, streaming)
        other = forecasts(make, df, changed, start, streaming)
        np.testing.assert_array_equal(other[:i], base[:i])
        moved.append(list(other[i] != base[i]))
    return moved


def variance_config(strategy: str = "variance_swap", params: dict | None = None, forecaster: str = "ewma",
                    baselines: bool = False, **backtest):
    """A variance strategy on the shipped BTC DVOL, trading from 2023-01-01 (the bars come with the run)."""
    from lstm_strategies.backtest.runner import BacktestConfig

    sizing = {"reference_vol": 81.35} if strategy == "variance_swap" else {}
    params = {"implied_vol": "btc_dvol_daily", "entries_until": "2023-02-28", **sizing, **(params or {})}
    return BacktestConfig.from_dict({
        "name": strategy, "data": {"file": "unused"},
        "backtest": {"start": "2023-01-01", "cash": 100_000, **backtest},
        "strategy": {"name": strategy, "forecaster": forecaster, "params": params},
        "report": {"baselines": baselines, "tearsheet": False}})


def make_report(strategy, decision: dict, **fields):
    """A RunReport built by hand (the tearsheet's renderers read only what it holds): empty statistics, the given
    strategy class and decision block."""
    from lstm_strategies.reports.run_report import Costs, Performance, Provenance, RunReport, Trading

    performance = Performance(**dict.fromkeys(("sharpe", "sortino", "cagr", "volatility", "max_drawdown", "cvar_95",
                                               "calmar", "total_return", "first_day", "last_day")), days=0)
    base = dict(name="x", strategy=strategy, performance=performance, trading=Trading(None, 0, 0),
                costs=Costs(0.0, 0.0, 0.0), borrowing={}, decision=decision, baseline=None, versus_buy_and_hold={},
                warnings=(), provenance=Provenance({}, "0", 365, "x", {}, {}), title="x")
    return RunReport(**{**base, **fields})
