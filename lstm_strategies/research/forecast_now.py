"""The latest forecast: what a forecaster says at the last bar of a file, against the market's implied vol
(``lstm-strategies forecast``).

:func:`forecast_now` reads the bars (a shipped name or a file, e.g. one ``data fetch`` keeps up to date),
runs the forecaster over the whole history (its refit heads see what they would in a backtest) and returns
the forecast of the last bar, known at that bar's close, for each horizon (1, 7 and 30 days for crypto),
annualised; with an implied-volatility series, the value known at that same close (never a later one) and
the forecast-to-implied ratio. Nothing is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lstm_strategies.core.errors import ConfigError


@dataclass(frozen=True)
class NowForecast:
    """The forecast at the last bar.

    ``vol`` is annualised, one value per horizon (days); ``implied`` (a fraction) is the implied
    volatility known at ``known_at`` (None: none known then, or no series given), ``implied_day`` the
    period it closes and ``implied_horizon_days`` what it prices (30 for DVOL).
    """

    source: str
    last_bar: pd.Timestamp
    known_at: pd.Timestamp
    forecaster: str
    horizons: tuple[int, ...]
    vol: tuple[float, ...]
    calendar: str
    implied: float | None = None
    implied_source: str | None = None
    implied_day: pd.Timestamp | None = None
    implied_horizon_days: int = 30
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ratios(self) -> tuple[float, ...] | None:
        """Forecast over implied volatility, per horizon (None without an implied value)."""
        if self.implied is None:
            return None
        return tuple(v / self.implied for v in self.vol)

    def text(self) -> str:
        """One screen: the forecast per horizon, the implied volatility and the ratio."""
        unit = "day" if self.calendar == "crypto" else "session"
        labels = [f"{h} {unit}" + ("s" if h > 1 else "") for h in self.horizons]
        width = max(10, *(len(label) for label in labels))
        lines = [f"{self.source}: last bar {self.last_bar:%Y-%m-%d %H:%M} UTC, forecast known at its close "
                 f"({self.known_at:%Y-%m-%d %H:%M} UTC)",
                 f"forecaster  {self.forecaster}", "",
                 f"  {'horizon':<{width}} {'forecast (annualised)':>22}" + (f" {'/ implied':>10}" if self.ratios
                                                                          else "")]
        for j, label in enumerate(labels):
            ratio = f" {self.ratios[j]:>10.2f}" if self.ratios else ""
            lines.append(f"  {label:<{width}} {self.vol[j]:>22.1%}{ratio}")
        lines.append("")
        if self.implied is not None:
            lines.append(f"implied     {self.implied:.1%} ({self.implied_source}: {self.implied_day:%Y-%m-%d}'s close, "
                         f"the last known at the forecast; it prices the next {self.implied_horizon_days} days)")
        lines += [f"note        {n}" for n in self.notes]
        return "\n".join(lines)


def _default_model(source: str, implied: bool) -> str:
    """The bundled model for a data name: btc-1h / eth-1h (their -iv twins with implied vol), else crypto-1h."""
    from lstm_strategies.models.sealed import pretrained_names

    coin = Path(source).name.split("_")[0].split(".")[0].lower()
    for name in ((f"{coin}-1h-iv",) if implied else ()) + (f"{coin}-1h",):
        if name in pretrained_names():
            return name
    return "crypto-1h"


def _forecaster(source: str, model: str | None, forecaster: str | None, implied, calendar: str | None):
    """The forecaster asked for (a model: ``lstm``, or ``lstm_iv`` when its card reads implied vol)."""
    from lstm_strategies.forecasters.registry import forecaster_class, make_forecaster
    from lstm_strategies.models.sealed import pretrained_names, pretrained_path, read_card

    if model is not None and forecaster is not None:
        raise ConfigError("give a model (--model) or a forecaster (--forecaster), not both")
    if forecaster is None:
        model = model or _default_model(source, implied is not None)
        card = read_card(pretrained_path(model) if model in pretrained_names() else Path(model))
        forecaster = "lstm_iv" if card.inputs else "lstm"
        built = make_forecaster(forecaster, calendar, model=model)
        label = f"{forecaster} ({model}, trained {card.train_start[:10]} .. {card.train_end[:10]})"
    else:
        forecaster_class(forecaster)  # an unknown name lists the known ones
        built = make_forecaster(forecaster, calendar or "crypto")
        label = forecaster
    if built.inputs and implied is None:
        raise ConfigError(f"the {built.name} forecaster reads implied volatility: give --implied (btc_dvol_daily, "
                          "eth_dvol_daily, or a CSV such as `lstm-strategies data fetch-implied` writes)")
    if built.inputs:
        built.set_inputs(implied_vol=implied)
    return built, label


def _implied_at(series: pd.Series, known_at: pd.Timestamp, notes: list[str]) -> tuple[float | None, pd.Timestamp]:
    """The value known at ``known_at`` (at most 3 days old) and the period it closes; a note when none."""
    from lstm_strategies.market.exogenous import MAX_AGE
    from lstm_strategies.market.implied import ImpliedVolLookup

    value = ImpliedVolLookup(series, MAX_AGE).at(known_at.value)
    step = pd.Timedelta(series.attrs.get("period", "1D"))
    earlier = series.index[series.index <= known_at]
    if math.isnan(value):
        source = series.attrs.get("source", "the implied series")
        if len(earlier):
            notes.append(f"no implied volatility known at the forecast: {source}'s last value known then closed "
                         f"{(earlier[-1] - step):%Y-%m-%d}, more than {MAX_AGE} before; bring it up to date "
                         "(`lstm-strategies data fetch-implied --out FILE`) or pass --at an earlier day")
        else:
            notes.append(f"no implied volatility known at the forecast: {source} starts later "
                         f"({series.index[0] - step:%Y-%m-%d})")
        return None, None
    return value, earlier[-1] - step


def _cut(df: pd.DataFrame, at: str, source: str, notes: list[str]) -> pd.DataFrame:
    """The bars up to the end of the day ``at`` (a note when the file ends before it)."""
    from lstm_strategies.core.dates import parse_date
    from lstm_strategies.data.bars import end_of_day

    if df.index[-1] < parse_date(at, "--at"):
        notes.append(f"{source} ends before --at {at}: this is the forecast of its last bar; bring the file up to "
                     "date (`lstm-strategies data fetch ... --out FILE`)")
    attrs, df = dict(df.attrs), df[df.index <= end_of_day(at)]
    df.attrs = attrs
    if len(df) < 2:
        raise ConfigError(f"--at {at}: {source} has no bars up to that day")
    return df


def forecast_now(data: str | pd.DataFrame, implied: str | pd.Series | None = None, model: str | None = None,
                 forecaster: str | None = None, at: str | None = None, tz: str | None = None,
                 implied_units: str | None = None, calendar: str | None = None) -> NowForecast:
    """The forecast at the last bar of ``data`` (or of the day ``at``), against implied volatility.

    Parameters
    ----------
    data : str or DataFrame
        A shipped dataset, a file, or a frame of bars.
    implied : str or Series, optional
        An implied-volatility series (``btc_dvol_daily``, a CSV, a loaded series).
    model, forecaster : str, optional
        A bundled model or checkpoint folder (``lstm``, or ``lstm_iv`` for a model that reads implied
        vol), or a registered forecaster's name; by default the bundled model of the data's coin.
    at : str, optional
        Forecast at the last bar of this day (``YYYY-MM-DD``) instead of the file's last bar.
    tz, implied_units, calendar : str, optional
        The zone of the file's naive times, the implied file's units, and a baseline's calendar.
    """
    from lstm_strategies.data.bars import check_frame
    from lstm_strategies.data.datasets import load_dataset
    from lstm_strategies.market.implied import load_implied_vol

    df = check_frame(data, tz=tz) if isinstance(data, pd.DataFrame) else load_dataset(data, tz=tz)
    source = str(df.attrs.get("source", data if isinstance(data, str) else "bars"))
    notes: list[str] = []
    if at is not None:
        df = _cut(df, at, source, notes)
    series = None if implied is None else load_implied_vol(implied, units=implied_units)
    built, label = _forecaster(source, model, forecaster, series, calendar)
    last = df.index[-1]
    check = getattr(built, "check_out_of_sample", None)
    if check is not None and built.train_end is not None and last <= built.train_end:
        raise ConfigError(f"the last bar of {source} ({last}) is inside the training window of {label}: a forecast "
                          f"there is in-sample; give bars that run past {built.train_end.date()}")
    with np.errstate(over="ignore", invalid="ignore"):
        var = built.fit(df).predict_batch(df, start=last)[-1]
    vol = built.annualise(var)
    if not np.isfinite(vol).all():
        raise ConfigError(f"{label} has no forecast at {last} ({source} holds {len(df):,} bars from {df.index[0]}): "
                          f"it needs {built.warmup_bars:,} bars of warm-up; give a longer history")
    known_at = last + pd.Timedelta(built.timeframe)
    age = pd.Timestamp.now(tz="UTC") - known_at
    if at is None and age > pd.Timedelta("2D"):
        notes.append(f"the last bar closed {age.days} days ago: this is not today's forecast; bring the file up to "
                     "date (`lstm-strategies data fetch ... --out FILE`), or pass --at to say which day you want")
    value, day = (None, None) if series is None else _implied_at(series, known_at, notes)
    for reason, entry in built.input_fallbacks.items():  # the forecast itself lacked its input
        notes.append(f"{built.name} forecast this bar without its input ({reason}): it fell back to "
                     f"{entry['fallback']}")
    return NowForecast(source, last, known_at, label, tuple(int(h) for h in built.horizons),
                       tuple(float(v) for v in vol), built.calendar, value,
                       None if series is None else series.attrs.get("source"), day, notes=tuple(notes))
