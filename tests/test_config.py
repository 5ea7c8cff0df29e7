"""The bad-config battery: every bad value is one ConfigError naming the file and the key."""

from __future__ import annotations

import copy

import pytest

from lstm_strategies.backtest.config import BacktestConfig, validate_config
from lstm_strategies.core.errors import ConfigError


def base() -> dict:
    return {"name": "ok", "data": {"dataset": "btc_usdt_1h", "start": "2021-01-01", "end": "2022-06-30"},
            "backtest": {"start": "2022-01-01", "cash": 100_000, "commission": 0.001, "slippage": 0.0005},
            "strategy": {"name": "vol_target", "forecaster": "ewma",
                         "params": {"target_vol": 0.4, "max_leverage": 1.0, "band": 0.1}, "forecaster_params": {}},
            "report": {"baselines": True}}


def edit(path: str, value, delete: bool = False):
    def apply(raw: dict) -> dict:
        node = raw
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if delete:
            node.pop(last, None)
        else:
            node[last] = value
        return raw
    return apply


BATTERY = [
    (edit("backtest.comission", 0.5), "backtest.comission: unknown key; did you mean 'commission'?"),
    (edit("strategy.forcaster", "ewma"), "strategy.forcaster: unknown key; did you mean 'forecaster'?"),
    (edit("strategy.params.target_vol", -0.4), "strategy.params.target_vol = -0.4: must be in (0, 5]"),
    (edit("strategy.params.max_leverage", -1), "strategy.params.max_leverage = -1: must be in (0, 100]"),
    (edit("strategy.allow_in_sample", "no"), "strategy.allow_in_sample = 'no'"),
    (edit("backtest.start", 20220101), "backtest.start = 20220101: 20220101 is not a date"),
    (edit("backtest.cash", "100000"), "backtest.cash = '100000'"),
    (edit("data.calendar", "lunar"), "data.calendar = 'lunar'"),
    (edit("strategy.forecaster_params.lam", 5), "EWMAForecaster.lam = 5: must be in (0, 1)"),
    (edit("backtest.cash", 0), "backtest.cash = 0"),
    (edit("strategy.params.band", -0.1), "strategy.params.band = -0.1: must be >= 0"),
    (edit("strategy.params.adjust", 0), "strategy.params.adjust = 0: must be in (0, 1]"),
    (edit("strategy.params.adjust", 1.5), "strategy.params.adjust = 1.5: must be in (0, 1]"),
    (edit("strategy.params.rebalance", "hourly"), "strategy.params.rebalance = 'hourly': choose one of"),
    (edit("backtest.commission", -0.001), "backtest.commission = -0.001"),
    (edit("backtest.slippage", 0.5), "backtest.slippage = 0.5"),
    (edit("data.start", "2023-01-01"), "start 2023-01-01 is not before end 2022-06-30"),
    (edit("data.file", "x.csv"), "give exactly one of dataset"),
    (edit("data.dataset", None, delete=True), "give exactly one of dataset"),
    (edit("extra", 1), "extra: unknown key"),
    (edit("data.datset", "btc_usdt_1h"), "data.datset: unknown key; did you mean 'dataset'?"),
    (edit("report.tearshet", True), "report.tearshet: unknown key; did you mean 'tearsheet'?"),
    (lambda raw: {k: v for k, v in raw.items() if k != "strategy"}, "strategy: required key is missing"),
    (edit("strategy.name", None, delete=True), "strategy.name: required key is missing"),
    (edit("strategy.name", "vol_tgt"), "strategy.name = 'vol_tgt'"),
    (edit("strategy.forecaster", "arima"), "forecaster 'arima' is unknown"),
    (edit("strategy.forecaster_params.lambda_", 0.9), "does not take ['lambda_']"),
    (edit("strategy.forecaster_params.lam", "high"), "EWMAForecaster.lam = 'high': must be a number"),
    (edit("strategy.params.target", 0.3), "strategy.params.target: not a parameter of vol_target"),
    (edit("strategy.params.target_vol", "0.4"), "strategy.params.target_vol = '0.4': must be a number"),
    (edit("strategy.params.max_leverage", True), "strategy.params.max_leverage = True: must be a number"),
    (edit("strategy.params.horizon", 0), "strategy.params.horizon = 0: must be a whole number > 0"),
    (edit("strategy.params.horizon", 2.5), "strategy.params.horizon = 2.5: must be a whole number > 0"),
    (lambda raw: edit("strategy.params", {"maturity_days": 0})(edit("strategy.name", "synthetic_put")(raw)),
     "strategy.params.maturity_days = 0: must be in (0, 3650]"),
    (lambda raw: edit("strategy.params", {"moneyness": -0.9})(edit("strategy.name", "synthetic_put")(raw)),
     "strategy.params.moneyness = -0.9: must be > 0"),
    (lambda raw: edit("strategy.params", {"hedge_when": "sometimes"})(edit("strategy.name", "put_overlay")(raw)),
     "strategy.params.hedge_when = 'sometimes': choose one of"),
    (lambda raw: edit("strategy.params", {"pricing": "model"})(edit("strategy.name", "put_overlay")(raw)),
     "strategy.params.pricing = 'model': choose one of"),
    (edit("report.baselines", "yes"), "report.baselines = 'yes'"),
    (edit("data.end", "2026-13-40"), "data.end = '2026-13-40'"),
    (lambda raw: edit("strategy.forecaster_params", {"model": "doge-1h"})(edit("strategy.forecaster", "lstm")(raw)),
     "unknown pretrained model 'doge-1h'"),
    (lambda raw: edit("data.calendar", "equity")(edit("strategy.forecaster", "lstm")(raw)),
     "works on the crypto calendar, but the data is on the equity calendar"),
    (edit("strategy.forecaster_params.horizons", [30, 7]), "distinct and increasing"),
    (lambda raw: {"base": "x.toml", "grid": {}}, "this is a sweep config"),
    (edit("name", 5), "name = 5"),
    (edit("backtest.borrow_rate", -0.01), "backtest.borrow_rate = -0.01"),
    (edit("backtest.allow_rejected_orders", 1), "backtest.allow_rejected_orders = 1"),
    (edit("strategy.params", 3), "strategy.params = 3"),
    (edit("strategy.forecaster_params.head", "thawed"),
     "forecaster 'ewma' does not take ['head']"),
    # names become folder names: no separators, no parent folders, a length limit
    (edit("name", "../../../x"), "name = '../../../x': the name contains '/'"),
    (edit("name", "a/b"), "name = 'a/b': the name contains '/'"),
    (edit("name", ".."), "name = '..': the name must not start with '.'"),
    (edit("name", "x" * 300), "the name is 300 characters long"),
    (edit("name", "new\nline"), "the name contains '\\n'"),
    # finite, plausible numbers
    (edit("backtest.cash", 1e308), "backtest.cash = 1e+308"),
    (edit("backtest.cash", float("inf")), "backtest.cash = inf"),
    (edit("strategy.params.target_vol", float("inf")), "strategy.params.target_vol = inf: must be a finite number"),
    (edit("strategy.params.target_vol", float("nan")), "strategy.params.target_vol = nan: must be a finite number"),
    (edit("strategy.params.target_vol", 40), "strategy.params.target_vol = 40: must be in (0, 5]"),
    (edit("strategy.params.horizon", 100_000), "strategy.params.horizon = 100000: the ewma forecaster forecasts up to "
                                               "30 days ([1, 7, 30]), so 100000 days would be an extrapolation"),
    (lambda raw: edit("strategy.params", {"maturity_days": 1e9})(edit("strategy.name", "synthetic_put")(raw)),
     "strategy.params.maturity_days = 1000000000.0: must be in (0, 3650]"),
    (lambda raw: edit("strategy.params", {"maturity_days": 90})(edit("strategy.name", "synthetic_put")(raw)),
     "90 days would be an extrapolation; set extrapolate = true"),
    (edit("strategy.forecaster_params.burn_in_days", float("inf")),
     "EWMAForecaster.burn_in_days = inf: must be a whole number"),
    # exogenous inputs: a forecaster that reads implied vol needs [data] implied
    (edit("strategy.forecaster", "har_iv"), "[data] implied is missing: the har_iv forecaster reads the exogenous "
                                            "input 'implied_vol'"),
    (lambda raw: edit("strategy.forecaster_params", {})(edit("strategy.forecaster", "lstm_iv")(raw)),
     "set [data] implied = "),
    (edit("data.implied", 5), "data.implied = 5"),
    # numbers a variance book accepted in 0.3.0 without a word (P&L 0; positions marked at a 4-month-old value)
    (lambda raw: edit("strategy.params", {"implied_vol": "btc_dvol_daily", "vega_budget": 1e-300})(
        edit("strategy.name", "variance_swap")(raw)), "strategy.params.vega_budget = 1e-300: must be in [1e-06, 1]"),
    (lambda raw: edit("strategy.params", {"implied_vol": "btc_dvol_daily", "implied_max_age": "36500D"})(
        edit("strategy.name", "variance_swap")(raw)), "implied_max_age = '36500D': must be a positive duration of at "
                                                      "most '31D'"),
    (edit("data.implid", "btc_dvol_daily"), "data.implid: unknown key; did you mean 'implied'?"),
]


@pytest.mark.parametrize("mutate, expected", BATTERY, ids=[e for _, e in BATTERY])
def test_every_bad_config_is_one_clear_error(mutate, expected):
    raw = mutate(copy.deepcopy(base()))
    with pytest.raises(ConfigError) as info:
        validate_config(raw, "bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml: "), message
    assert expected in message, message


def test_the_battery_is_complete():
    """Every case above is refused with a ConfigError: none accepted silently, none a traceback."""
    refused = 0
    for mutate, _ in BATTERY:
        try:
            validate_config(mutate(copy.deepcopy(base())), "bad.toml")
        except ConfigError:
            refused += 1
    assert refused == len(BATTERY) >= 66


def test_the_base_config_is_valid_and_round_trips():
    cfg = validate_config(base(), "ok.toml")
    assert cfg.strategy.params == {"target_vol": 0.4, "max_leverage": 1.0, "band": 0.1}
    assert validate_config(cfg.to_dict(), "ok.toml") == cfg


def test_overrides_go_through_the_same_validation():
    cfg = validate_config(base(), "ok.toml")
    assert cfg.with_overrides(**{"params.target_vol": 0.3}).strategy.params["target_vol"] == 0.3
    with pytest.raises(ConfigError, match=r"target_vol = -1: must be in \(0, 5\]"):
        cfg.with_overrides(**{"params.target_vol": -1})
    with pytest.raises(ConfigError, match="backtest.commission"):
        cfg.with_overrides(commission=-1)
    switched = cfg.with_overrides(forecaster="log_har", **{"forecaster_params.min_train_days": 60})
    assert switched.strategy.forecaster_params == {"min_train_days": 60}
    with pytest.raises(ConfigError, match="override 'comission' is not a config key"):
        cfg.with_overrides(comission=0.1)


def test_toml_dates_are_accepted(tmp_path):
    text = ('name = "d"\n[data]\ndataset = "btc_usdt_1h"\nstart = 2021-01-01\n[backtest]\nstart = 2022-01-01\n'
            '[strategy]\nname = "vol_target"\nforecaster = "ewma"\n')
    (tmp_path / "d.toml").write_text(text)
    cfg = BacktestConfig.from_toml(tmp_path / "d.toml")
    assert cfg.backtest.start == "2022-01-01" and cfg.data.start == "2021-01-01"


def test_an_option_beyond_the_forecast_horizons_needs_the_opt_in():
    raw = edit("strategy.params", {"maturity_days": 90, "extrapolate": True})(edit("strategy.name", "synthetic_put")(
        base()))
    assert validate_config(raw, "ok.toml").strategy.params["maturity_days"] == 90


def test_implied_vol_is_named_once_in_data_and_loaded_when_the_run_starts():
    raw = edit("strategy.forecaster", "har_iv")(edit("data.implied", "btc_dvol_daily")(base()))
    cfg = validate_config(raw, "iv.toml")
    assert cfg.data.implied == "btc_dvol_daily" and validate_config(cfg.to_dict(), "iv.toml") == cfg
    assert cfg.load_inputs()["implied_vol"].attrs["source"] == "btc_dvol_daily"
    assert cfg.with_overrides(implied="eth_dvol_daily").load_inputs()["implied_vol"].attrs["source"] == "eth_dvol_daily"
    with pytest.raises(ConfigError, match=r"iv.toml: \[data\] implied = 'nope.csv': nope.csv: implied-vol file not"):
        cfg.with_overrides(implied="nope.csv").load_inputs()
    assert validate_config(base(), "ok.toml").load_inputs() == {}
