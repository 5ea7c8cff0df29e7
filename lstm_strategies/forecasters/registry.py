"""The registry of forecaster names and the functions that resolve them (no forecaster imported here).

A forecaster class registers itself when it is defined with a ``name`` (its base class calls
:func:`register`); the built-in ones are imported by module name on the first lookup, the LSTMs
among them from :mod:`lstm_strategies.models`, which sits above this layer.
"""

from __future__ import annotations

from lstm_strategies.core.errors import ConfigError
from lstm_strategies.core.registry import Registry

#: modules of the built-in forecasters (imported on the first lookup of a name)
BUILTIN_MODULES = ("lstm_strategies.forecasters.ewma", "lstm_strategies.forecasters.garch",
                   "lstm_strategies.forecasters.har", "lstm_strategies.forecasters.har_iv",
                   "lstm_strategies.forecasters.implied_var", "lstm_strategies.models.lstm",
                   "lstm_strategies.models.lstm_iv", "lstm_strategies.models.lstm_refit",
                   "lstm_strategies.models.lstm_iv_refit")

#: name -> class, filled by the classes themselves when they are defined
REGISTRY: Registry = Registry("forecaster", "lstm_strategies.forecasters.base.Forecaster", BUILTIN_MODULES)
register = REGISTRY.register

#: parameters that come from the data or the config's calendar, not from forecaster_params
CONTEXT_PARAMS = ("calendar", "timeframe")


def forecaster_class(name: str) -> type:
    """The class registered under ``name``; an unknown name is a :class:`ConfigError`."""
    return REGISTRY.resolve(name)


def forecaster_names(kind: str | None = None, refits: bool | None = None) -> list[str]:
    """Every registered name, or those of one ``kind`` / refitting or not."""
    return sorted(n for n, c in REGISTRY.items() if (kind is None or c.kind == kind)
                  and (refits is None or c.refits == refits))


def forecaster_params(name: str) -> dict:
    """Parameters a config may set for ``name`` (``forecaster_params``), with their defaults."""
    return {k: v for k, v in forecaster_class(name).param_defaults().items() if k not in CONTEXT_PARAMS}


def check_forecaster_params(name: str, params: dict) -> None:
    """Raise :class:`ConfigError` for parameters the forecaster does not take."""
    allowed = forecaster_params(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"forecaster {name!r} does not take {unknown}; it takes {sorted(allowed)}")


def make_forecaster(name: str, calendar: str | None = None, **params):
    """Build a forecaster by name with validated parameters.

    Parameters
    ----------
    name : str
        A registered name (see :mod:`lstm_strategies.forecasters`).
    calendar : str, optional
        The data's calendar (``crypto`` or ``equity``); an LSTM checkpoint brings its own and
        must match it.
    **params
        Constructor arguments (``lam=0.97``, ``model="btc-1h"``, ``horizons=[1, 7, 30]`` ...).

    Returns
    -------
    Forecaster
        A new, unfitted forecaster (:class:`~lstm_strategies.forecasters.base.Forecaster`).
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


__all__ = ["BUILTIN_MODULES", "CONTEXT_PARAMS", "REGISTRY", "check_forecaster_params", "forecaster_class",
           "forecaster_names", "forecaster_params", "make_forecaster", "register"]
