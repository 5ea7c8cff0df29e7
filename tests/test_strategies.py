"""Strategies on real BTC data: the formulas, the band, the costs, the floor, every forecaster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import window

from lstm_strategies.backtest import BacktestConfig, run_backtest

FAST_PARAMS = {
    "lstm": {"model": "btc-1h"},
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
    return BacktestConfig.from_dict(raw)


@pytest.fixture(scope="module")
def early_2022(btc_hourly):
    return window(btc_hourly, "2022-01-01", "2022-05-01")


def test_vol_target_weights_follow_the_formula(early_2022):
    params = {"target_vol": 0.3, "max_leverage": 1.0, "band": 0.0, "rebalance": "bar"}
    res = run_backtest(config(params=params), early_2022)
    rec = res.records[res.records.index >= "2022-03-01"]
    expected = np.minimum(1.0, 0.3 / rec["forecast_vol"])
    np.testing.assert_allclose(rec["target_weight"], expected, rtol=1e-12)
    # orders fill at the next bar's open: the held weight tracks the target within drift and costs
    assert (rec["weight"].iloc[1:] - rec["target_weight"].shift(1).iloc[1:]).abs().median() < 0.01


def test_the_band_suppresses_small_trades(early_2022):
    tight = run_backtest(config(params={"band": 0.0, "rebalance": "bar"}), early_2022)
    banded = run_backtest(config(params={"band": 0.1, "rebalance": "bar"}), early_2022)
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
    assert len(res.extras["rolls"]) >= 2  # rolled at least once after 30 days


def test_collar_caps_delta_between_its_strikes(early_2022):
    res = run_backtest(config("collar", "ewma", params={"put_moneyness": 0.9, "call_moneyness": 1.1}),
                       early_2022)
    rec = res.records.dropna(subset=["hedge_ratio"])
    assert rec["hedge_ratio"].between(0, 1).all()
    assert rec["hedge_ratio"].std() > 0.05


def test_put_overlay_pays_premiums_and_settles_in_cash(btc_hourly):
    df = window(btc_hourly, "2022-03-01", "2022-08-01")  # includes the May/June 2022 sell-off
    res = run_backtest(config("put_overlay", "ewma", start="2022-04-01",
                              params={"hedge_when": "always", "maturity_days": 20}), df)
    hedges = res.extras["hedges"]
    assert len(hedges) >= 4
    assert (hedges["premium"] > 0).all()
    assert hedges["payoff"].max() > 0  # a June put paid out
    # the strategy's value includes the option: cash + asset
    assert res.records["value"].notna().all()


def test_put_overlay_uses_a_user_implied_vol_series(early_2022):
    iv = pd.Series(0.2, index=pd.date_range("2021-12-01", "2022-06-01", freq="1D", tz="UTC"))
    res = run_backtest(config("put_overlay", "ewma", params={"implied_vol": iv}), early_2022)
    assert np.allclose(res.records["implied_vol"].dropna(), 0.2)
    assert len(res.extras["hedges"]) >= 1  # forecast vol above 20% implied buys protection


@pytest.mark.parametrize("strategy", ["vol_target", "synthetic_put", "collar", "put_overlay",
                                      "constant_exposure", "buy_and_hold"])
@pytest.mark.parametrize("forecaster", list(FAST_PARAMS))
def test_every_strategy_runs_with_every_forecaster(early_2022, strategy, forecaster):
    res = run_backtest(config(strategy, forecaster), early_2022)
    assert len(res.returns) >= 55
    assert res.records["forecast_vol"].iloc[-1] > 0
    traded = res.records[res.records.index >= "2022-03-01"]
    assert (traded["weight"] > 0).any()


def test_config_errors_name_their_key():
    from lstm_strategies.errors import ConfigError

    with pytest.raises(ConfigError, match="strategy.name = 'vol_targett' is unknown"):
        config("vol_targett")
    with pytest.raises(ConfigError, match="strategy.forecaster = 'lstmm' is unknown"):
        config(forecaster="ewma", fparams={}).from_dict(
            {"data": {"file": "x"}, "strategy": {"name": "vol_target", "forecaster": "lstmm"}})
    with pytest.raises(ConfigError, match=r"strategy.params \['target'\] not accepted"):
        config(params={"target": 0.3})
    with pytest.raises(ConfigError, match="backtest.start = 'soon' is not a date"):
        config(start="soon")


def test_put_overlay_reads_an_implied_vol_csv(early_2022, tmp_path):
    from lstm_strategies.errors import DataError
    from strategies.option_hedge import load_implied_vol

    dates = pd.date_range("2021-12-01", "2022-06-01", freq="1D")
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "dvol": 20.0}).to_csv(tmp_path / "dvol.csv", index=False)
    series = load_implied_vol(str(tmp_path / "dvol.csv"))
    assert series.iloc[0] == pytest.approx(0.20)  # percent points read as a fraction
    res = run_backtest(config("put_overlay", "ewma", params={"implied_vol": str(tmp_path / "dvol.csv")}),
                       early_2022)
    assert np.allclose(res.records["implied_vol"].dropna(), 0.2)
    (tmp_path / "bad.csv").write_text("date,dvol\n2022-01-01,55\n2022-01-02,n/a\n")
    with pytest.raises(DataError, match="line 3"):
        load_implied_vol(str(tmp_path / "bad.csv"))
