"""Causal features, realized variance, HAR aggregates, targets and annualisation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.data.calendar import get_calendar, interpolate_variance, interpolate_variance_scalar
from lstm_strategies.features.realized import (
    FEATURE_NAMES,
    feature_frame,
    feature_lookback,
    forward_realized_variance,
    forward_variance_matrix,
    garman_klass_variance,
    log_returns,
    parkinson_variance,
    realized_variance,
    rogers_satchell_variance,
)


@pytest.fixture(scope="module")
def month(btc_hourly):
    return window(btc_hourly, "2021-04-01", "2021-06-01")


def test_realized_variance_is_sum_of_squared_intraday_log_returns(month):
    rv = realized_variance(month)
    day = pd.Timestamp("2021-05-19", tz="UTC")
    closes = month["close"][(month.index >= day - pd.Timedelta("1h")) & (month.index < day + pd.Timedelta("1D"))]
    by_hand = float(np.sum(np.diff(np.log(closes.to_numpy())) ** 2))
    assert rv.loc[day, "rv"] == pytest.approx(by_hand, rel=1e-12)
    assert rv.loc[day, "n_bars"] == 24


def test_gap_days_report_fewer_bars(btc_hourly):
    rv = realized_variance(window(btc_hourly, "2021-04-24", "2021-04-27"))
    assert rv.loc[pd.Timestamp("2021-04-25", tz="UTC"), "n_bars"] == 21  # 3 hours missing


def test_har_features_are_logs_of_trailing_daily_means(btc_hourly):
    """At a day's last bar the HAR regressors are the log mean daily RV over 1, 7 and 30 days
    (windows of 24, 168 and 720 bars: a stretch without missing hours, so bars are days)."""
    month = window(btc_hourly, "2021-06-01", "2021-07-25")
    rv = realized_variance(month)["rv"]
    feats = feature_frame(month)
    day = pd.Timestamp("2021-07-20", tz="UTC")
    row = feats.loc[day + pd.Timedelta("23h")]
    days = rv.loc[:day]
    assert row["log_rv_day"] == pytest.approx(np.log(days.iloc[-1]), rel=1e-9)
    assert row["log_rv_week"] == pytest.approx(np.log(days.iloc[-7:].mean()), rel=1e-9)
    assert row["log_rv_month"] == pytest.approx(np.log(days.iloc[-30:].mean()), rel=1e-9)


def test_forward_target_covers_the_next_horizon_only(month):
    y = forward_realized_variance(month, 1)
    r2 = log_returns(month["close"]) ** 2
    t = 100
    assert y.iloc[t] == pytest.approx(r2.iloc[t + 1: t + 25].sum())
    assert y.iloc[-1:].isna().all()  # no data to score the last bar
    week = forward_realized_variance(month, 7)
    assert week.iloc[t] == pytest.approx(r2.iloc[t + 1: t + 1 + 7 * 24].sum())
    both = forward_variance_matrix(month, [1, 7])
    np.testing.assert_array_equal(both[:, 0], y.to_numpy())
    assert np.isnan(both[-7 * 24:, 1]).all() and np.isfinite(both[-7 * 24 - 1, 1])


def test_equity_targets_count_trading_days(btc_daily):
    """On the equity calendar a horizon of h days is the next h bars (Friday's next day is Monday)."""
    daily = btc_daily.iloc[:40]
    r2 = (log_returns(daily["close"]) ** 2).to_numpy()
    y = forward_realized_variance(daily, 5, "equity").to_numpy()
    assert y[10] == pytest.approx(r2[11:16].sum())
    assert np.isnan(y[-5:]).all()


def test_forward_target_is_time_based_across_gaps(btc_hourly):
    chunk = window(btc_hourly, "2019-05-14", "2019-05-17")  # 10 missing hours on 2019-05-15
    y = forward_realized_variance(chunk, 1)
    t = chunk.index.get_loc(pd.Timestamp("2019-05-15 00:00", tz="UTC"))
    r2 = log_returns(chunk["close"]) ** 2
    inside = (chunk.index > chunk.index[t]) & (chunk.index <= chunk.index[t] + pd.Timedelta("1D"))
    assert inside.sum() == 14
    assert y.iloc[t] == pytest.approx(r2[inside].sum())


def test_range_estimators_on_a_known_bar():
    bar = pd.DataFrame({"open": [100.0], "high": [110.0], "low": [95.0], "close": [105.0]})
    hl, co = np.log(110 / 95), np.log(105 / 100)
    assert parkinson_variance(bar).iloc[0] == pytest.approx(hl**2 / (4 * np.log(2)))
    assert garman_klass_variance(bar).iloc[0] == pytest.approx(0.5 * hl**2 - (2 * np.log(2) - 1) * co**2)
    h, lo, o, c = np.log([110, 95, 100, 105])
    assert rogers_satchell_variance(bar).iloc[0] == pytest.approx((h - c) * (h - o) + (lo - c) * (lo - o))


def test_features_are_causal_under_truncation(btc_hourly):
    full = window(btc_hourly, "2021-01-01", "2021-04-01")
    cut = pd.Timestamp("2021-03-01 13:00", tz="UTC")
    truncated = full[full.index <= cut]
    truncated.attrs = dict(full.attrs)
    a, b = feature_frame(full).loc[:cut], feature_frame(truncated)
    assert a.shape == b.shape and list(a.columns) == FEATURE_NAMES
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-9, atol=1e-12)


def test_features_have_finite_lookback(btc_hourly):
    """Dropping history older than the lookback leaves the last row unchanged."""
    full = window(btc_hourly, "2021-01-01", "2021-04-01")
    n = feature_lookback(24)
    tail = full.iloc[-n:]
    tail.attrs = dict(full.attrs)
    np.testing.assert_allclose(feature_frame(full).iloc[-1], feature_frame(tail).iloc[-1], rtol=1e-9)
    assert feature_frame(tail).iloc[:-1].isna().all(axis=1).all()


def test_annualisation_calendars():
    crypto, equity = get_calendar("crypto"), get_calendar("equity")
    assert crypto.periods_per_year("1h") == 365 * 24
    assert crypto.periods_per_year("1D") == 365
    assert equity.periods_per_year("1D") == 252
    assert equity.bars_per_day("1D") == 1 and crypto.bars_per_day("1h") == 24
    # a daily variance of 0.0004 (2% a day) is 38.2% a year on the crypto calendar, 31.7% on the equity one
    assert crypto.annualise(0.0004, 1) == pytest.approx(0.02 * np.sqrt(365))
    assert equity.annualise(5 * 0.0004, 5) == pytest.approx(0.02 * np.sqrt(252))
    assert equity.trading_days(365) == pytest.approx(252)


def test_unknown_calendar_is_a_config_error():
    from lstm_strategies.core.errors import ConfigError

    with pytest.raises(ConfigError, match="calendar 'lunar' is unknown"):
        get_calendar("lunar")


def test_term_structure_interpolates_total_variance():
    horizons = [1, 7, 30]
    var = np.array([[0.001, 0.006, 0.03]])
    assert interpolate_variance(var, horizons, 7)[0] == pytest.approx(0.006)
    assert interpolate_variance(var, horizons, 0.5)[0] == pytest.approx(0.0005)
    # between 7 and 30 days: linear in total variance
    assert interpolate_variance(var, horizons, 18.5)[0] == pytest.approx(0.006 + 0.024 * 0.5)
    # beyond the last horizon: the 7-30 day forward rate continues
    assert interpolate_variance(var, horizons, 53)[0] == pytest.approx(0.03 + 0.024)
    for tau in (0.3, 1, 4, 7, 12, 30, 45):
        assert interpolate_variance_scalar(var[0], horizons, tau) == pytest.approx(
            interpolate_variance(var, horizons, tau)[0])


def test_streaming_features_equal_the_batch_features(btc_hourly):
    from lstm_strategies.features.realized import StreamingFeatures

    df = window(btc_hourly, "2019-05-01", "2019-07-01")  # includes a 10-hour gap and a flat bar
    batch = feature_frame(df).to_numpy()
    stream = StreamingFeatures(24)
    rows = np.array([stream.update(*r, t.hour) for t, r in
                     zip(df.index, df[["open", "high", "low", "close", "volume"]].to_numpy(), strict=True)])
    np.testing.assert_allclose(rows, batch, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_volume_features(month):
    from lstm_strategies.features.realized import log_volume, log_volume_change, squared_returns

    v = month["volume"]
    assert log_volume_change(v).iloc[5] == pytest.approx(np.log1p(v.iloc[5]) - np.log1p(v.iloc[4]))
    assert np.isnan(log_volume_change(v).iloc[0])
    assert np.isfinite(log_volume(pd.Series([0.0, 1.0]))).all()
    c = month["close"]
    assert squared_returns(c).iloc[3] == pytest.approx(np.log(c.iloc[3] / c.iloc[2]) ** 2)
