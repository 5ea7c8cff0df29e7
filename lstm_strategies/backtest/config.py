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

import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lstm_strategies.core.atomic import name_problem
from lstm_strategies.core.dates import DateText, TimeZone, parse_date
from lstm_strategies.core.declarations import OneOf
from lstm_strategies.core.errors import ConfigError, LSTMStrategiesError
from lstm_strategies.data.calendar import CALENDARS
from lstm_strategies.market.exogenous import check_config_inputs, load_config_inputs

STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
#: the most cash a run may start with: far above any account, far below where float sums lose units
MAX_CASH = 1e12


class DataSection(BaseModel):
    """``[data]``: which bars, which part of them, which calendar."""

    model_config = STRICT
    dataset: str | None = Field(None, description="a shipped dataset (btc_usdt_1h, eth_usdt_1h), arch:sp500, or "
                                "a file in $LSTM_STRATEGIES_DATA; give this or file")
    file: str | None = Field(None, description="a path to an OHLCV file (CSV, CSV.gz, parquet, JSON), relative to "
                             "the working folder; give this or dataset")
    start: DateText | None = Field(None, description="first bar read (the warm-up starts here), UTC")
    end: DateText | None = Field(None, description="last day read (a date includes its whole day), UTC")
    calendar: Annotated[str, OneOf(*CALENDARS)] = Field("crypto", description="crypto: 365 days of 24h; equity: "
                                                        "252 trading days")
    implied: str | None = Field(None, description="implied-volatility series (a shipped name such as "
                                "btc_dvol_daily, or a CSV path) for forecasters that read it")
    implied_units: Annotated[str, OneOf("percent", "fraction")] | None = Field(
        None, description="what the implied file's values are (default: read from them; a file they cannot "
        "decide is refused)")
    tz: TimeZone | None = Field(None, description="time zone of the file's naive intraday times (Europe/Berlin, "
                                "UTC); times with an offset or a Z need none")

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.dataset) == bool(self.file):
            raise ValueError("give exactly one of dataset (a shipped name such as btc_usdt_1h, or arch:sp500) "
                             "and file (a path)")
        if self.start and self.end and parse_date(self.start) >= parse_date(self.end):
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self


class BacktestSection(BaseModel):
    """``[backtest]``: the trading start, cash and costs."""

    model_config = STRICT
    start: DateText | None = Field(None, description="first bar traded and scored (default: the first bar read)")
    cash: float = Field(100_000.0, gt=0, le=MAX_CASH, description="starting cash")
    commission: float = Field(0.001, ge=0, lt=0.1, description="fraction of the traded value")
    slippage: float = Field(0.0005, ge=0, lt=0.1, description="fraction of the price, against each order")
    borrow_rate: float = Field(0.0, ge=0, lt=1.0, description="a year, on what a levered position borrows")
    allow_rejected_orders: bool = Field(False, description="keep a run whose broker rejected orders (else an "
                                        "error)")


class StrategySection(BaseModel):
    """``[strategy]``: the strategy, its forecaster and their parameters."""

    model_config = STRICT
    name: str = Field(description="a registered strategy (vol_target, synthetic_put, collar, put_overlay, ...)")
    forecaster: str = Field("lstm", description="a registered forecaster (lstm, ewma, garch, har, log_har, ...)")
    allow_in_sample: bool = Field(False, description="run a model on dates it was trained on (marked in-sample)")
    params: dict[str, Any] = Field(default_factory=dict, description="the strategy's parameters")
    forecaster_params: dict[str, Any] = Field(default_factory=dict, description="the forecaster's arguments")


class ReportSection(BaseModel):
    """``[report]``: what the report writes."""

    model_config = STRICT
    baselines: bool = Field(True, description="also run the strategy's baseline (the same rule on EWMA) and "
                            "report it beside the run")
    tearsheet: bool = Field(True, description="write QuantStats' tearsheet.html (metrics.json, returns.csv and "
                            "the plots are written either way)")


class ConfigFile(BaseModel):
    """A whole backtest config file."""

    model_config = STRICT
    name: str | None = Field(None, description="the run's name and output folder (default: the file's name)")
    description: str | None = Field(None, description="free text, shown nowhere but the file")
    data: DataSection
    backtest: BacktestSection = Field(default_factory=BacktestSection)
    strategy: StrategySection
    report: ReportSection = Field(default_factory=ReportSection)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str | None) -> str | None:
        problem = None if name is None else name_problem(name)
        if problem:
            raise ValueError(f"the name {problem}")
        return name


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
        forecaster = check_forecaster(s.forecaster, s.forecaster_params, self.data.calendar)
        check_config_inputs(forecaster, {"implied": self.data.implied}, "")
        check_decision_horizon(cls, s.params, forecaster)
        return self

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
        return self.model_dump(exclude={"path"}, exclude_none=True)

    def with_overrides(self, **overrides) -> BacktestConfig:
        """A copy with overrides, validated again like a file.

        Keys: a dotted ``table.key`` (``backtest.commission``, ``data.start``), a key that only one
        table has (``commission``, ``cash``, ``calendar``...), ``params.<name>`` (or
        ``strategy_params.<name>``) and ``forecaster_params.<name>``, ``strategy`` and ``forecaster``
        (switching either drops the old one's parameters), the whole ``strategy_params`` /
        ``forecaster_params`` tables, and ``name``; ``start``, ``data_start``, ``data_end`` and
        ``data_file`` are kept for older sweeps (the backtest's start, the data's start/end/file).
        """
        raw = self.to_dict()
        strat = raw["strategy"]
        if "strategy" in overrides and overrides["strategy"] != strat["name"]:
            strat["name"], strat["params"] = overrides["strategy"], {}
        if "forecaster" in overrides and overrides["forecaster"] != strat["forecaster"]:
            strat["forecaster"], strat["forecaster_params"] = overrides["forecaster"], {}
        for key, value in overrides.items():
            if key in ("strategy", "forecaster"):
                continue
            if key == "name":
                raw["name"] = value
            elif key.startswith(("strategy_params.", "params.")):
                strat["params"][key.split(".", 1)[1]] = value
            elif key.startswith("forecaster_params."):
                strat["forecaster_params"][key.split(".", 1)[1]] = value
            elif key in ("strategy_params", "forecaster_params"):
                strat["params" if key == "strategy_params" else key] = dict(value)
            else:
                table, name = _override_target(key, self.path)
                raw.setdefault(table, {})[name] = value
        return validate_config(raw, self.path)

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
        attrs = dict(df.attrs)
        if data.start:
            df = df[df.index >= _utc(data.start)]
        if data.end:
            df = df[df.index < _utc(data.end) + pd.Timedelta("1D")]
        df.attrs = attrs | {"calendar": data.calendar}
        if len(df) < 2:
            raise ConfigError(f"{self.path}: [data] start/end keep {len(df)} bars of {spec}")
        start = self.backtest.start
        if start and _utc(start) > df.index[-1]:
            raise ConfigError(f"{self.path}: [backtest] start {start} is after the last bar {df.index[-1]}")
        return df

    def load_inputs(self) -> dict:
        """The exogenous series ``[data]`` names, by input (``{"implied_vol": Series}``); errors name the key."""
        return load_config_inputs({"implied": self.data.implied}, self.path,
                                  {"implied_vol": {"units": self.data.implied_units}})


#: override names kept for sweeps written before configs were read as tables
_LEGACY_KEYS = {"start": ("backtest", "start"), "data_start": ("data", "start"), "data_end": ("data", "end"),
                "data_file": ("data", "file")}


def _override_target(key: str, path: str) -> tuple[str, str]:
    """The (table, key) an override names: dotted, legacy, or the one table that has the key."""
    tables = {name: field.annotation for name, field in ConfigFile.model_fields.items()
              if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)}
    if "." in key:
        table, name = key.split(".", 1)
        if table in tables and name in tables[table].model_fields:
            return table, name
    elif key in _LEGACY_KEYS:
        return _LEGACY_KEYS[key]
    else:
        owners = [t for t, model in tables.items() if key in model.model_fields]
        if len(owners) == 1:
            return owners[0], key
    choices = sorted(f"{t}.{k}" for t, model in tables.items() for k in model.model_fields)
    raise ConfigError(f"{path}: override {key!r} is not a config key; use params.<name>, forecaster_params.<name>, "
                      f"forecaster, strategy, name or one of {choices}")


def _utc(text: str) -> pd.Timestamp:
    ts = pd.Timestamp(text)
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def read_toml(path: str | Path, what: str = "config") -> dict:
    """Parse a TOML file; a missing or malformed file is a :class:`ConfigError` naming it."""
    from lstm_strategies.core.readers import path_kind, read_text

    path = Path(path)
    if path_kind(path, f"{what} file", ConfigError) == "missing":
        raise ConfigError(f"{path}: {what} file not found")
    text = read_text(path, "config", ConfigError)
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML (nested too deeply)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


def _table_of(loc: tuple) -> str:
    if not loc:
        return "top level"
    head = [str(p) for p in loc]
    return f"[{head[0]}]" if len(head) > 1 else "top level"


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        model = ann
    return sorted(model.model_fields)


def _explain(exc: ValidationError, path: str) -> ConfigError:
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        if not loc:  # a check of the whole config (strategy, forecaster, horizon): its message says where
            lines.append(err["msg"].removeprefix("Value error, "))
            continue
        key = ".".join(str(p) for p in loc) or "(config)"
        if err["type"] == "extra_forbidden":
            known = _known_keys(ConfigFile, loc)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"{key}: unknown key{hint} ({_table_of(loc)} takes: {', '.join(known)})")
        elif err["type"] == "missing":
            lines.append(f"{key}: required key is missing")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"{key} = {err.get('input')!r}: {msg}")
    return ConfigError(f"{path}: " + "; ".join(lines))


def validate_config(raw: dict, path: str = "<dict>") -> BacktestConfig:
    """The one validation path: schema, strategy and its parameters, forecaster and its parameters."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config is a TOML table, got {type(raw).__name__}")
    if "grid" in raw or "base" in raw:
        raise ConfigError(f"{path}: this is a sweep config (it has 'base'/'grid'); run it with "
                          f"`lstm-strategies sweep {path}`")
    if "path" in raw:
        raise ConfigError(f"{path}: path: unknown key (top level takes: {', '.join(sorted(ConfigFile.model_fields))})")
    try:
        return BacktestConfig.model_validate({**raw, "path": str(path)})
    except ValidationError as exc:
        raise _explain(exc, path) from None


def check_forecaster(name: str, params: dict, calendar: str):
    """Build the forecaster once (its constructor validates its arguments); errors name the key."""
    from lstm_strategies.forecasters.registry import make_forecaster

    try:
        return make_forecaster(name, calendar, **dict(params))
    except LSTMStrategiesError as exc:
        raise ConfigError(f"strategy.forecaster = {name!r}, forecaster_params = {params}: {exc}") from None


#: a decision horizon within this share beyond the forecaster's longest horizon reads that horizon
HORIZON_SLACK = 0.15


def check_decision_horizon(cls, params: dict, forecaster) -> None:
    """The strategy's decision horizon (``horizon``, ``maturity_days``) must lie within what the
    forecaster forecasts; an option strategy may go beyond it only with ``extrapolate = true``."""
    key = cls.horizon_param
    if key is None:
        return
    days = float(params.get(key, cls.Params.defaults()[key]))
    longest = max(forecaster.horizons)
    if forecaster.cal.trading_days(days) <= longest * (1 + HORIZON_SLACK):
        return
    if cls.can_extrapolate and params.get("extrapolate", False):
        return
    hint = ("; set extrapolate = true to read it from the term structure's last forward rate" if
            cls.can_extrapolate else f"; use a horizon up to {longest} days")
    raise ConfigError(f"strategy.params.{key} = {params.get(key, days)!r}: the {forecaster.name} forecaster "
                      f"forecasts up to {longest} days ({list(forecaster.horizons)}), so {days:g} days would be an "
                      f"extrapolation{hint}")
