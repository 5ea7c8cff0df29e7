"""Strategies on real BTC data: the formulas, the band, the costs, the floor, every forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.backtest.runner import BacktestConfig, run_backtest

FAST_PARAMS = {
    "lstm": {"model": "btc-1h", "head": "frozen"},
    "ewma": {},
    "garch": {"min_train_days": 40, "refit_every_days": 15},
    "har": {"min_train_days": 30, "refit_every_days": 15},
    "log_har": {"min_train_days": 30, "refit_every_days": 15},
}


def config(strategy="vol_target", forecaster="ewma", start="2022-03-01", params=None, fparams=None, **kw):
    raw = {"name": f"{strategy}_{forecaster}", "data": {"file": "unused"},
           "backtest": {"start": start, "cash": 100_000, **kw},
           "strategy": {"name": strategy, "forecaster": forecaster, "params": params or {},
                        "forecaster_params": fparams if fparams is not None else FAST_PARAMS[forecaster]},
           "report": {"baselines": False}}
    if strategy == "put_overlay" and "implied_vol" not in (params or {}) and "pricing" not in (params or {}):
        raw["strategy"]["params"] = {"pricing": "proxy", **(params or {})}
    return BacktestConfig.from_dict(raw)


@pytest.fixture(scope="module")
def early_2022(btc_hourly):
    return window(btc_hourly, "2022-01-01", "2022-05-01")


def test_vol_target_weights_follow_the_formula(early_2022):
    params = {"target_vol": 0.3, "max_leverage": 1.0, "band": 0.0, "rebalance": "bar", "horizon": 1}
    res = run_backtest(config(params=params), early_2022)
    rec = res.records[res.records.index >= "2022-03-01"]
    expected = np.minimum(1.0, 0.3 / rec["forecast_vol"])
    np.testing.assert_allclose(rec["target_weight"], expected, rtol=1e-12)
    # orders fill at the next bar's open: the held weight tracks the target within drift and costs
    assert (rec["weight"].iloc[1:] - rec["target_weight"].shift(1).iloc[1:]).abs().median() < 0.01


def test_vol_target_uses_the_forecast_of_its_horizon(early_2022):
    from lstm_strategies.forecasters import make_forecaster

    res = run_backtest(config(params={"horizon": 30, "band": 0.0}, forecaster="log_har"), early_2022)
    want = make_forecaster("log_har", min_train_days=30, refit_every_days=15).forecast_series(early_2022)
    rec = res.records.dropna(subset=["forecast_vol"])
    np.testing.assert_allclose(rec["forecast_vol"], want["vol_30d"].reindex(rec.index), rtol=1e-9)
    assert res.provenance["horizon_days"] == 30


@pytest.mark.parametrize("max_leverage", [1.5, 2.0])
def test_levered_targets_fill_and_pay_interest(early_2022, max_leverage):
    """A weight above 1 is held (the broker lends), no order is rejected, and the borrowing is charged."""
    params = {"target_vol": 2.0, "max_leverage": max_leverage, "band": 0.0, "rebalance": "daily", "horizon": 1}
    res = run_backtest(config(params=params, borrow_rate=0.08), early_2022)
    rec = res.records[res.records.index >= "2022-03-02"]
    assert (rec["target_weight"] == max_leverage).mean() > 0.9   # target 200% vol: always at the cap
    assert rec["weight"].max() > max_leverage - 0.05 and rec["weight"].median() > max_leverage - 0.1
    assert res.extras["rejected_orders"] == 0
    borrowing = res.extras["borrowing"]
    assert borrowing["borrowed_over_equity_mean"] > 0.8 * (max_leverage - 1)
    days = (rec.index[-1] - rec.index[0]).days
    expected = 0.08 * borrowing["borrowed_over_equity_mean"] * 100_000 * days / 365
    assert borrowing["interest_paid"] == pytest.approx(expected, rel=0.3)


def test_rejected_orders_fail_the_run_unless_allowed(early_2022):
    from lstm_strategies.core.errors import BacktestError

    # no cash buffer and costs: a 100% target cannot be paid for, the broker rejects the order
    params = {"target_vol": 5.0, "max_leverage": 1.0, "cash_buffer": 0.0, "band": 0.0, "rebalance": "daily"}
    with pytest.raises(BacktestError, match=r"rejected or cancelled \d+ of"):
        run_backtest(config(params=params, commission=0.01), early_2022)
    res = run_backtest(config(params=params, commission=0.01, allow_rejected_orders=True), early_2022)
    assert res.extras["rejected_orders"] > 0


def test_relative_band_and_partial_adjustment(early_2022):
    base = {"band": 0.0, "rebalance": "daily", "horizon": 1, "adjust": 1.0}
    every = run_backtest(config(params=base), early_2022)
    banded = run_backtest(config(params={**base, "band": 0.25}), early_2022)
    half = run_backtest(config(params={**base, "adjust": 0.5}), early_2022)
    assert banded.extras["orders"] < every.extras["orders"] / 2
    rec = banded.records
    # where the relative gap was inside the band, no order followed the next morning
    assert banded.extras["traded_value"] < every.extras["traded_value"]
    # partial adjustment moves halfway: the weight lags the target more than with full adjustment
    lag_full = (every.records["weight"] - every.records["target_weight"]).abs().median()
    lag_half = (half.records["weight"] - half.records["target_weight"]).abs().median()
    assert lag_half > lag_full
    assert len(rec) == len(every.records)


def test_the_band_suppresses_small_trades(early_2022):
    tight = run_backtest(config(params={"band": 0.0, "rebalance": "bar", "horizon": 1}), early_2022)
    banded = run_backtest(config(params={"band": 0.1, "rebalance": "bar", "horizon": 1}), early_2022)
    daily = run_backtest(config(params={"band": 0.0, "rebalance": "daily"}), early_2022)
    weekly = run_backtest(config(params={"band": 0.0, "rebalance": "weekly"}), early_2022)
    orders = [r.extras["orders"] for r in (tight, banded, daily, weekly)]
    assert orders[0] > 1000 and orders[1] < orders[0] / 10
    assert orders[0] > orders[2] > orders[3] >= 8  # ~60 days, ~9 Mondays


def test_commission_and_slippage_are_charged(early_2022):
    free = run_backtest(config(params={"band": 0.0}, commission=0.0, slippage=0.0), early_2022)
    costly = run_backtest(config(params={"band": 0.0}, commission=0.002, slippage=0.0), early_2022)
    slipped = run_backtest(config(params={"band": 0.0}, commission=0.0, slippage=0.002), early_2022)
    final = [r.records["value"].iloc[-1] for r in (free, costly, slipped)]
    assert free.extras["commission"] == 0.0
    assert costly.extras["commission"] == pytest.approx(0.002 * costly.extras["traded_value"], rel=1e-9)
    assert final[1] < final[0] - 0.5 * costly.extras["commission"]
    assert final[2] < final[0]


def test_synthetic_put_holds_its_floor_through_the_march_2020_crash(btc_hourly):
    crash = window(btc_hourly, "2020-01-01", "2020-04-15")
    cfg = config("synthetic_put", "ewma", start="2020-02-25",
                 params={"moneyness": 0.9, "maturity_days": 30, "band": 0.02, "rebalance": "bar"})
    res = run_backtest(cfg, crash)
    rec = res.records[res.records.index >= "2020-02-25"]
    gap = rec["value"] / rec["floor"] - 1
    # the floor can only be missed by gap risk and costs: a few percent, not the 50% BTC fell
    assert gap.min() > -0.05
    value = rec["value"]
    strategy_dd = (value / value.cummax() - 1).min()
    close = crash["close"][crash.index >= "2020-02-25"]
    bh_dd = (close / close.cummax() - 1).min()
    assert bh_dd < -0.45 and strategy_dd > -0.25
    rolls = res.extras["rolls"]
    assert len(rolls) >= 2  # rolled at least once after 30 days
    done = rolls[rolls["complete"]]
    # the hedging error of a completed roll: value at expiry against the ideal protected payoff
    first = done.iloc[0]
    ideal = first["units"] * (first["spot_end"] + max(first["put"] - first["spot_end"], 0.0))
    assert first["ideal_end"] == pytest.approx(ideal)
    assert first["hedge_error"] == pytest.approx((first["value_end"] - ideal) / first["value_start"])
    assert abs(done["hedge_error"]).max() < 0.1


@pytest.mark.parametrize("strategy", ["synthetic_put", "collar"])
def test_a_ww_band_keeps_the_units_within_its_width_of_the_target(early_2022, strategy):
    """hedge_band = "ww": after each rebalance the units held are within the Whalley-Wilmott half-width of
    ``n * delta`` (trades go to the band's edge), and a lower risk aversion (a wider band) trades less."""
    from lstm_strategies.trading import pricing
    from lstm_strategies.trading.hedging import ww_relative_half_width

    runs = {ra: run_backtest(config(strategy, "ewma", params={"hedge_band": "ww", "risk_aversion": ra,
                                                              "rebalance": "bar"}), early_2022)
            for ra in (3.0, 300.0)}
    assert runs[3.0].extras["orders"] < runs[300.0].extras["orders"]
    res = runs[300.0]
    rec = res.records.dropna(subset=["hedge_ratio"])
    rolls = res.extras["rolls"]
    roll = rolls.iloc[1]
    inside = rec[(rec.index > roll["datetime"]) & (rec.index < roll["datetime"] + pd.Timedelta(days=25))]
    spot = early_2022["close"].reindex(inside.index)
    held = inside["weight"] * inside["value"] / spot
    target = inside["target_weight"] * inside["value"] / spot
    years = (roll["datetime"] + pd.Timedelta(days=30) - inside.index).total_seconds() / (365 * 86400)
    strike = roll["put"]
    gamma = pricing.gamma(spot, strike, years, inside["forecast_vol"].to_numpy())
    if strategy == "collar":
        gamma = gamma - pricing.gamma(spot, roll["call"], years, inside["forecast_vol"].to_numpy())
    width = roll["units"] * ww_relative_half_width(gamma, spot.to_numpy(), 0.0015, 300.0)
    # the weight is read at the bar's close, the order fills at the next open: allow one bar's drift
    assert np.mean(np.abs(held.shift(-1) - target) <= width * 1.5 + 1e-9) > 0.9


def test_collar_caps_delta_between_its_strikes(early_2022):
    res = run_backtest(config("collar", "ewma", params={"put_moneyness": 0.9, "call_moneyness": 1.1}),
                       early_2022)
    rec = res.records.dropna(subset=["hedge_ratio"])
    assert rec["hedge_ratio"].between(0, 1).all()
    assert rec["hedge_ratio"].std() > 0.05


def test_put_overlay_pays_premiums_and_settles_in_cash(btc_hourly):
    """Cash settlement in numbers: the account ends at asset P&L - premiums + payoffs - trading costs."""
    df = window(btc_hourly, "2022-03-01", "2022-08-01")  # includes the May/June 2022 sell-off
    res = run_backtest(config("put_overlay", "ewma", start="2022-04-01", commission=0.0, slippage=0.0,
                              params={"hedge_when": "always", "maturity_days": 20, "band": 1.0}), df)
    hedges = res.extras["hedges"]
    assert len(hedges) >= 4
    assert (hedges["premium"] > 0).all()
    assert hedges["payoff"].max() > 0  # a June put paid out
    # with no trading costs and one asset purchase (band 1.0), the final value is exactly the cash
    # left after the purchase, plus the position's value, minus premiums, plus settled payoffs
    # (and the open put's model value, if one is still held at the end)
    rec = res.records
    units = hedges["units"].iloc[0]
    buy_price = df["open"][df.index > rec.index[rec["weight"] > 0][0] - pd.Timedelta("1h")].iloc[0]
    final_close = df["close"].iloc[-1]
    settled = hedges[hedges["payoff"].notna() & hedges.get("settled", pd.Series(index=hedges.index)).notna()]
    open_value = rec["value"].iloc[-1] - (100_000 - units * buy_price + units * final_close
                                          - hedges["premium"].sum() + settled["payoff"].sum())
    assert abs(open_value) < 0.02 * 100_000  # only the model value of a put still open remains
    assert res.records["value"].notna().all()


def test_put_overlay_uses_a_user_implied_vol_series(early_2022):
    iv = pd.Series(0.2, index=pd.date_range("2021-12-01", "2022-06-01", freq="1D", tz="UTC"))
    res = run_backtest(config("put_overlay", "ewma", params={"implied_vol": iv}), early_2022)
    assert np.allclose(res.records["implied_vol"].dropna(), 0.2)
    hedges = res.extras["hedges"]
    assert len(hedges) >= 1 and (hedges["pricing"] == "implied").all()  # forecast above 20% buys protection
    decisions = res.extras["decisions"]
    assert {"forecast_vol", "implied_vol", "bought"} <= set(decisions.columns)
    assert (decisions["bought"] == (decisions["forecast_vol"] > decisions["implied_vol"])).all()
    # every decision to buy bought a put (none is recorded before the asset is held)
    assert list(decisions.loc[decisions["bought"], "datetime"]) == list(hedges["datetime"])


def test_put_overlay_without_implied_vol_needs_the_proxy_asked_for(early_2022):
    from lstm_strategies.core.errors import ConfigError

    with pytest.raises(ConfigError, match="set implied_vol"):  # refused when the config is read, before a run
        config("put_overlay", "ewma", params={"pricing": "implied"})


@pytest.mark.parametrize("strategy", ["vol_target", "synthetic_put", "collar", "put_overlay",
                                      "constant_exposure", "buy_and_hold"])
@pytest.mark.parametrize("forecaster", list(FAST_PARAMS))
def test_every_strategy_runs_with_every_forecaster(early_2022, strategy, forecaster):
    res = run_backtest(config(strategy, forecaster), early_2022)
    assert len(res.returns) >= 55
    assert res.records["forecast_vol"].iloc[-1] > 0
    traded = res.records[res.records.index >= "2022-03-01"]
    assert (traded["weight"] > 0).any()


def test_put_overlay_reads_an_implied_vol_csv(early_2022, tmp_path):
    dates = pd.date_range("2021-12-01", "2022-06-01", freq="1D")
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "dvol": 20.0}).to_csv(tmp_path / "dvol.csv", index=False)
    res = run_backtest(config("put_overlay", "ewma", params={"implied_vol": str(tmp_path / "dvol.csv")}),
                       early_2022)
    assert np.allclose(res.records["implied_vol"].dropna(), 0.2)


def test_short_history_is_a_clear_error_naming_the_bars(btc_hourly):
    from lstm_strategies.core.errors import DataError

    df = window(btc_hourly, "2022-02-20", "2022-04-01")
    with pytest.raises(DataError, match=r"the lstm forecaster needs 767 bars \(32 days\) of history before "
                                        r"\[backtest\] start 2022-03-01 to warm up; the data has 216"):
        run_backtest(config(forecaster="lstm"), df)


def test_a_run_without_trades_reports_zero_exposure(early_2022, tmp_path):
    from lstm_strategies.reports.write import write_report

    res = run_backtest(config("constant_exposure", params={"weight": 0.0}), early_2022)
    metrics = write_report(res, tmp_path / "flat")
    assert metrics["exposure"] == 0.0 and metrics["sharpe"] is None and metrics["orders"] == 0
    assert "held no position" in (tmp_path / "flat" / "tearsheet.html").read_text()


def test_the_dvol_priced_overlay_names_its_pricing_source(btc_hourly, tmp_path, no_network):
    """backtests/btc_put_overlay_dvol.toml end to end, offline, on a shortened stretch of the DVOL period."""
    import json

    from lstm_strategies.backtest.runner import BacktestConfig
    from lstm_strategies.reports.write import write_report

    cfg = BacktestConfig.from_toml("backtests/btc_put_overlay_dvol.toml")
    df = window(btc_hourly, "2021-06-01", "2022-09-01")          # its warm-up, then eight months of 2022
    metrics = write_report(run_backtest(cfg, df), tmp_path / "dvol")
    decision = json.loads((tmp_path / "dvol" / "metrics.json").read_text())["decision"]
    assert decision == metrics["decision"]
    assert decision["pricing"] == "implied" and decision["implied_source"] == "btc_dvol_daily"
    assert decision["decision_days_without_implied"] == 0 and decision["decisions"] > 20
    hedges = pd.read_csv(tmp_path / "dvol" / "hedges.csv")
    assert set(hedges["pricing"]) <= {"implied"}
    assert "options priced at implied vol (btc_dvol_daily)" in (tmp_path / "dvol" / "tearsheet.html").read_text()


def test_a_forecaster_that_reads_implied_vol_gets_it_from_data_implied(btc_hourly):
    """[data] implied reaches the forecaster in both Backtrader modes; the run records the series."""
    raw = {"name": "iv", "data": {"dataset": "btc_usdt_1h", "start": "2022-01-01", "end": "2022-06-30",
                                  "implied": "btc_dvol_daily"},
           "backtest": {"start": "2022-04-01"},
           "strategy": {"name": "vol_target", "forecaster": "har_iv",
                        "forecaster_params": {"min_train_days": 40, "refit_every_days": 15, "min_iv_days": 10}},
           "report": {"baselines": False}}
    cfg = BacktestConfig.from_dict(raw)
    df = window(btc_hourly, "2022-01-01", "2022-06-30")
    once = run_backtest(cfg, df)
    streamed = run_backtest(cfg, df, runonce=False)
    pd.testing.assert_series_equal(once.returns, streamed.returns)
    assert once.provenance["inputs"] == {"implied_vol": "btc_dvol_daily"}
    assert once.provenance["input_fallbacks"] == {}          # DVOL covers every bar, HAR-IV fits from April
    assert once.records["forecast_vol"].notna().all()
