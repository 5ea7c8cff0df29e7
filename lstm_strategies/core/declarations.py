"""What a strategy declares about itself: its parameters and its metrics (bottom floor: no Backtrader).

**Parameters.**
A strategy declares its parameters once, as a :class:`Params` model on the class; a subclass's
model inherits its parent's fields and may override a default or a type. From that one
declaration come the Backtrader ``params`` tuple (:meth:`Params.bt_params`), the defaults a config
may set (:meth:`Params.defaults`) and the one validation (:meth:`Params.check`), used by the config
schema, by sweeps for every combination, and by the strategy itself when Python code builds it
directly, so a value refused in a TOML file is refused in a notebook with the same words.

Constraints are reusable annotated types (:func:`Range`, :func:`OneOf`) with messages in the
project's form: ``strategy.params.target_vol = -0.4: must be in (0, 5]``.

**Metrics.** A :class:`Metric` names one number of ``metrics.json`` (its dotted key), its column title,
its unit and which direction is better; :data:`COMMON_METRICS` are every run's, a strategy class adds
the decision metrics it computes. Reports, summary tables, sweeps (what can be ranked, in which
direction) and the race read these declarations, so none of them lists a strategy's metrics.

Units, one per quantity: machine-facing files (``metrics.json``, ``comparison.csv``,
``results.csv``) hold fractions (0.081); human-facing tables show percentages for returns,
volatility, drawdowns and costs (8.1%) and volatility points for tracking errors (8.1).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from lstm_strategies.core.errors import ConfigError

__all__ = ["COMMON_METRICS", "Count", "Fraction", "Metric", "NonNegative", "OneOf", "Params", "Positive", "Range",
           "UnitInterval", "WholePositive"]


def _bound(value: float) -> str:
    return f"{value:g}"


def Range(low: float | None = None, high: float | None = None, *, low_open: bool = False,  # noqa: N802
          high_open: bool = False, whole: bool = False) -> AfterValidator:
    """A range check as an annotation: ``Annotated[float, Range(0, 5, low_open=True)]``.

    Non-finite values are refused whatever the range; ``whole`` asks for a whole number.
    """
    if high is None:
        text = f"must be {'a whole number ' if whole else ''}{'>' if low_open else '>='} {_bound(low)}"
    else:
        text = (f"must be {'a whole number ' if whole else ''}in {'(' if low_open else '['}"
                f"{'-inf' if low is None else _bound(low)}, {_bound(high)}{')' if high_open else ']'}")

    def check(value):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError("must be a finite number")
            below = low is not None and (value <= low if low_open else value < low)
            above = high is not None and (value >= high if high_open else value > high)
            if below or above or (whole and value != int(value)):
                raise ValueError(text)
        return value

    check.text = text.removeprefix("must be ")  # what the config reference shows
    return AfterValidator(check)


def OneOf(*choices) -> AfterValidator:  # noqa: N802
    """A choice among values as an annotation: ``Annotated[str, OneOf("bar", "daily")]``."""
    def check(value):
        if value not in choices:
            raise ValueError(f"choose one of {list(choices)}")
        return value

    check.text = "one of " + ", ".join(map(str, choices))  # what the config reference shows
    return AfterValidator(check)


Positive = Annotated[float, Range(0, low_open=True)]
NonNegative = Annotated[float, Range(0)]
Fraction = Annotated[float, Range(0, 1, low_open=True)]
UnitInterval = Annotated[float, Range(0, 1)]
WholePositive = Annotated[float, Range(0, low_open=True, whole=True)]  # a whole number held as a float too (1.0)
Count = Annotated[int, Range(1, whole=True)]  # a whole number >= 1 (days, members, ratios), an int only

#: pydantic error types -> the project's words
_TYPE_WORDS = {"float_type": "must be a number", "float_parsing": "must be a number",
               "int_type": "must be a whole number", "int_from_float": "must be a whole number",
               "int_parsing": "must be a whole number", "bool_type": "must be true or false",
               "string_type": "must be a string", "finite_number": "must be a finite number"}


class Params(BaseModel):
    """Base of a class's parameter declaration (strict types, unknown keys refused, immutable)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)

    #: how messages name the owner ("vol_target"); set by the owning class's declaration
    owner: ClassVar[str] = ""

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every parameter with its default."""
        return {name: field.default for name, field in cls.model_fields.items()}

    @classmethod
    def bt_params(cls) -> tuple[tuple[str, Any], ...]:
        """The declaration as Backtrader's ``params`` tuple (name, default)."""
        return tuple(cls.defaults().items())

    @classmethod
    def check(cls, values: dict, where: str = "strategy.params", owner: str | None = None) -> dict:
        """Validate ``values`` (a subset of the parameters; the rest take their defaults).

        Returns ``values`` unchanged when valid; raises one :class:`ConfigError` naming each bad key
        as ``{where}.{key} = {value!r}: {what is wrong}``.
        """
        owner = owner or cls.owner or cls.__qualname__
        if not isinstance(values, dict):
            raise ConfigError(f"{where} = {values!r}: must be a table of parameters")
        known = list(cls.model_fields)
        for key in values:
            if key not in cls.model_fields:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"{where}.{key}: not a parameter of {owner}{hint} (it takes: "
                                  f"{', '.join(sorted(known))})")
        try:
            cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigError("; ".join(_explain(err, where, values) for err in exc.errors())) from None
        return values


def describe_error(err: dict) -> str:
    """What a pydantic error says, in the project's words (``must be a number``, ``must be in (0, 5]``)."""
    return _TYPE_WORDS.get(err["type"], err["msg"].removeprefix("Value error, "))


def _explain(err: dict, where: str, values: dict) -> str:
    loc = err["loc"]
    if not loc:  # a check across fields (a model validator)
        return f"{where}: {err['msg'].removeprefix('Value error, ')}"
    key = str(loc[0])
    shown = values.get(key, err.get("input"))
    return f"{where}.{key} = {shown!r}: {describe_error(err)}"


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------

UNITS = ("ratio", "percent", "vol_points", "per_year", "count", "money")


@dataclass(frozen=True)
class Metric:
    """One number a run reports.

    Parameters
    ----------
    key : str
        Dotted path in ``metrics.json`` (``"sharpe"``, ``"decision.te30"``).
    label : str
        Column title in human-facing tables.
    unit : {"ratio", "percent", "vol_points", "per_year", "count", "money"}
        How it is shown to people (files keep the raw number: fractions for percentages and points).
    better : {"higher", "lower"} or None
        Which direction is better (sweeps rank that way); None: neither.
    headline : bool
        Shown in the summary tables of ``backtest`` and ``compare``.
    rank : bool
        A sweep may rank its runs by it (``[report] metric``).
    digits : int
        Decimals shown.
    column : str
        Its column in sweep results (default: the key's last part).
    """

    key: str
    label: str
    unit: str = "ratio"
    better: str | None = None
    headline: bool = False
    rank: bool = False
    digits: int = 1
    column: str = ""

    def __post_init__(self):
        if self.unit not in UNITS or self.better not in (None, "higher", "lower"):
            raise ValueError(f"metric {self.key}: unit {self.unit!r} / better {self.better!r}")
        if not self.column:
            object.__setattr__(self, "column", self.key.rsplit(".", 1)[-1])

    def get(self, metrics: dict):
        """This metric's value in a ``metrics.json`` dict (None when absent)."""
        node = metrics
        for part in self.key.split("."):
            if not isinstance(node, dict):
                return None
            node = node.get(part)
        return node

    def format(self, value) -> str:
        """The value as people read it: ``8.1%``, ``8.1`` (points), ``0.28``; empty when undefined."""
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return "" if value is None or (isinstance(value, float) and value != value) else str(value)
        if self.unit == "percent":
            return f"{value:.{self.digits}%}"
        if self.unit == "vol_points":
            return f"{100 * value:.{self.digits}f}"
        if self.unit in ("count", "money"):
            return f"{value:,.0f}"
        return f"{value:.{self.digits}f}"


#: every run's metrics, whatever its strategy (headline ones in the summary tables, in this order)
COMMON_METRICS: tuple[Metric, ...] = (
    Metric("sharpe", "Sharpe", "ratio", "higher", headline=True, rank=True, digits=2),
    Metric("sortino", "Sortino", "ratio", "higher", headline=True, rank=True, digits=2),
    Metric("cagr", "CAGR", "percent", "higher", headline=True, rank=True),
    Metric("volatility", "Vol", "percent", None, headline=True),
    Metric("max_drawdown", "MaxDD", "percent", "higher", headline=True, rank=True),
    Metric("cvar_95", "CVaR95", "percent", "higher", headline=True, digits=2),
    Metric("calmar", "Calmar", "ratio", "higher", rank=True, digits=2),
    Metric("total_return", "Total return", "percent", "higher"),
    Metric("turnover_per_year", "Turnover/yr", "per_year", "lower", headline=True),
    Metric("costs.total_over_cash_per_year", "Costs/yr", "percent", "lower", headline=True, digits=2,
           column="costs_per_year"),
)
