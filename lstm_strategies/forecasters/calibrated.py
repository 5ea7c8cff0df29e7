"""The calibrated variants of issue #29: the estimation window and level correction frozen per forecaster family.

Each variant is a registered forecaster with parameter values, not a new class: ``log_har`` with
``level_correction="h1"`` is the calibrated log-HAR, in a config as in Python::

    forecaster = "log_har"
    forecaster_params = { level_correction = "h1", level_window_days = 180 }

They were chosen on the selection period (bar-only forecasters on 2020-2021, those that read DVOL on 2022;
``docs/research/calibration/REPORT.md``, "Frozen choices"), then run once on 2023-01-01 .. 2026-04-06: they
improve the 30-day QLIKE of log-HAR, the LSTM and GARCH but none reaches the 0.9-1.1 bias band every year
(README, "Results: calibrated forecasts"). The defaults of every forecaster stay 0.3.0's. The market-anchored
forecast is the registered ``implied_anchor`` (:mod:`lstm_strategies.forecasters.implied_var`).
"""

from __future__ import annotations

#: variant -> (registry name, parameters); the LSTMs' ``model`` is the asset's bundled one (:func:`calibrated`)
CALIBRATED: dict[str, tuple[str, dict]] = {
    "log_har_cal": ("log_har", {"level_correction": "h1", "level_window_days": 180}),
    "har_iv_cal": ("har_iv", {"window": "rolling", "window_days": 365, "level_correction": "own",
                              "level_window_days": 180, "level_shrink": 0.5}),
    "garch_cal": ("garch", {"level_correction": "h1", "level_window_days": 30}),
    "lstm_cal": ("lstm", {"level_correction": "h1", "level_window_days": 180}),
    "lstm_iv_cal": ("lstm_iv", {"level_correction": "h1", "level_window_days": 180}),
}
#: the bundled LSTM of each variant that reads a model (``{asset}``: btc, eth)
MODELS = {"lstm_cal": "{asset}-1h", "lstm_iv_cal": "{asset}-1h-iv"}


def calibrated(variant: str, asset: str | None = None) -> tuple[str, dict]:
    """``(registry name, parameters)`` of a calibrated variant; the LSTMs' need the ``asset`` (their bundled
    model) or a ``model`` given later. An unknown variant is a :class:`ConfigError`."""
    from lstm_strategies.core.errors import ConfigError

    if variant not in CALIBRATED:
        raise ConfigError(f"no calibrated variant {variant!r}; choose one of {sorted(CALIBRATED)}")
    name, params = CALIBRATED[variant]
    params = dict(params)
    if variant in MODELS and asset is not None:
        params["model"] = MODELS[variant].format(asset=asset)
    return name, params


def calibrated_set(asset: str, with_implied: bool = True) -> dict[str, tuple[str, dict]]:
    """Every calibrated variant for an asset and ``implied_anchor`` (column -> (name, parameters)), as ``evaluate``
    takes them (``extra``); without implied vol only those that read the bars alone."""
    out = {v: calibrated(v, asset) for v in CALIBRATED} | {"implied_anchor": ("implied_anchor", {})}
    return {k: v for k, v in out.items() if with_implied or k not in ("har_iv_cal", "lstm_iv_cal", "implied_anchor")}
