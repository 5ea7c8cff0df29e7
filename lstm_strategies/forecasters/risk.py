"""Risk forecasts from any forecaster: its h-day variance at each day's close turned into VaR and ES.

:func:`risk_inputs` makes the forecaster's term structure at every forecast origin (each UTC day's last
bar, as ``lstm-strategies evaluate``) and the realised h-day log return from it
(:func:`~lstm_strategies.features.realized.forward_return`); :func:`forecast_risk` feeds them to the
filtered historical simulation of :mod:`lstm_strategies.stats.tail_risk`
(:meth:`Forecaster.forecast_risk <lstm_strategies.forecasters.base.Forecaster.forecast_risk>` calls it).

**The pool needs forecasts before the scored window**: the FHS at the first scored origin uses the
forecaster's 250 (1 day) or 500 (7 days) earlier standardised returns, so forecasts are made from the
data's first bar, and only the origins from ``start`` on are returned.

**Trained networks.** The frozen choice (README, "Risk") keeps a network's own past residuals in its
pool *including its in-sample ones* (known at the time, though possibly optimistic; with a 250-day
window they leave the pool 250 days after training ends). The returned origins must be out of sample:
the network's leakage guard is called with the first returned origin (a
:class:`~lstm_strategies.core.errors.LeakageError` otherwise, unless ``allow_in_sample``), and
``attrs["in_sample_pool_days"]`` counts the in-sample origins whose residuals the pools could draw on.
``RiskSpec(pool_from=...)`` excludes them (the robustness variant: the t5 fallback until 250 out-of-sample
residuals exist).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import ConfigError, DataError
from lstm_strategies.data.bars import utc_timestamp
from lstm_strategies.features.realized import forecast_origins, forward_return
from lstm_strategies.stats.tail_risk import RiskSpec, default_spec, select_rows
from lstm_strategies.stats.tail_risk import forecast_risk as risk_from_forecasts

__all__ = ["forecast_risk", "risk_inputs"]


def risk_inputs(forecaster, df: pd.DataFrame, horizons=None) -> pd.DataFrame:
    """``var_<h>d`` (the h-day variance forecast made at the origin's close) and ``ret_<h>d`` (the h-day log
    return that followed; NaN where the data end first) at every forecast origin of ``df``, for each horizon
    (default: every horizon of the forecaster). The forecaster is fitted on ``df`` when it is not yet;
    every bar is forecast (the pools need the early origins)."""
    horizons = list(forecaster.horizons if horizons is None else horizons)
    missing = [h for h in horizons if h not in forecaster.horizons]
    if missing:
        raise ConfigError(f"{forecaster.name} forecasts the horizons {list(forecaster.horizons)} (days), not "
                          f"{missing}: a risk forecast at horizon h needs the h-day variance")
    if len(df) < 2:
        raise DataError(f"{df.attrs.get('source', 'data')}: a risk forecast needs more than one bar")
    if not forecaster.is_fitted:
        forecaster.fit(df)
    origins = forecast_origins(df, str(df.index[0].date()))
    with np.errstate(over="ignore", invalid="ignore"):
        var = forecaster.predict_batch(df)
    out = pd.DataFrame(index=df.index[origins])
    for h in horizons:
        out[f"var_{h}d"] = var[origins, list(forecaster.horizons).index(h)]
        out[f"ret_{h}d"] = forward_return(df, h, forecaster.calendar).to_numpy()[origins]
    return out


def _window(index: pd.DatetimeIndex, start, end) -> np.ndarray:
    keep = np.ones(len(index), dtype=bool)
    if start is not None:
        keep &= index >= utc_timestamp(start)
    if end is not None:
        keep &= index <= utc_timestamp(end) + pd.Timedelta("1D")
    return keep


def forecast_risk(forecaster, df: pd.DataFrame, horizon: int = 1, spec: RiskSpec | None = None, start=None,
                  end=None, allow_in_sample: bool = False, inputs: pd.DataFrame | None = None) -> pd.DataFrame:
    """VaR and ES, long and short, at each forecast origin from ``start`` to ``end`` (days).

    Parameters
    ----------
    forecaster : Forecaster
        Any forecaster with ``horizon`` among its horizons (its exogenous inputs already given).
    df : DataFrame
        Validated OHLCV bars; every bar is forecast, so the pools hold the forecaster's own history.
    horizon : int
        Days (1 and 7 are the studied ones).
    spec : RiskSpec, optional
        Default: the frozen one of the horizon (:func:`~lstm_strategies.stats.tail_risk.default_spec`);
        its ``horizon`` is set to ``horizon``.
    start, end : date, optional
        First and last origin returned (default: all). A trained network's forecasts from ``start`` must be
        out of sample unless ``allow_in_sample``.
    inputs : DataFrame, optional
        :func:`risk_inputs` already made (several specs on one forecast pass).

    Returns
    -------
    DataFrame
        The columns of :func:`lstm_strategies.stats.tail_risk.forecast_risk` (``var_long``, ``es_long``,
        ``var_short``, ``es_short`` as positive log-return losses ...), plus ``variance`` (the h-day
        forecast) and ``ret`` (the realised h-day log return, NaN until it is complete); ``attrs``: the spec,
        the pools, ``in_sample`` and ``in_sample_pool_days``.
    """
    spec = default_spec(horizon) if spec is None else spec
    if spec.horizon != horizon:
        from dataclasses import replace

        spec = replace(spec, horizon=horizon)
    frame = risk_inputs(forecaster, df, [horizon]) if inputs is None else inputs
    variance, returns = frame[f"var_{horizon}d"], frame[f"ret_{horizon}d"]
    full = risk_from_forecasts(variance, returns, spec)
    full["variance"], full["ret"] = variance.to_numpy(), returns.to_numpy()
    keep = _window(full.index, start, end)
    out = select_rows(full, keep)
    in_sample, pool_days = False, 0
    check = getattr(forecaster, "check_out_of_sample", None)
    first = out.index[np.isfinite(out["variance"].to_numpy())]
    if check is not None and len(first):
        in_sample = bool(check(first[0], allow_in_sample))
        train_end = getattr(forecaster, "train_end", None)
        if train_end is not None:
            pool_days = int(((full.index <= utc_timestamp(train_end)) & np.isfinite(full["variance"].to_numpy())).sum())
    out.attrs.update(in_sample=in_sample, in_sample_pool_days=pool_days)
    return out
