"""The forecasting core (no Backtrader here) and the one registry of forecaster names.

=============  =====================================================================
name           forecaster
=============  =====================================================================
``lstm``       :class:`~lstm_strategies.forecasters.lstm.LSTMForecaster` (a trained checkpoint)
``lstm_refit`` :class:`~lstm_strategies.forecasters.lstm_refit.RefittingLSTMForecaster`
``ewma``       :class:`~lstm_strategies.forecasters.ewma.EWMAForecaster`
``garch``      :class:`~lstm_strategies.forecasters.garch.GARCHForecaster`
``har``        :class:`~lstm_strategies.forecasters.har.HARForecaster`
``log_har``    :class:`~lstm_strategies.forecasters.har.LogHARForecaster`
=============  =====================================================================

Configs, indicators, sweeps and the evaluation all resolve names here, with
:func:`make_forecaster`; each class declares its parameters once, in its constructor.
"""

from __future__ import annotations

import importlib

from lstm_strategies.errors import ConfigError
from lstm_strategies.forecasters.base import Forecaster

#: name -> "module:Class" (imported on first use, so that naming a forecaster does not load torch)
REGISTRY: dict[str, str] = {
    "lstm": "lstm_strategies.forecasters.lstm:LSTMForecaster",
    "lstm_refit": "lstm_strategies.forecasters.lstm_refit:RefittingLSTMForecaster",
    "ewma": "lstm_strategies.forecasters.ewma:EWMAForecaster",
    "garch": "lstm_strategies.forecasters.garch:GARCHForecaster",
    "har": "lstm_strategies.forecasters.har:HARForecaster",
    "log_har": "lstm_strategies.forecasters.har:LogHARForecaster",
}
#: parameters that come from the data or the config's calendar, not from forecaster_params
CONTEXT_PARAMS = ("calendar", "timeframe")


def forecaster_names() -> list[str]:
    """Every registered name."""
    return sorted(REGISTRY)


def forecaster_class(name: str) -> type[Forecaster]:
    """The class registered under ``name``; an unknown name is a :class:`ConfigError`."""
    if name not in REGISTRY:
        raise ConfigError(f"forecaster {name!r} is unknown; choose one of {forecaster_names()}")
    module, cls = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def forecaster_params(name: str) -> dict:
    """Parameters a config may set for ``name`` (``forecaster_params``), with their defaults."""
    return {k: v for k, v in forecaster_class(name).param_defaults().items() if k not in CONTEXT_PARAMS}


def check_forecaster_params(name: str, params: dict) -> None:
    """Raise :class:`ConfigError` for parameters the forecaster does not take."""
    allowed = forecaster_params(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"forecaster {name!r} does not take {unknown}; it takes {sorted(allowed)}")


def make_forecaster(name: str, calendar: str | None = None, **params) -> Forecaster:
    """Build a forecaster by name with validated parameters.

    Parameters
    ----------
    name : str
        A registered name (see the table above).
    calendar : str, optional
        The data's calendar (``crypto`` or ``equity``); an LSTM checkpoint brings its own and
        must match it.
    **params
        Constructor arguments (``lam=0.97``, ``model="btc-1h"``, ``horizons=[1, 7, 30]`` ...).
    """
    check_forecaster_params(name, params)
    cls = forecaster_class(name)
    if "calendar" in cls.param_names():
        if calendar is not None:
            params["calendar"] = calendar
    forecaster = cls(**params)
    if calendar is not None and forecaster.calendar != calendar:
        raise ConfigError(f"forecaster {name!r} ({params.get('model', '')}) works on the {forecaster.calendar} "
                          f"calendar, but the data is on the {calendar} calendar; use a matching model or "
                          "set [data] calendar")
    return forecaster


__all__ = ["REGISTRY", "Forecaster", "check_forecaster_params", "forecaster_class", "forecaster_names",
           "forecaster_params", "make_forecaster"]
