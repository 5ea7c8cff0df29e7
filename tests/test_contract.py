"""Every registered forecaster and strategy keeps the contract of lstm_strategies.testing (the checks a plugin runs
in its own tests). The lists come from the registries: a new built-in is checked without a line here; the cases
below only make a check fast (smaller refit schedules, tiny self-refitting networks) or give what a class
requires (the implied-vol series an option or variance strategy is priced at)."""

from __future__ import annotations

import pytest
from conftest import window
from lstm_strategies.strategies import STRATEGIES, strategy_class

from lstm_strategies.forecasters import forecaster_class, forecaster_names
from lstm_strategies.testing import ContractError, check_forecaster, check_strategy

TINY = {"window": 12, "hidden_size": 3, "val_days": 45, "head_min_train_days": 45, "head_refit_every_days": 15,
        "batch_size": 64}

FORECASTER_CASES = {
    "garch": {"params": {"min_train_days": 90, "refit_every_days": 20}},
    "lstm_refit": {"params": {"refit_every": "1M", "first_train_end": "2021-06-30", "members": 1,
                              "train": {"window": 8, "hidden_size": 2, "max_epochs": 1, "patience": 1,
                                        "val_days": 30}},
                   "data": ("2020-12-01", "2021-08-20"), "start": "2021-07-01"},
    "lstm_iv_refit": {"params": {"refit_every": "1M", "first_train_end": "2021-06-30", "members": 1,
                                 "train": {**TINY, "epochs": 1}},
                      "data": ("2020-12-01", "2021-08-20"), "start": "2021-07-01"},
}
PRICED = {"params": {"implied_vol": "btc_dvol_daily"}}
STRATEGY_CASES = {"put_overlay": PRICED, "variance_swap": PRICED, "hedged_straddle": PRICED}


@pytest.mark.slow
@pytest.mark.parametrize("name", forecaster_names())
def test_every_forecaster_keeps_the_contract(name, btc_hourly):
    case = dict(FORECASTER_CASES.get(name, {}))
    if "data" in case:
        case["data"] = window(btc_hourly, *case["data"])
    check_forecaster(forecaster_class(name), **case)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_keeps_the_contract(name):
    check_strategy(strategy_class(name), **STRATEGY_CASES.get(name, {}))


def test_a_forecaster_that_peeks_is_caught():
    import numpy as np

    from lstm_strategies.forecasters.base import Forecaster

    class Peeking(Forecaster):
        name = "peeking_check"

        @property
        def lookback(self):
            return 2

        def _predict_batch(self, df, first=0):  # the next bar's squared return: look-ahead
            r2 = np.log(df["close"]).diff().shift(-1).fillna(1e-6).pow(2).to_numpy() + 1e-8
            return np.repeat(r2[:, None], len(self.horizons), axis=1)

    from lstm_strategies.forecasters import REGISTRY

    try:
        with pytest.raises(ContractError, match="batch and stream differ|look-ahead"):
            check_forecaster(Peeking)
    finally:
        REGISTRY.pop("peeking_check", None)


def test_a_strategy_whose_declared_metric_is_missing_is_caught():
    from lstm_strategies.strategies import VolTargetStrategy

    from lstm_strategies.core.declarations import Metric

    class Misnamed(VolTargetStrategy):
        name = "misnamed_check"
        metrics = (*VolTargetStrategy.metrics, Metric("decision.held_vol", "Held vol", "percent"))

    try:
        with pytest.raises(ContractError, match=r"declares the metric\(s\) \['decision.held_vol'\] but its "
                                                r"decision_metrics\(\) returns no such key"):
            check_strategy(Misnamed)
    finally:
        STRATEGIES.pop("misnamed_check", None)
