"""The unvalidated-bars battery: bars that skipped the loader are checked like the loader's."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from conftest import run_ewma_on_a_stock_feed, window

from lstm_strategies.core.errors import DataError
from lstm_strategies.data.bars import BarChecker, as_bar, check_frame
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.trading.indicators import LSTMVolatility


@pytest.fixture(scope="module")
def clean(btc_hourly):
    return window(btc_hourly, "2022-01-01", "2022-02-15")


def corrupt(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    bad = df.copy()
    i = 900
    if kind == "duplicate":
        bad = pd.concat([bad.iloc[:i], bad.iloc[i - 1:i], bad.iloc[i:]])
    elif kind == "unsorted":
        order = list(range(len(bad)))
        order[i], order[i + 1] = order[i + 1], order[i]
        bad = bad.iloc[order]
    elif kind == "zero_close":
        bad.iloc[i, bad.columns.get_loc("close")] = 0.0
    elif kind == "nan_close":
        bad.iloc[i, bad.columns.get_loc("close")] = np.nan
    elif kind == "negative_close":
        bad.iloc[i, bad.columns.get_loc("close")] = -5.0
    elif kind == "high_below_low":
        lo, hi = bad.iloc[i]["low"], bad.iloc[i]["high"]
        bad.iloc[i, bad.columns.get_loc("high")] = lo
        bad.iloc[i, bad.columns.get_loc("low")] = hi
    bad.attrs = dict(df.attrs)
    return bad


KINDS = ["duplicate", "unsorted", "zero_close", "nan_close", "negative_close", "high_below_low"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", ["ewma", "lstm"])
def test_batched_forecasts_refuse_bad_bars(clean, kind, name):
    f = make_forecaster(name, **({"head": "frozen"} if name == "lstm" else {}))
    if not f.is_fitted:
        f.fit(clean)
    with pytest.raises(DataError):
        f.predict_batch(corrupt(clean, kind))


@pytest.mark.parametrize("kind", KINDS)
def test_forecast_series_refuses_bad_bars(clean, kind):
    with pytest.raises(DataError):
        make_forecaster("ewma").forecast_series(corrupt(clean, kind))


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_refuses_bad_bars(clean, kind):
    f = make_forecaster("lstm", head="frozen")
    with pytest.raises(DataError):
        for _, row in corrupt(clean, kind).iterrows():
            f.update(row)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("runonce", [True, False])
def test_a_stock_pandasdata_feed_is_checked_by_the_indicator(clean, kind, runonce):
    with pytest.raises(DataError):
        run_ewma_on_a_stock_feed(corrupt(clean, kind), runonce)


def test_one_bad_close_no_longer_blanks_hundreds_of_forecasts(clean):
    """Before, a NaN close silently turned the next ~800 LSTM forecasts into NaN; now it is refused."""
    bad = corrupt(clean, "nan_close")
    with pytest.raises(DataError, match="'close'.*NaN"):
        make_forecaster("lstm", head="frozen").predict_batch(bad)


def test_the_checks_are_the_loaders(clean):
    assert check_frame(clean) is clean
    with pytest.raises(DataError, match="DatetimeIndex"):
        check_frame(clean.reset_index(drop=True))
    with pytest.raises(DataError, match="no time zone"):
        check_frame(clean.tz_localize(None))
    checker = BarChecker("feed")
    bar = as_bar(clean.iloc[0])
    checker.check(bar.timestamp.value, bar.open, bar.high, bar.low, bar.close, bar.volume)
    with pytest.raises(DataError, match="not after the previous bar"):
        checker.check(bar.timestamp.value, bar.open, bar.high, bar.low, bar.close, bar.volume)


def test_lstm_indicator_refuses_a_bad_stock_feed_in_next_mode(clean):
    naive = corrupt(clean, "negative_close")
    naive.index = naive.index.tz_localize(None)

    class Probe(bt.Strategy):
        def __init__(self):
            LSTMVolatility(self.data, head="frozen")

    cerebro = bt.Cerebro(stdstats=False, runonce=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=naive, openinterest=None, timeframe=bt.TimeFrame.Minutes,
                                        compression=60))
    cerebro.addstrategy(Probe)
    with pytest.raises(DataError, match="invalid"):
        cerebro.run()


def test_one_end_of_day_rule():
    """A date means the end of that UTC day; a time is kept, midnight included (training and folds agree)."""
    import datetime

    import pandas as pd

    from lstm_strategies.data.bars import end_of_day

    last = pd.Timestamp("2021-12-31 23:59:59.999999999", tz="UTC")
    assert end_of_day("2021-12-31") == last
    assert end_of_day(datetime.date(2021, 12, 31)) == last
    assert end_of_day("2021-12-31 00:00") == pd.Timestamp("2021-12-31", tz="UTC")
    assert end_of_day(pd.Timestamp("2021-12-31 12:00", tz="UTC")) == pd.Timestamp("2021-12-31 12:00", tz="UTC")
    assert end_of_day(last) == last


def test_an_equity_calendar_counts_missing_sessions_not_weekends_and_holidays():
    """The S&P 500 1999-2018 misses exactly its unscheduled closures: 9/11, two days of mourning,
    Hurricane Sandy, and one more day of mourning (weekends and the regular holidays are no gaps)."""
    import pandas as pd

    from lstm_strategies.data.bars import find_gaps
    from lstm_strategies.data.calendar import get_calendar
    from lstm_strategies.data.datasets import load_dataset

    gaps = find_gaps(load_dataset("arch:sp500"), calendar=get_calendar("equity"))
    starts = [str(d.date()) for d in gaps.table["start"]]
    assert starts == ["2001-09-11", "2004-06-11", "2007-01-02", "2012-10-29", "2018-12-05"]
    assert list(gaps.table["missing"]) == [4, 1, 1, 2, 1]
    sessions = get_calendar("equity").sessions("2024-12-20", "2025-01-03")
    assert pd.Timestamp("2024-12-25") not in sessions and pd.Timestamp("2025-01-01") not in sessions
    assert len(get_calendar("crypto").sessions("2024-12-20", "2025-01-03")) == 15
