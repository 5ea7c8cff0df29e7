"""The tables of a backtest config file (pydantic models): ``[data]``, ``[backtest]``, ``[strategy]``, ``[report]``,
``[plugins]``; strict types, unknown keys refused, frozen. :mod:`lstm_strategies.backtest.config` validates a whole
file against them and checks what spans tables (the strategy's parameters, the forecaster, the horizon)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lstm_strategies.core.atomic import name_problem
from lstm_strategies.core.dates import DateText, TimeZone, parse_date
from lstm_strategies.core.declarations import OneOf, Range
from lstm_strategies.data.calendar import CALENDARS

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
    cash: Annotated[float, Range(0, MAX_CASH, low_open=True)] = Field(100_000.0, description="starting cash")
    commission: Annotated[float, Range(0, 0.1, high_open=True)] = Field(0.001, description="fraction of the traded "
                                                                        "value")
    slippage: Annotated[float, Range(0, 0.1, high_open=True)] = Field(0.0005, description="fraction of the price, "
                                                                      "against each order")
    borrow_rate: Annotated[float, Range(0, 1, high_open=True)] = Field(0.0, description="a year, on what a levered "
                                                                       "position borrows")
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


class PluginsSection(BaseModel):
    """``[plugins]``: modules that add forecasters or strategies, imported before any name is resolved."""

    model_config = STRICT
    #: module names, or paths to ``.py`` files (relative to the config file); kept as loaded (files absolute)
    modules: list[str] = Field(default_factory=list, description="modules adding forecasters or strategies, "
                               "imported first: module names, or .py paths relative to the config file")


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
    plugins: PluginsSection = Field(default_factory=PluginsSection)

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name: str | None) -> str | None:
        problem = None if name is None else name_problem(name)
        if problem:
            raise ValueError(f"the name {problem}")
        return name
