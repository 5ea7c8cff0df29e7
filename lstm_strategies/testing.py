"""The contract every forecaster and strategy keeps, as two functions an extension runs in its own tests.

As scikit-learn's ``check_estimator`` does for estimators, :func:`check_forecaster` and :func:`check_strategy`
hold a plugin to the rules the built-in classes follow (the library's own tests run them on every built-in)::

    from lstm_strategies.testing import check_forecaster, check_strategy

    def test_my_forecaster():
        check_forecaster(MyForecaster, params={"days": 5})

    def test_my_strategy():
        check_strategy(MyStrategy, params={"weight": 0.5})

Each raises :class:`ContractError` (an ``AssertionError``) naming the class and the rule it breaks. They read
the BTC/USDT hourly bars that ship with the package (and Deribit's BTC DVOL for a forecaster that declares the
``implied_vol`` input), so they run offline, in seconds for a baseline.
"""

from __future__ import annotations

import copy
import inspect
import math

import numpy as np
import pandas as pd

from lstm_strategies.backtest.config import validate_config
from lstm_strategies.backtest.runner import run_backtest
from lstm_strategies.core.declarations import COMMON_METRICS, Params
from lstm_strategies.core.errors import NotFittedError, ReportError
from lstm_strategies.data.datasets import load_dataset
from lstm_strategies.forecasters.base import Forecaster
from lstm_strategies.forecasters.registry import REGISTRY
from lstm_strategies.market.exogenous import INPUT_KINDS
from lstm_strategies.reports.metrics import build_metrics
from lstm_strategies.strategies.base import RUNNER_PARAMS, ForecastStrategy
from lstm_strategies.strategies.registry import STRATEGIES

__all__ = ["ContractError", "check_forecaster", "check_strategy"]

#: the first forecast the forecaster check reads, and the days it reads after it
CHECK_FROM = pd.Timestamp("2022-06-01", tz="UTC")
CHECK_DAYS = 20


class ContractError(AssertionError):
    """A forecaster or strategy breaks a rule of the contract."""


def _require(condition: bool, owner: str, rule: str) -> None:
    if not condition:
        raise ContractError(f"{owner}: {rule}")


# ------------------------------------------------------------------------------------------------
# forecasters
# ------------------------------------------------------------------------------------------------

def _window(bars_before: int, start: pd.Timestamp, days: int) -> pd.DataFrame:
    df = load_dataset("btc_usdt_1h")
    first = max(int(df.index.searchsorted(start)) - bars_before, 0)
    out = df.iloc[first: int(df.index.searchsorted(start + pd.Timedelta(days=days)))]
    out.attrs = dict(df.attrs)
    return out


def _with_inputs(forecaster: Forecaster, inputs: dict | None) -> Forecaster:
    given = dict(inputs or {})
    if "implied_vol" in forecaster.inputs and "implied_vol" not in given:
        given["implied_vol"] = "btc_dvol_daily"
    return forecaster.set_inputs(**given) if given else forecaster


def _stream(forecaster: Forecaster, df: pd.DataFrame) -> np.ndarray:
    forecaster.reset()
    rows = df[["open", "high", "low", "close", "volume"]].to_numpy()
    stamps = df.index.as_unit("ns").asi8
    return np.array([forecaster.update_fields(int(t), *row) for t, row in zip(stamps, rows.tolist(), strict=True)])


def _perturbed_after(df: pd.DataFrame, cut: int, seed: int = 0) -> pd.DataFrame:
    """``df`` with every bar from position ``cut`` on scaled by its own random factor (a valid bar still)."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    factor = np.exp(rng.normal(0.0, 0.05, len(df) - cut))
    for col in ("open", "high", "low", "close"):
        out.iloc[cut:, out.columns.get_loc(col)] = df[col].to_numpy()[cut:] * factor
    out.iloc[cut:, out.columns.get_loc("volume")] = df["volume"].to_numpy()[cut:] * rng.uniform(0.5, 2.0, len(df) - cut)
    out.attrs = dict(df.attrs)
    return out


def _check_declarations(cls: type, owner: str) -> None:
    _require(isinstance(cls, type) and issubclass(cls, Forecaster), owner, "must subclass Forecaster")
    _require(cls.name in REGISTRY and REGISTRY[cls.name] is cls, owner,
             f"name {cls.name!r} must resolve to the class in the registry (define it with name = ...)")
    _require(cls.kind in ("baseline", "model"), owner, f"kind {cls.kind!r} must be 'baseline' or 'model'")
    _require(isinstance(cls.refits, bool), owner, "refits must be True or False")
    unknown = sorted(set(cls.inputs) - set(INPUT_KINDS))
    _require(not unknown, owner, f"inputs {unknown} are not known input kinds ({sorted(INPUT_KINDS)})")


def _check_parameters(cls: type, forecaster: Forecaster, owner: str) -> None:
    names = cls.param_names()
    _require(len(names) == len(set(names)), owner, f"a parameter is declared twice: {names}")
    _require(set(cls.param_defaults()) == set(names), owner, "every constructor argument needs a default")
    params = forecaster.get_params()
    _require(set(params) == set(names), owner, f"get_params() gives {sorted(params)}, the constructor takes "
                                               f"{sorted(names)}: store each argument under its own name")
    twin = cls(**params)
    _require(repr(twin) == repr(forecaster), owner,
             f"parameters do not round-trip: {cls.__name__}(**get_params()) is {twin!r}, not {forecaster!r}")
    signature = inspect.signature(cls.__init__)
    _require(not any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values()), owner,
             "the constructor must not take *args (parameters are named)")


def _check_paths(forecaster: Forecaster, df: pd.DataFrame, start: pd.Timestamp, owner: str) -> np.ndarray:
    batch = forecaster.predict_batch(df)
    horizons = list(forecaster.horizons)
    _require(batch.shape == (len(df), len(horizons)), owner,
             f"predict_batch gives shape {batch.shape}, not (bars, horizons) = {(len(df), len(horizons))}")
    _require(len(set(forecaster.horizon_labels)) == len(horizons), owner, "each horizon is declared once")
    read = df.index >= start
    _require(bool(read.sum() >= 24), owner, f"the check needs a day of bars from {start} on; give longer data")
    _require(bool(np.isfinite(batch[read]).all()) and bool((batch[read] > 0).all()), owner,
             f"forecasts from {start} on must be finite and positive (warmup_bars = {forecaster.warmup_bars}); the "
             f"first that is not: {df.index[read][~(np.isfinite(batch[read]) & (batch[read] > 0)).all(axis=1)][:1]}")
    online = _stream(forecaster, df)
    again = _stream(forecaster, df)
    _require(np.array_equal(online, again, equal_nan=True), owner, "reset() must restart the stream exactly")
    close = np.isclose(online[read], batch[read], rtol=1e-6, atol=0.0)
    _require(bool(close.all()), owner, f"batch and stream differ on {int((~close).sum())} values (rtol 1e-6); "
                                       f"first at {df.index[read][np.argwhere(~close)[0][0]]}" if not close.all()
             else "")
    forecaster.reset()
    forecaster.publish_from(start)
    published = np.array([forecaster.update_fields(int(t), *row) for t, row in zip(
        df.index.as_unit("ns").asi8, df[["open", "high", "low", "close", "volume"]].to_numpy().tolist(), strict=True)])
    _require(bool(np.allclose(published[read], batch[read], rtol=1e-6, atol=0.0)), owner,
             "streaming with publish_from(start) must give the batched forecasts from the start on")
    return batch


def _check_causal(forecaster: Forecaster, df: pd.DataFrame, batch: np.ndarray, start: pd.Timestamp,
                  owner: str) -> None:
    cut = int(df.index.searchsorted(start + (df.index[-1] - start) / 2))
    changed = forecaster.predict_batch(_perturbed_after(df, cut))
    same = np.isclose(changed[:cut], batch[:cut], rtol=1e-9, atol=0.0, equal_nan=True)
    _require(bool(same.all()), owner, f"forecasts before {df.index[cut]} moved when later bars changed (look-ahead)"
                                      f" at {df.index[:cut][~same.all(axis=1)][0]}" if not same.all() else "")


def check_forecaster(forecaster_class: type, params: dict | None = None, data: pd.DataFrame | None = None,
                     inputs: dict | None = None, start: str | pd.Timestamp | None = None) -> None:
    """Check that a forecaster class keeps the contract.

    Rules: it subclasses :class:`~lstm_strategies.forecasters.base.Forecaster`, its ``name`` resolves to it, its
    ``kind``/``refits``/``inputs`` are declared; its parameters are its constructor's named arguments, each
    with a default, given back by ``get_params()`` and round-tripping (``cls(**f.get_params())``); one that does
    not know its bar size refuses to predict until fitted; ``predict_batch`` gives one column per declared
    horizon, finite and positive after ``warmup_bars``; streaming (``update``) gives the batched forecasts to
    1e-6, also when told to publish from a start (``publish_from``), and ``reset()`` restarts it exactly;
    changing every bar after a point never changes a forecast before it.

    Parameters
    ----------
    forecaster_class : type
        The class to check.
    params : dict, optional
        Constructor arguments (default: the defaults).
    data : DataFrame, optional
        Bars to check on (default: the shipped BTC/USDT hourly bars from ``warmup_bars`` before 2022-06-01 to
        20 days after it).
    inputs : dict, optional
        Exogenous series by input (default: the shipped ``btc_dvol_daily`` for ``implied_vol``).
    start : str or Timestamp, optional
        The first forecast checked (default: 2022-06-01 on the default data, else the bar after ``warmup_bars``);
        give it for a forecaster that waits for more than its warm-up (a self-refitting one's first fold).

    Raises
    ------
    ContractError
        Naming the class and the rule it breaks.
    """
    owner = getattr(forecaster_class, "__name__", repr(forecaster_class))
    _check_declarations(forecaster_class, owner)
    forecaster = _with_inputs(forecaster_class(**dict(params or {})), inputs)
    _check_parameters(forecaster_class, forecaster, owner)
    if forecaster.timeframe is None:  # a pretrained model knows its bar size from its card; others wait for fit
        probe = load_dataset("btc_usdt_1h").iloc[:50] if data is None else data.iloc[:50]
        try:
            copy.copy(forecaster).predict_batch(probe)
            raise ContractError(f"{owner}: an unfitted forecaster must refuse to predict (NotFittedError)")
        except NotFittedError:
            pass
    forecaster.bind("1h" if data is None else data.attrs.get("timeframe") or pd.infer_freq(data.index[:10]))
    df = data if data is not None else _window(forecaster.warmup_bars, CHECK_FROM, CHECK_DAYS)
    if start is None:
        start = CHECK_FROM if data is None else df.index[min(forecaster.warmup_bars, len(df)) - 1]
    start = pd.Timestamp(start, tz="UTC") if pd.Timestamp(start).tz is None else pd.Timestamp(start)
    batch = _check_paths(forecaster, df, start, owner)
    _check_causal(forecaster, df, batch, start, owner)


# ------------------------------------------------------------------------------------------------
# strategies
# ------------------------------------------------------------------------------------------------

def _check_strategy_declarations(cls: type, params: dict, owner: str) -> None:
    _require(isinstance(cls, type) and issubclass(cls, ForecastStrategy), owner, "must subclass ForecastStrategy")
    _require(cls.name in STRATEGIES and STRATEGIES[cls.name] is cls, owner,
             f"name {cls.name!r} must resolve to the class in the registry (define it with name = ...)")
    _require(issubclass(cls.Params, Params), owner, "Params must derive from the parent's Params")
    bt_defaults = {k: getattr(cls.params, k) for k in cls.params._getkeys()}
    declared = cls.Params.defaults()
    _require({k: bt_defaults.get(k) for k in declared} == declared and
             set(bt_defaults) == set(declared) | set(dict(RUNNER_PARAMS)), owner,
             "params must be Params.bt_params() (the declared parameters and the runner's, with the same defaults)")
    cls.Params.check(params, "the check's params", owner=cls.name)  # the defaults, with what a run must set
    keys = [m.key for m in cls.metrics]
    _require(len(keys) == len(set(keys)), owner, f"a metric is declared twice: {keys}")
    clash = sorted(set(keys) & {m.key for m in COMMON_METRICS})
    _require(not clash, owner, f"metrics {clash} are every run's (COMMON_METRICS): declare only the strategy's own")


def _config(cls: type, params: dict, forecaster: str, forecaster_params: dict, start: str, end: str,
            data_start: str) -> dict:
    return {"name": f"check_{cls.name}", "data": {"dataset": "btc_usdt_1h", "start": data_start, "end": end},
            "backtest": {"start": start},
            "strategy": {"name": cls.name, "forecaster": forecaster, "params": params,
                         "forecaster_params": forecaster_params},
            "report": {"baselines": True, "tearsheet": False}}


def _check_metrics(cls: type, metrics: dict, owner: str) -> None:
    missing = [m.key for m in cls.metrics if m.key.startswith("decision.") and m.get(metrics) is None
               and not _present(metrics, m.key)]
    _require(not missing, owner, f"declared metrics {missing} are missing from the run's metrics.json: "
                                 "decision_metrics() must return each declared key (None when undefined)")
    for m in cls.metrics:
        value = m.get(metrics)
        _require(value is None or isinstance(value, (bool, int, float, str)), owner,
                 f"metric {m.key} must be a number (or None), got {type(value).__name__}")


def _present(metrics: dict, key: str) -> bool:
    node = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def check_strategy(strategy_class: type, params: dict | None = None, forecaster: str = "ewma",
                   forecaster_params: dict | None = None, start: str = "2022-01-01", end: str = "2022-04-30",
                   data_start: str = "2021-10-01") -> None:
    """Check that a strategy class keeps the contract.

    Rules: it subclasses :class:`~lstm_strategies.strategies.ForecastStrategy`, its ``name`` resolves to it, its
    ``Params`` derive from its parent's and are its Backtrader ``params`` (with the runner's), the defaults with
    ``params`` pass their own validation, its metrics are declared once and are its own; a config naming it
    validates and round-trips; a backtest on the shipped BTC/USDT hourly bars runs, records every bar from the
    trading start, and its metrics.json holds every declared decision metric; the bars after a day never change
    what the strategy recorded before it (the same run on the history cut there agrees).

    Parameters
    ----------
    strategy_class : type
    params : dict, optional
        ``[strategy] params`` for the run (default: the defaults).
    forecaster, forecaster_params : str, dict
        The forecaster of the run (default: ``ewma``).
    start, end, data_start : str
        The run: bars from ``data_start`` (warm-up), traded from ``start`` to ``end``.

    Raises
    ------
    ContractError
        Naming the class and the rule it breaks.
    """
    owner = getattr(strategy_class, "__name__", repr(strategy_class))
    _check_strategy_declarations(strategy_class, dict(params or {}), owner)
    raw = _config(strategy_class, dict(params or {}), forecaster, dict(forecaster_params or {}), start, end,
                  data_start)
    config = validate_config(raw, f"<check_strategy {strategy_class.name}>")
    _require(validate_config(config.to_dict(), config.path) == config, owner, "the config must round-trip")
    result = run_backtest(config)
    records = result.records
    _require(len(records) > 0 and records.index[0] >= pd.Timestamp(start, tz="UTC"), owner,
             "the strategy must record() every bar from the trading start")
    for column in ("forecast_vol", "target_weight", "weight", "value"):
        _require(column in records, owner, f"records lack {column!r}: call self.record() once per bar")
    try:
        metrics = build_metrics(result)
    except ReportError as exc:
        raise ContractError(f"{owner}: {exc}") from None
    _check_metrics(strategy_class, metrics, owner)
    cut = pd.Timestamp(end, tz="UTC") - pd.Timedelta(days=30)
    shorter = config.with_overrides(**{"data.end": str((cut - pd.Timedelta(days=1)).date()), "baselines": False})
    early = run_backtest(shorter).records
    common = early.index[early.index < cut - pd.Timedelta(days=1)]
    cols = [c for c in ("forecast_vol", "target_weight", "weight", "value") if c in early]
    a, b = early.loc[common, cols].to_numpy(float), records.loc[common, cols].to_numpy(float)
    same = np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
    _require(bool(same.all()), owner, "records before a day changed when later bars were added (look-ahead) at "
                                      f"{common[~same.all(axis=1)][0] if not same.all() else ''}")
    _require(math.isfinite(float(records["value"].iloc[-1])), owner, "the account's value must stay finite")
