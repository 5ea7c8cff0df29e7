"""Every key a backtest config may hold, generated from the schema: ``docs/CONFIG.md``.

``python -m lstm_strategies.backtest.reference > docs/CONFIG.md`` writes it; a test fails when the file
differs from what :func:`reference` gives now, so the reference cannot go stale. The tables come from
:class:`~lstm_strategies.backtest.config.ConfigFile` (each table, each key, its type, default, allowed
values and description), from each built-in strategy's ``Params`` (``[strategy] params``) and from each
built-in forecaster's constructor (``[strategy] forecaster_params``).
"""

from __future__ import annotations

import math
import sys
import typing
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from lstm_strategies.backtest.config import ConfigFile

#: TOML's names of the Python types the schema uses
TYPE_NAMES = {str: "text", float: "number", int: "whole number", bool: "true / false", dict: "table",
              list: "array"}
_BOUNDS = ((annotated_types.Gt, "gt", ">"), (annotated_types.Ge, "ge", ">="), (annotated_types.Lt, "lt", "<"),
           (annotated_types.Le, "le", "<="))


def _toml(value: Any) -> str:
    """A default as it is written in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and math.isfinite(value) and value == int(value) and abs(value) >= 1000:
        return f"{int(value):_}"
    if isinstance(value, dict):
        return "{}" if not value else "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _kind(annotation: Any, notes: list[str]) -> str:
    """The TOML type of an annotation; what its validators allow goes to ``notes``."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        for extra in extras:
            func = getattr(extra, "func", None)
            if getattr(func, "__name__", "") == "date_text":
                return "date (YYYY-MM-DD)"
            if getattr(func, "__name__", "") == "time_zone":
                return "time zone (IANA name)"
            if getattr(func, "text", None):
                notes.append(func.text)
        return _kind(base, notes)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        kinds = [_kind(arg, notes) for arg in typing.get_args(annotation) if arg is not type(None)]
        return " or ".join(dict.fromkeys(kinds))
    if origin is not None:
        return TYPE_NAMES.get(origin, getattr(origin, "__name__", str(origin)))
    if annotation is Any:
        return "any"
    return TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _row(name: str, field) -> tuple[str, str, str, str, str]:
    notes: list[str] = []
    kind = _kind(field.annotation, notes)
    for meta in field.metadata:
        func = getattr(meta, "func", None)
        if getattr(func, "text", None):
            notes.append(func.text)
        for cls, attr, sign in _BOUNDS:
            if isinstance(meta, cls):
                notes.append(f"{sign} {_toml(getattr(meta, attr))}")
    if field.default_factory is not None:
        made = field.default_factory()
        default = "see the table" if isinstance(made, BaseModel) else _toml(made)
    elif field.default is PydanticUndefined:
        default = "required"
    elif field.default is None:
        default = "not set"
    else:
        default = _toml(field.default)
    return f"`{name}`", kind, default, ", ".join(notes), (field.description or "").replace("|", "\\|")


def _table(rows: list[tuple], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines) + "\n"


def _section(model: type[BaseModel]) -> list[tuple]:
    return [_row(name, field) for name, field in model.model_fields.items()]


def _strategies() -> str:
    from lstm_strategies.strategies.registry import STRATEGIES, strategy_class

    STRATEGIES.load()
    parts = []
    for name in sorted(n for n in STRATEGIES if strategy_class(n).__module__.startswith("lstm_strategies.")):
        cls = strategy_class(name)
        doc = (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        parts.append(f"### `{name}`\n\n{doc}\n\n" + _table(_section(cls.Params),
                                                          ("key", "type", "default", "allowed", "description")))
    return "\n".join(parts)


def _forecasters() -> str:
    from lstm_strategies.forecasters.registry import forecaster_class, forecaster_names, forecaster_params

    rows = []
    for name in forecaster_names():
        cls = forecaster_class(name)
        if not cls.__module__.startswith("lstm_strategies."):
            continue
        ranges = cls.param_ranges()
        params = ", ".join(f"`{k}` = {_toml(v) if v is not None else 'not set'}"
                           + (f" ({ranges[k]})" if k in ranges else "") for k, v in forecaster_params(name).items())
        rows.append((f"`{name}`", cls.kind, params or "none"))
    return _table(rows, ("forecaster", "kind", "keys = default (allowed)"))


def reference() -> str:
    """The whole reference, as Markdown (what ``docs/CONFIG.md`` holds)."""
    tables = {name: field.annotation for name, field in ConfigFile.model_fields.items()
              if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)}
    top = [(name, field) for name, field in ConfigFile.model_fields.items() if name not in tables]
    out = ["# Config reference\n",
           "Every key a backtest config (a TOML file: `lstm-strategies backtest CONFIG.toml`) may hold. Generated "
           "from the schema by `python -m lstm_strategies.backtest.reference > docs/CONFIG.md` (a test fails when "
           "this file is stale): do not edit it by hand. Any other key is an error that names it. Dates are UTC; "
           "fractions are written as fractions (a 0.1% commission is `0.001`, a 40% volatility `0.4`).\n",
           "## Top level\n", _table([_row(n, f) for n, f in top], ("key", "type", "default", "allowed",
                                                                    "description"))]
    for name, model in tables.items():
        doc = (model.__doc__ or "").strip().split("\n")[0].split(": ", 1)[-1]
        out += [f"## `[{name}]`\n", f"{doc[0].upper() + doc[1:] if doc else ''}\n",
                _table(_section(model), ("key", "type", "default", "allowed", "description"))]
    out += ["## `[strategy] params`, by strategy\n",
            "What each built-in strategy takes in `[strategy] params` (`params = { target_vol = 0.4 }`).\n",
            _strategies(),
            "## `[strategy] forecaster_params`, by forecaster\n",
            "The keyword arguments each built-in forecaster takes (`forecaster_params = { lam = 0.97 }`); `horizons` "
            "not set means the calendar's (1, 7 and 30 days for crypto; 1, 5 and 21 sessions for equities).\n",
            _forecasters()]
    return "\n".join(out)


def main() -> int:
    sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
