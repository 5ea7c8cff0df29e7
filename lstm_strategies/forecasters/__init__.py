"""The forecasting core (no Backtrader here) and the one registry of forecaster names.

A forecaster class registers itself when it is defined with a ``name`` of its own (see
:class:`~lstm_strategies.forecasters.base.Forecaster`); it also declares its ``kind`` (``baseline``
or ``model``), whether it ``refits`` and the exogenous ``inputs`` it reads. Configs, indicators,
sweeps, the evaluation, the race and the CLI resolve names here (:func:`make_forecaster`) and ask
the class for the rest, so a new forecaster is one module (and its test): define it, import it
once, and every name-taking place knows it. The built-in ones:

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

and the forecasters that also read the market's implied volatility (``inputs = ("implied_vol",)``;
see :mod:`lstm_strategies.exogenous`):

=================  =================================================================
``har_iv``         :class:`~lstm_strategies.forecasters.har_iv.HARIVForecaster` (log-HAR + log IV²)
``implied``        :class:`~lstm_strategies.forecasters.implied_var.ImpliedForecaster` (IV² h/365)
``implied_level``  :class:`~lstm_strategies.forecasters.implied_var.ImpliedLevelForecaster`
``lstm_iv``        :class:`~lstm_strategies.forecasters.lstm_iv.ImpliedLSTMForecaster` (``btc-1h-iv``)
``lstm_iv_refit``  :class:`~lstm_strategies.forecasters.lstm_iv_refit.ImpliedRefittingLSTMForecaster`
=================  =================================================================

Importing this package imports no torch: the LSTM modules load it when a network is built.
"""

from __future__ import annotations

from lstm_strategies.errors import ConfigError
from lstm_strategies.registry import Registry

#: name -> class, filled by the classes themselves when they are defined
REGISTRY: Registry = Registry("forecaster")
register = REGISTRY.register

from lstm_strategies.forecasters import ewma, garch, har, har_iv, implied_var, lstm, lstm_iv  # noqa: E402,F401,I001
from lstm_strategies.forecasters import lstm_iv_refit, lstm_refit  # noqa: E402,F401,I001  (they register)
from lstm_strategies.forecasters.base import Forecaster  # noqa: E402

#: parameters that come from the data or the config's calendar, not from forecaster_params
CONTEXT_PARAMS = ("calendar", "timeframe")


def forecaster_class(name: str) -> type[Forecaster]:
    """The class registered under ``name``; an unknown name is a :class:`ConfigError`."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ConfigError(f"forecaster {name!r} is unknown; choose one of {forecaster_names()}")
    return REGISTRY[name]


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
           "forecaster_params", "make_forecaster", "register"]
