"""The tables of a backtest config file (pydantic models): ``[data]``, ``[backtest]``, ``[strategy]``, ``[report]``,
``[plugins]``; strict types, unknown keys refused, frozen. :mod:`lstm_strategies.backtest.config` validates a whole
file against them and checks what spans tables (the strategy's parameters, the forecaster, the horizon)."""

from __future__ import annotations

import datetime as _dt
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from lstm_strategies.core.atomic import name_problem
from lstm_strategies.core.declarations import OneOf, Range
from lstm_strategies.data.calendar import CALENDARS


def _date_text(value: Any) -> str:
    """A date from TOML (a date, or a string pandas parses); integers and junk are refused."""
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date; write it as \"YYYY-MM-DD\"")
    try:
        pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"{value!r} is not a date; write it as \"YYYY-MM-DD\"") from None
    return value


DateText = Annotated[str, BeforeValidator(_date_text)]
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
#: the most cash a run may start with: far above any account, far below where float sums lose units
MAX_CASH = 1e12


class DataSection(BaseModel):
    """``[data]``: which bars, which part of them, which calendar."""

    model_config = STRICT
    dataset: str | None = None
    file: str | None = None
    start: DateText | None = None
    end: DateText | None = None
    calendar: Annotated[str, OneOf(*CALENDARS)] = "crypto"
    #: implied-volatility series (shipped name or CSV path) for forecasters that declare that input
    implied: str | None = None

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.dataset) == bool(self.file):
            raise ValueError("give exactly one of dataset (a shipped name such as btc_usdt_1h, or arch:sp500) "
                             "and file (a path)")
        if self.start and self.end and pd.Timestamp(self.start) >= pd.Timestamp(self.end):
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self


class BacktestSection(BaseModel):
    """``[backtest]``: the trading start, cash and costs."""

    model_config = STRICT
    start: DateText | None = None
    cash: Annotated[float, Range(0, MAX_CASH, low_open=True)] = 100_000.0
    commission: Annotated[float, Range(0, 0.1, high_open=True)] = 0.001
    slippage: Annotated[float, Range(0, 0.1, high_open=True)] = 0.0005
    borrow_rate: Annotated[float, Range(0, 1, high_open=True)] = 0.0
    allow_rejected_orders: bool = False


class StrategySection(BaseModel):
    """``[strategy]``: the strategy, its forecaster and their parameters."""

    model_config = STRICT
    name: str
    forecaster: str = "lstm"
    allow_in_sample: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
    forecaster_params: dict[str, Any] = Field(default_factory=dict)


class PluginsSection(BaseModel):
    """``[plugins]``: modules that add forecasters or strategies, imported before any name is resolved."""

    model_config = STRICT
    #: module names, or paths to ``.py`` files (relative to the config file); kept as loaded (files absolute)
    modules: list[str] = Field(default_factory=list)


class ReportSection(BaseModel):
    """``[report]``: what the report writes."""

    model_config = STRICT
    baselines: bool = True
    tearsheet: bool = True


class ConfigFile(BaseModel):
    """A whole backtest config file."""

    model_config = STRICT
    name: str | None = None
    description: str | None = None
    data: DataSection
    backtest: BacktestSection = Field(default_factory=BacktestSection)
    strategy: StrategySection
    report: ReportSection = Field(default_factory=ReportSection)
    plugins: PluginsSection = Field(default_factory=PluginsSection)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str | None) -> str | None:
        problem = None if name is None else name_problem(name)
        if problem:
            raise ValueError(f"the name {problem}")
        return name
