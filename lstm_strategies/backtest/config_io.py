"""Reading a config file, applying overrides to its tables, and explaining a failed validation in the
project's words (``file: table.key = value: what is wrong``)."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ValidationError

from lstm_strategies.backtest.sections import ConfigFile
from lstm_strategies.core.errors import ConfigError


def apply_overrides(raw: dict, overrides: dict, path: str = "<dict>") -> dict:
    """A config's tables (a parsed TOML file, or :meth:`BacktestConfig.to_dict`) with ``overrides`` applied (keys
    as :meth:`BacktestConfig.with_overrides` takes them); not validated here: pass the result to
    :func:`validate_config`."""
    import copy

    if not isinstance(overrides, dict):
        raise ConfigError(f"{path}: overrides must be keyword arguments or a dict, got {type(overrides).__name__}")
    raw = copy.deepcopy(raw)
    strat = raw.setdefault("strategy", {})
    strat.setdefault("params", {})
    strat.setdefault("forecaster_params", {})
    if "strategy" in overrides and overrides["strategy"] != strat.get("name"):
        strat["name"], strat["params"] = overrides["strategy"], {}
    if "forecaster" in overrides and overrides["forecaster"] != strat.get("forecaster", "lstm"):
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
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: override {key} = {value!r}: give a dict of parameters (an empty one for "
                                  f"none), e.g. {key}={{'lam': 0.97}}")
            strat["params" if key == "strategy_params" else key] = dict(value)
        else:
            table, name = _override_target(key, path)
            raw.setdefault(table, {})[name] = value
    return raw


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
