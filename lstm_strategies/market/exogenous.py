"""Exogenous inputs of forecasters: series besides the bars, aligned causally to them.

A forecaster class declares the inputs it reads (``inputs = ("implied_vol",)``; see
:class:`~lstm_strategies.forecasters.base.Forecaster`) and is given them as series indexed by the
time each value **becomes known** (:func:`~lstm_strategies.implied.load_implied_vol` stamps a daily
DVOL close with the end of its day). At a bar the forecaster reads the last value known at that
bar's *close*, none older than ``max_age``: never a value published after the bar.

Every kind of input is declared once, here (:data:`INPUT_KINDS`): its loader (files, shipped names
or Series) and the ``[data]`` key that names its series in a config (``[data] implied =
"btc_dvol_daily"``). Implied volatility is the first; funding rates or open interest would be
another entry with their own loader and key.

A bar with no known value is handled as the forecaster declares (``missing_input``): ``"refuse"``
raises a :class:`~lstm_strategies.errors.DataError` naming the bar and the series, ``"fallback"``
forecasts without it (e.g. log-HAR) and records the bars concerned in :class:`FallbackLog`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import ConfigError, DataError


@dataclass(frozen=True)
class InputKind:
    """One kind of exogenous input: its name, the ``[data]`` config key that names its series, its
    loader and what its values are."""

    name: str
    config_key: str
    loader: Callable[..., pd.Series]
    description: str


def _load_implied(spec, units: str | None = None) -> pd.Series:
    from lstm_strategies.market.implied import load_implied_vol

    return load_implied_vol(spec, units=units)


#: every kind of exogenous input a forecaster may declare
INPUT_KINDS: dict[str, InputKind] = {k.name: k for k in (
    InputKind("implied_vol", "implied", _load_implied,
              "implied volatility (annualised fraction), e.g. Deribit DVOL: btc_dvol_daily, eth_dvol_daily"),
)}
#: a value older than this at a bar counts as missing (one missing day of a daily series is bridged)
MAX_AGE = "3D"


def input_kind(name: str) -> InputKind:
    """The declared kind ``name``; an unknown name is a :class:`ConfigError`."""
    if name not in INPUT_KINDS:
        raise ConfigError(f"exogenous input {name!r} is unknown; known inputs: {sorted(INPUT_KINDS)}")
    return INPUT_KINDS[name]


def load_input(name: str, spec, **options) -> pd.Series:
    """The series of input ``name`` from a shipped name, a file path or a Series (already loaded
    Series with a ``known_from`` index are kept as they are); ``options`` go to the kind's loader
    (``units=`` for implied volatility)."""
    if isinstance(spec, pd.Series) and spec.index.name == "known_from":
        return spec
    return input_kind(name).loader(spec, **{k: v for k, v in options.items() if v is not None})


def config_inputs(specs: dict[str, str | None]) -> dict[str, str]:
    """``{input name: spec}`` from ``{config key: spec}`` (``{"implied": "btc_dvol_daily"}``), unset keys dropped."""
    by_key = {k.config_key: k.name for k in INPUT_KINDS.values()}
    return {by_key[key]: spec for key, spec in specs.items() if spec is not None and key in by_key}


def load_config_inputs(specs: dict[str, str | None], path: str,
                       options: dict[str, dict] | None = None) -> dict[str, pd.Series]:
    """The series a config's ``[data]`` keys name, by input (``options``: the loader's keyword arguments by
    input, e.g. ``{"implied_vol": {"units": "percent"}}``); a bad one is a :class:`ConfigError` naming the key."""
    from lstm_strategies.core.errors import LSTMStrategiesError

    out = {}
    for name, spec in config_inputs(specs).items():
        try:
            out[name] = load_input(name, spec, **(options or {}).get(name, {}))
        except LSTMStrategiesError as exc:
            raise ConfigError(f"{path}: [data] {INPUT_KINDS[name].config_key} = {spec!r}: {exc}") from None
    return out


def check_config_inputs(forecaster, specs: dict[str, str | None], path: str) -> None:
    """Every exogenous input the forecaster declares must be named by a config's ``[data]`` key."""
    given = config_inputs(specs)
    for name in forecaster.inputs:
        if name not in given:
            kind = INPUT_KINDS[name]
            where = f"{path}: " if path else ""
            raise ConfigError(f"{where}[data] {kind.config_key} is missing: the {forecaster.name} forecaster reads "
                              f"the exogenous input {name!r} ({kind.description}); set [data] {kind.config_key} = "
                              "\"...\" (a shipped name or a CSV path)")


def check_model_inputs(card_inputs: list[str], expected, where) -> None:
    """A :class:`CheckpointError` unless a model (its card's ``inputs``) reads exactly the inputs its caller feeds."""
    from lstm_strategies.core.errors import CheckpointError

    if sorted(expected) == sorted(card_inputs):
        return
    if card_inputs:
        raise CheckpointError(
            f"{where}: the model reads the exogenous input(s) {card_inputs} (card field 'inputs') besides the bars, "
            f"and this forecaster gives it {list(expected) or 'none'}: use forecaster = \"lstm_iv\" (or "
            "\"lstm_iv_refit\") and give it the series ([data] implied = \"btc_dvol_daily\"; Python: "
            "forecaster.set_inputs(implied_vol=...))")
    raise CheckpointError(f"{where}: the model reads the bars alone (card field 'inputs' is empty), but this "
                          f"forecaster feeds it {list(expected)}: use a model trained with them (bundled: "
                          "btc-1h-iv, eth-1h-iv) or forecaster = \"lstm\"")


def missing_input_advice(forecaster_name: str, name: str) -> str:
    """How to give input ``name`` to a forecaster, in a config and in Python."""
    kind = input_kind(name)
    return (f"the {forecaster_name} forecaster reads the exogenous input {name!r} ({kind.description}) and none "
            f"was given: in a config set [data] {kind.config_key} = \"...\" (a shipped name or a CSV path); in "
            f"Python call forecaster.set_inputs({name}=...) or give the indicator inputs={{\"{name}\": ...}}")


class FallbackLog:
    """Bars whose forecast was made without an input value (or without a fit that needs it), by reason.

    Each entry: the number of bars, the first and last of them (UTC) and what the forecast fell back
    to. Only forecasts that were computed are counted (bars before a ``start`` are not).
    """

    def __init__(self):
        self.entries: dict[str, dict] = {}

    def record(self, reason: str, fallback: str, times_ns) -> None:
        times = np.atleast_1d(np.asarray(times_ns, dtype="int64"))
        if not times.size:
            return
        entry = self.entries.setdefault(reason, {"fallback": fallback, "bars": 0, "first": None, "last": None})
        entry["bars"] += int(times.size)
        first, last = str(pd.Timestamp(int(times.min()), tz="UTC")), str(pd.Timestamp(int(times.max()), tz="UTC"))
        entry["first"] = first if entry["first"] is None else min(entry["first"], first)
        entry["last"] = last if entry["last"] is None else max(entry["last"], last)

    def merge(self, other: FallbackLog) -> None:
        """Add another log's entries (e.g. a fold model's) to this one."""
        for reason, e in other.entries.items():
            mine = self.entries.setdefault(reason, {"fallback": e["fallback"], "bars": 0, "first": e["first"],
                                                    "last": e["last"]})
            mine["bars"] += e["bars"]
            mine["first"], mine["last"] = min(mine["first"], e["first"]), max(mine["last"], e["last"])

    def as_dict(self) -> dict[str, dict]:
        return {reason: dict(entry) for reason, entry in self.entries.items()}

    def __bool__(self) -> bool:
        return bool(self.entries)


def refuse_missing(forecaster_name: str, name: str, series: pd.Series, times_ns: np.ndarray) -> DataError:
    """The error of a forecaster that refuses a bar without a known value of input ``name``."""
    first = pd.Timestamp(int(np.min(times_ns)), tz="UTC")
    known = series.index
    span = f"values known from {known[0]} to {known[-1]}" if len(known) else "no values"
    return DataError(f"{series.attrs.get('source', name)}: no {name} value known (at most {MAX_AGE} old) at the close "
                     f"of {len(np.atleast_1d(times_ns))} bar(s) to forecast, the first stamped {first} ({span}); the "
                     f"{forecaster_name} forecaster refuses to forecast without it: start the forecasts inside the "
                     "series' coverage (start=..., [backtest] start), give a series that covers the bars, or use a "
                     "forecaster that falls back (har_iv, lstm_iv)")
