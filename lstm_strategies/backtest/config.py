"""Backtest configuration: one typed schema (pydantic v2) and one validation path.

A TOML file, a dict, command-line overrides, a sweep's base and every combination of its grid all
go through :func:`validate_config`, so each bad value is one :class:`ConfigError` naming the file
and the key: unknown keys in any table (with a suggestion), wrong types (a string for a number,
``"no"`` for a boolean, ``20220101`` for a date), out-of-range values (non-positive target or
leverage, negative band, ``lam`` outside (0, 1), non-positive cash), unknown strategies,
forecasters, calendars and their parameters.

A config::

    name = "btc_vol_target_lstm"
    [data]
    dataset = "btc_usdt_1h"        # shipped with the package; or file = "path"; or "arch:sp500"
    start = "2021-01-01"           # first bar read (warm-up)
    end = "2026-06-30"
    calendar = "crypto"            # or "equity"
    implied = "btc_dvol_daily"     # optional: implied vol for forecasters that read it (har_iv, lstm_iv, ...)
    [backtest]
    start = "2022-01-01"           # first bar traded and scored
    cash = 100000
    commission = 0.001             # fraction of traded value
    slippage = 0.0005              # fraction of price
    borrow_rate = 0.05             # a year, on what a levered position borrows
    [strategy]
    name = "vol_target"
    forecaster = "lstm"
    params = { target_vol = 0.4, horizon = 7 }
    forecaster_params = { model = "btc-1h" }
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import (
    ConfigDict,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from lstm_strategies.backtest.config_io import (  # noqa: F401  (re-exported: the config API's historical home)
    _LEGACY_KEYS,
    _explain,
    _override_target,
    _utc,
    apply_overrides,
    read_toml,
)
from lstm_strategies.backtest.sections import (  # noqa: F401  (re-exported)
    MAX_CASH,
    STRICT,
    BacktestSection,
    ConfigFile,
    DataSection,
    DateText,
    PluginsSection,
    ReportSection,
    StrategySection,
)
from lstm_strategies.core.errors import ConfigError, LSTMStrategiesError
from lstm_strategies.market.exogenous import check_config_inputs, load_config_inputs


class BacktestConfig(ConfigFile):
    """A validated backtest config: the file's tables, its resolved ``name`` and its ``path``; frozen.

    Read it as the file is written: ``config.data.calendar``, ``config.backtest.cash``,
    ``config.strategy.params``. Every way to build one validates it whole (the schema, the strategy's
    declared parameters, the forecaster's arguments, the decision horizon against the forecaster's):
    :func:`validate_config`, :meth:`from_toml`, :meth:`from_dict`, :meth:`with_overrides`, or the
    constructor itself; a frozen config cannot be changed afterwards, only copied with overrides.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
    name: str
    path: str = "<dict>"
    #: what validation built and typed (never built again for a run of this config; see new_forecaster)
    _forecaster: Any = PrivateAttr(default=None)
    _params: Any = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _name_from_path(cls, raw):
        if isinstance(raw, dict) and not raw.get("name"):
            raw = {**raw, "name": Path(str(raw.get("path", "<dict>"))).stem}
        return raw

    @model_validator(mode="after")
    def _semantics(self):
        from lstm_strategies.strategies.registry import strategy_class

        s = self.strategy
        try:
            cls = strategy_class(s.name)
        except ConfigError as exc:
            raise ConfigError(f"strategy.name = {s.name!r}: {exc}") from None
        cls.Params.check(s.params, "strategy.params", owner=s.name)
        params = cls.Params.model_validate(s.params)
        forecaster = check_forecaster(s.forecaster, s.forecaster_params, self.data.calendar)
        check_config_inputs(forecaster, {"implied": self.data.implied}, "")
        check_decision_horizon(cls, params, forecaster, s.params)
        self._forecaster, self._params = forecaster, params
        return self

    def __eq__(self, other) -> bool:  # the tables and the path; not what validation built from them
        return isinstance(other, BacktestConfig) and self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(repr(sorted(self.model_dump().items(), key=lambda kv: kv[0])))

    # -- what validation built ---------------------------------------------------------------------
    def new_forecaster(self):
        """This config's forecaster for one run: a copy of the one validation built (its constructor checked the
        arguments once), with fresh streaming state; fitted on nothing, bound to no bar size yet."""
        import copy

        forecaster = copy.copy(self._forecaster)
        forecaster.reset()
        return forecaster

    def strategy_params(self):
        """The strategy's parameters, validated and typed (its ``Params`` model, defaults filled in)."""
        return self._params

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: dict, path: str = "<dict>") -> BacktestConfig:
        """Validate a config dict (a parsed TOML file) into a :class:`BacktestConfig`."""
        return validate_config(raw, path)

    @classmethod
    def from_toml(cls, path: str | Path) -> BacktestConfig:
        return validate_config(read_toml(path, "config"), str(path))

    def to_dict(self) -> dict:
        """The nested (TOML) form; ``validate_config(cfg.to_dict(), cfg.path)`` gives ``cfg`` back."""
        raw = self.model_dump(exclude={"path"}, exclude_none=True)
        if not raw["plugins"]["modules"]:
            raw.pop("plugins")
        return raw

    def with_overrides(self, **overrides) -> BacktestConfig:
        """A copy with overrides, validated again like a file.

        Keys: a dotted ``table.key`` (``backtest.commission``, ``data.start``), a key that only one
        table has (``commission``, ``cash``, ``calendar``...), ``params.<name>`` (or
        ``strategy_params.<name>``) and ``forecaster_params.<name>``, ``strategy`` and ``forecaster``
        (switching either drops the old one's parameters), the whole ``strategy_params`` /
        ``forecaster_params`` tables, and ``name``; ``start``, ``data_start``, ``data_end`` and
        ``data_file`` are kept for older sweeps (the backtest's start, the data's start/end/file).
        """
        return validate_config(apply_overrides(self.to_dict(), overrides, self.path), self.path)

    # -- data ------------------------------------------------------------------------------------
    def load_data(self, override: str | None = None) -> pd.DataFrame:
        """The bars of ``[data]`` (or ``override``), cut to ``start``/``end``; errors name the key."""
        from lstm_strategies.core.errors import DataError
        from lstm_strategies.data.datasets import load_dataset

        data = self.data
        spec = override or data.file or data.dataset
        key = "--data" if override else ("[data] file" if data.file else "[data] dataset")
        try:
            df = load_dataset(spec, tz=data.tz)
        except DataError as exc:
            raise ConfigError(f"{self.path}: {key} = {spec!r}: {exc}") from None
        return self.select(df, str(spec))

    def select(self, df: pd.DataFrame, source: str = "the data") -> pd.DataFrame:
        """The bars of ``df`` that ``[data] start``/``end`` keep, with the config's calendar; too few bars, or a
        ``[backtest] start`` after the last one, is a :class:`ConfigError`."""
        data = self.data
        attrs = dict(df.attrs)
        if data.start:
            df = df[df.index >= _utc(data.start)]
        if data.end:
            df = df[df.index < _utc(data.end) + pd.Timedelta("1D")]
        df.attrs = attrs | {"calendar": data.calendar}
        if len(df) < 2:
            raise ConfigError(f"{self.path}: [data] start/end keep {len(df)} bars of {source}")
        start = self.backtest.start
        if start and _utc(start) > df.index[-1]:
            raise ConfigError(f"{self.path}: [backtest] start {start} is after the last bar {df.index[-1]}")
        return df

    def load_inputs(self) -> dict:
        """The exogenous series ``[data]`` names, by input (``{"implied_vol": Series}``); errors name the key."""
        return load_config_inputs({"implied": self.data.implied}, self.path,
                                  {"implied_vol": {"units": self.data.implied_units}})


def validate_config(raw: dict, path: str = "<dict>") -> BacktestConfig:
    """The one validation path: schema, strategy and its parameters, forecaster and its parameters."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config is a TOML table, got {type(raw).__name__}")
    if "grid" in raw or "base" in raw:
        raise ConfigError(f"{path}: this is a sweep config (it has 'base'/'grid'); run it with "
                          f"`lstm-strategies sweep {path}`")
    if "path" in raw:
        raise ConfigError(f"{path}: path: unknown key (top level takes: {', '.join(sorted(ConfigFile.model_fields))})")
    raw = _load_config_plugins(raw, path)
    try:
        return BacktestConfig.model_validate({**raw, "path": str(path)})
    except ValidationError as exc:
        raise _explain(exc, path) from None


def _load_config_plugins(raw: dict, path: str) -> dict:
    """Import ``[plugins] modules`` (paths relative to the config file) before any name is resolved; the
    config keeps them as loaded (file paths absolute), so that a copy validated elsewhere (a sweep's worker)
    loads the same modules."""
    from lstm_strategies.core.plugins import load_plugins, plugin_spec

    section = raw.get("plugins")
    if section is None:
        return raw
    modules = section.get("modules") if isinstance(section, dict) else None
    if not isinstance(section, dict) or not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ConfigError(f"{path}: [plugins] modules must be a list of module names or .py paths, "
                          f"e.g. modules = [\"my_extension\"]")
    folder = Path(path).parent if path and not str(path).startswith("<") else None
    try:
        specs = [plugin_spec(m, folder) for m in modules]
        load_plugins(specs)
    except ConfigError as exc:
        raise ConfigError(f"{path}: [plugins] modules: {exc}") from None
    return {**raw, "plugins": {**section, "modules": specs}}


def check_forecaster(name: str, params: dict, calendar: str):
    """Build the forecaster once (its constructor validates its arguments); errors name the key."""
    from lstm_strategies.forecasters.registry import make_forecaster

    try:
        return make_forecaster(name, calendar, **dict(params))
    except LSTMStrategiesError as exc:
        raise ConfigError(f"strategy.forecaster = {name!r}, forecaster_params = {params}: {exc}") from None


#: a decision horizon within this share beyond the forecaster's longest horizon reads that horizon
HORIZON_SLACK = 0.15


def check_decision_horizon(cls, params, forecaster, given: dict | None = None) -> None:
    """The strategy's decision horizon (``horizon``, ``maturity_days``) must lie within what the
    forecaster forecasts; an option strategy may go beyond it only with ``extrapolate = true``. ``params`` are the
    typed parameters; ``given`` what the config wrote (quoted in the message)."""
    key = cls.horizon_param
    if key is None:
        return
    days = float(getattr(params, key))
    longest = max(forecaster.horizons)
    if forecaster.cal.trading_days(days) <= longest * (1 + HORIZON_SLACK):
        return
    if cls.can_extrapolate and getattr(params, "extrapolate", False):
        return
    hint = ("; set extrapolate = true to read it from the term structure's last forward rate" if
            cls.can_extrapolate else f"; use a horizon up to {longest} days")
    shown = (given or {}).get(key, getattr(params, key))
    raise ConfigError(f"strategy.params.{key} = {shown!r}: the {forecaster.name} forecaster "
                      f"forecasts up to {longest} days ({list(forecaster.horizons)}), so {days:g} days would be an "
                      f"extrapolation{hint}")
