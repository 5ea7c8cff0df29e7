"""The estimation windows and the causal level correction (issue #29): batched = streaming (with a start inside
the correction's window), nothing after a bar moves its forecast, and the defaults are 0.3.0's forecasts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import perturb_after, window

from lstm_strategies.core.errors import ConfigError, LeakageError
from lstm_strategies.features.realized import forward_variance_matrix, target_ends
from lstm_strategies.forecasters import make_forecaster
from lstm_strategies.forecasters.level import LevelCorrection, TrailingLevel, level_factors

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "forecasts_030.npz"
SMALL = {"min_train_days": 40, "refit_every_days": 10}
LEVEL = {"level_window_days": 20, "level_min_days": 5}
#: (registry name, parameters, reads implied vol)
CASES = {
    "log_har_rolling": ("log_har", {**SMALL, "window": "rolling", "window_days": 30}, False),
    "log_har_ew": ("log_har", {**SMALL, "window": "ew", "window_days": 20}, False),
    "har_ew": ("har", {**SMALL, "window": "ew", "window_days": 20}, False),
    "log_har_h1": ("log_har", {**SMALL, **LEVEL, "level_correction": "h1"}, False),
    "log_har_own_ew": ("log_har", {**SMALL, **LEVEL, "level_correction": "own", "level_shrink": 0.5,
                                   "window": "ew", "window_days": 30}, False),
    "garch_rolling_h1": ("garch", {"min_train_days": 90, "refit_every_days": 20, "window": "rolling",
                                   "window_days": 80, **LEVEL, "level_correction": "h1"}, False),
    "har_iv_rolling_own": ("har_iv", {**SMALL, "min_iv_days": 20, "window": "rolling", "window_days": 35, **LEVEL,
                                      "level_correction": "own"}, True),
    "implied_anchor": ("implied_anchor", {"level_window_days": 20, "level_min_days": 5}, True),
    "lstm_h1": ("lstm", {"model": "btc-1h", **SMALL, **LEVEL, "level_correction": "h1"}, False),
}


@pytest.fixture(scope="module")
def spring(btc_hourly):
    return window(btc_hourly, "2022-02-01", "2022-06-20")


def build(case: str, implied):
    name, params, reads = CASES[case]
    f = make_forecaster(name, **params)
    return f.set_inputs(implied_vol=implied) if reads else f


def run(f, df: pd.DataFrame, start, streaming: bool) -> np.ndarray:
    f.fit(df)
    if not streaming:
        return f.predict_batch(df, start=start)
    f.reset()
    if start is not None:
        f.publish_from(start)
    cols = df[["open", "high", "low", "close", "volume"]].to_numpy()
    return np.array([f.update_fields(t, *row) for t, row in zip(df.index.asi8, cols.tolist(), strict=True)])


# ----------------------------------------------------------------------------------------------
# the arithmetic
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["own", "h1"])
@pytest.mark.parametrize("form", ["ratio_of_means", "mean_ratio"])
def test_streamed_factors_are_the_batched_ones(btc_hourly, mode, form):
    """The running sums of TrailingLevel give level_factors' cumulative-sum factors, bar by bar, on real
    bars with gaps and forecasts with NaN holes."""
    df = window(btc_hourly, "2023-03-01", "2023-06-01")
    rng = np.random.default_rng(1)
    horizons = [1, 7, 30]
    F = forward_variance_matrix(df, horizons) * rng.lognormal(0.3, 0.5, (len(df), 3))
    F[rng.random(len(df)) < 0.05] = np.nan
    F[:, 2] = np.where(np.isnan(F[:, 2]), 1e-4, F[:, 2])        # a full column of forecasts, no target late
    F[np.isnan(F)] = np.nan
    F[-800:] = 1e-3 * rng.lognormal(0, 0.2, (800, 3))           # forecasts whose targets never complete here
    spec = LevelCorrection(mode, 12.0, 0.7, 2.0, form)
    spans = [pd.Timedelta(days=h).value for h in horizons]
    ts = df.index.asi8
    Y = forward_variance_matrix(df, horizons)
    batched = F * level_factors(ts, Y, F, target_ends(df, horizons), spans, spec, 48)
    state = TrailingLevel(spec, spans, 48)
    streamed = np.array([state.step(t, c, f) for t, c, f in zip(ts, df["close"].to_numpy(), F, strict=True)])
    np.testing.assert_allclose(streamed, batched, rtol=1e-9, equal_nan=True)
    factor = batched / F
    assert np.nanmax(np.abs(np.log(factor))) > 0.05                  # the correction does something here
    assert np.all(np.isclose(factor[: 24 * 3], 1.0) | np.isnan(factor[: 24 * 3]))   # 1 before 2 days of rows
    if mode == "h1":
        np.testing.assert_allclose(factor[:, 1], factor[:, 0], equal_nan=True)


def test_the_factor_is_the_trailing_bias_ratio_shrunk_and_clipped():
    """One horizon, hourly bars: c = sum RV / sum F over the windows completed in the last L days."""
    n = 24 * 40
    ts = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC").asi8
    Y = np.full((n, 1), 2e-4)
    F = np.full((n, 1), 1e-4)                       # the forecast is half the realized: c = 2
    ends = np.minimum(np.arange(n) + 24, n)[:, None]
    Y[ends[:, 0] >= n] = np.nan
    spec = LevelCorrection("own", 10.0, 0.5, 1.0)
    f = level_factors(ts, Y, F, ends, [pd.Timedelta(days=1).value], spec, 24)
    assert np.allclose(f[:47], 1.0) and f[47, 0] == pytest.approx(np.sqrt(2.0))   # 24 rows known first at bar 47
    np.testing.assert_allclose(f[100:], np.sqrt(2.0))
    wild = level_factors(ts, Y * 100, F, ends, [pd.Timedelta(days=1).value], LevelCorrection("own", 10.0, 1.0, 1.0),
                         24)
    np.testing.assert_allclose(wild[100:], 4.0)     # clipped to [0.25, 4]


# ----------------------------------------------------------------------------------------------
# the forecasters: batched = streaming, with a start inside the correction's window; causality
# ----------------------------------------------------------------------------------------------
def _cases():
    return [pytest.param(c, marks=pytest.mark.slow) if c.startswith(("lstm", "garch")) else c for c in CASES]


@pytest.mark.parametrize("case", _cases())
def test_batched_equals_streaming_from_a_start(case, spring, btc_dvol):
    """A start 25 days after the first correction can apply: the forecasts before it that the correction reads
    are computed in both paths (publish_from moves the quiet period back), and both equal a run from the
    first bar."""
    start = pd.Timestamp("2022-05-05", tz="UTC")
    full = run(build(case, btc_dvol), spring, None, False)
    batched = run(build(case, btc_dvol), spring, start, False)
    streamed = run(build(case, btc_dvol), spring, start, True)
    keep = spring.index >= start
    assert np.isfinite(batched[keep]).all()
    np.testing.assert_allclose(batched[keep], full[keep], rtol=1e-12)
    np.testing.assert_allclose(streamed[keep], batched[keep], rtol=1e-6)


@pytest.mark.parametrize("case", _cases())
@pytest.mark.parametrize("streaming", [False, True], ids=["batched", "streaming"])
def test_nothing_after_a_bar_moves_its_forecast(case, streaming, spring, btc_dvol):
    when = pd.Timestamp("2022-05-20 11:00", tz="UTC")
    start = pd.Timestamp("2022-05-05", tz="UTC")
    base = run(build(case, btc_dvol), spring, start, streaming)
    bars, iv = perturb_after(spring, btc_dvol, when)
    moved = run(build(case, iv), bars, start, streaming)
    before = (spring.index <= when) & (spring.index >= start)
    assert np.isfinite(base[before]).all()
    np.testing.assert_array_equal(moved[before], base[before])
    assert np.mean(moved[spring.index > when] != base[spring.index > when]) > 0.5


def test_the_correction_moves_the_forecasts_by_the_completed_ratio(spring):
    raw = make_forecaster("log_har", **SMALL).fit(spring).predict_batch(spring)
    fixed = make_forecaster("log_har", **SMALL, **LEVEL, level_correction="h1").fit(spring).predict_batch(spring)
    factor = fixed / raw
    last = -1
    Y = forward_variance_matrix(spring, [1])[:, 0]
    ends = target_ends(spring, [1])[:, 0]
    t = len(spring) - 1
    rows = (ends <= t) & (spring.index.asi8 + pd.Timedelta(days=1).value > spring.index.asi8[t] - pd.Timedelta(
        days=20).value) & np.isfinite(raw[:, 0])
    np.testing.assert_allclose(factor[last], Y[rows].sum() / raw[rows, 0].sum(), rtol=1e-10)
    np.testing.assert_allclose(factor[:, 2], factor[:, 0], equal_nan=True)      # h1: every horizon alike


# ----------------------------------------------------------------------------------------------
# defaults: 0.3.0, bit for bit
# ----------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["log_har", "har", "har_iv", "garch", "lstm", "lstm_iv"])
def test_defaults_reproduce_030(name, btc_hourly, btc_dvol):
    """``window="expanding"`` and ``level_correction="off"`` give 0.3.0's forecasts (stored by 0.3.0's code:
    tests/fixtures/build_030_forecasts.py), and the off path is the uncorrected one, untouched."""
    stored = np.load(FIXTURE)
    df = window(btc_hourly, "2021-01-01", "2021-10-01")
    kw = {"model": "btc-1h" + ("-iv" if name == "lstm_iv" else "")} if name.startswith("lstm") else {}
    f = make_forecaster(name, **kw)
    if f.inputs:
        f.set_inputs(implied_vol=btc_dvol)
    f.fit(df)
    now = f.predict_batch(df)
    origins = np.flatnonzero(df.index.hour == 23)
    np.testing.assert_array_equal(df.index.asi8[origins], stored["ts"])
    np.testing.assert_allclose(now[origins], stored[name], rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(now, f._predict_batch(df))


def test_the_expanding_fit_is_plain_ols(spring):
    """Expanding: unweighted least squares with the residual variance (0.3.0); rolling: the same on the rows whose
    target ended within the window; EW: weighted least squares."""
    f = make_forecaster("log_har", **SMALL).fit(spring)
    assert f.row_weights(spring.index.asi8, target_ends(spring, [1, 7, 30]), len(spring) - 1) is None
    k = len(spring) - 1
    ends = target_ends(spring, [1, 7, 30])
    roll = make_forecaster("log_har", **SMALL, window="rolling", window_days=30).fit(spring)
    w = roll.row_weights(spring.index.asi8, ends, k)
    end_ts = spring.index.asi8[np.minimum(ends[:, 0], k)]
    np.testing.assert_array_equal(w[:, 0] == 1.0, end_ts > spring.index.asi8[k] - pd.Timedelta(days=30).value)
    ew = make_forecaster("log_har", **SMALL, window="ew", window_days=10).fit(spring)
    w = ew.row_weights(spring.index.asi8, ends, k)
    age = (spring.index.asi8[k] - end_ts) / pd.Timedelta(days=1).value
    np.testing.assert_allclose(w[:, 0], 0.5 ** (age / 10))


# ----------------------------------------------------------------------------------------------
# parameters
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, params, says", [
    ("log_har", {"window": "weekly"}, "window='weekly'"),
    ("log_har", {"window": "rolling"}, "needs window_days"),
    ("log_har", {"window_days": 30}, "applies to a rolling or EW window"),
    ("garch", {"window": "ew", "window_days": 30}, "choose one of ['expanding', 'rolling']"),
    ("log_har", {"level_correction": "yes"}, "level_correction = 'yes': choose one of"),
    ("log_har", {"level_correction": "h1", "level_shrink": 2}, "level_shrink"),
    ("lstm", {"head": "frozen", "head_window": "rolling", "head_window_days": 30}, "head_window applies"),
])
def test_bad_parameters_are_one_clear_error(name, params, says):
    with pytest.raises(ConfigError, match=says.replace("[", r"\[").replace("]", r"\]")):
        make_forecaster(name, **params)


def test_the_parameters_are_declared_and_kept(spring):
    from lstm_strategies.forecasters import forecaster_params

    for name in ("log_har", "har_iv", "garch", "lstm", "lstm_iv"):
        declared = forecaster_params(name)
        assert declared["level_correction"] == "off" and declared["level_window_days"] == 180
        assert declared.get("window", declared.get("head_window")) == "expanding"
    assert forecaster_params("implied_anchor") == {"level_correction": "h1", "level_window_days": 90,
                                                   "level_shrink": 0.5, "level_min_days": 30, "horizons": None}
    f = make_forecaster("lstm", model="btc-1h", head_window="rolling", head_window_days=365, level_correction="h1")
    assert f.get_params()["head_window_days"] == 365 and f.head_forecaster.window == "rolling"


def test_a_corrected_lstm_reads_its_window_before_the_start_out_of_sample_too():
    """btc-1h was trained to 2021-12-31: from 2022-03-01 its forecasts are out of sample, but a correction over
    180 days reads its forecasts from 2021-08 on."""
    plain = make_forecaster("lstm", model="btc-1h")
    assert plain.check_out_of_sample(pd.Timestamp("2022-03-01", tz="UTC")) is False
    fixed = make_forecaster("lstm", model="btc-1h", level_correction="h1")
    with pytest.raises(LeakageError):
        fixed.check_out_of_sample(pd.Timestamp("2022-03-01", tz="UTC"))
    assert fixed.check_out_of_sample(pd.Timestamp("2022-08-01", tz="UTC")) is False


def test_the_anchor_is_implied_variance_times_its_factor(spring, btc_dvol):
    implied = make_forecaster("implied").set_inputs(implied_vol=btc_dvol).fit(spring).predict_batch(spring)
    anchor = make_forecaster("implied_anchor").set_inputs(implied_vol=btc_dvol).fit(spring).predict_batch(spring)
    factor = anchor / implied
    np.testing.assert_allclose(factor[:743], 1.0)     # 720 completed 1-day windows (30 days) first at bar 743
    assert np.all(factor[-500:] != 1.0)
    np.testing.assert_allclose(factor[:, 0], factor[:, 2])


@pytest.mark.parametrize("name, params", [
    ("log_har", {**SMALL, **LEVEL, "level_correction": "h1", "window": "ew", "window_days": 30}),
    ("implied_anchor", {"level_window_days": 20, "level_min_days": 5}),
])
def test_both_backtrader_modes_give_the_corrected_forecasts_from_the_indicators_start(name, params, spring, btc_dvol):
    """The indicator's ``start`` (publish_from in next mode, predict_batch(start=) in runonce) inside the correction's
    window: both modes publish the same corrected forecasts."""
    import backtrader as bt

    from lstm_strategies.trading.feed import to_bt_feed
    from lstm_strategies.trading.indicators import VolatilityForecast

    def lines(runonce: bool) -> np.ndarray:
        out = []

        class Record(bt.Strategy):
            def __init__(self):
                self.ind = VolatilityForecast(self.data, forecaster=name, forecaster_params=params, horizon=30,
                                              inputs={"implied_vol": btc_dvol}, start="2022-05-05")

            def next(self):
                out.append((self.ind.var_1d[0], self.ind.var_30d[0]))

        cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
        cerebro.adddata(to_bt_feed(spring))
        cerebro.addstrategy(Record)
        cerebro.run()
        return np.array(out)

    batched, streamed = lines(True), lines(False)
    assert np.isfinite(batched[-500:]).all()
    np.testing.assert_allclose(streamed, batched, rtol=1e-6, equal_nan=True)
    direct = make_forecaster(name, **params)
    if direct.inputs:
        direct.set_inputs(implied_vol=btc_dvol)
    full = direct.fit(spring).predict_batch(spring)       # a run from the first bar: the same numbers
    n = len(batched)                                       # next() starts after the indicator's warm-up
    published = spring.index[-n:] >= "2022-05-05"
    np.testing.assert_allclose(batched[published], full[-n:][published][:, [0, 2]], rtol=1e-12)


def test_the_self_refitting_lstms_pass_the_head_window_to_every_head():
    f = make_forecaster("lstm_refit", head_window="rolling", head_window_days=365).bind("1h")
    assert (f._new_head().window, f._new_head().window_days) == ("rolling", 365)
    assert f._head_window() == {"head_window": "rolling", "head_window_days": 365}
    assert make_forecaster("lstm_iv_refit").bind("1h")._new_head().window == "expanding"
    with pytest.raises(ConfigError, match="head_window applies"):
        make_forecaster("lstm_refit", init="crypto-1h", head_window="ew", head_window_days=90)
