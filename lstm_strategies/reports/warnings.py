"""The warnings of a run: one line each, in ``metrics.json``, on stderr and at the top of the tearsheet.

Generic ones (degenerate inputs or outcomes: a constant price, zero volume, nothing held; a forecaster that fell
back for lack of an exogenous input, with the share of bars) and the strategy's own (``run_warnings``: decision
days it skipped without an implied value...).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["run_warnings"]


def _data_warnings(result) -> list[str]:
    df, start = result.data, pd.Timestamp(result.provenance.get("trading_start") or result.data.index[0])
    traded = df[df.index >= start]
    out = []
    if len(traded) > 1 and float(traded["close"].max()) == float(traded["close"].min()):
        out.append(f"the close price is constant ({float(traded['close'].iloc[0]):g}) over the traded period: "
                   "returns are all zero, so Sharpe ratios and volatility forecasts mean nothing")
    if len(df) and not bool((df["volume"] > 0).any()):
        out.append("the volume column is zero on every bar: volume features carry no information (the LSTM's "
                   "volume input is constant); check the data source")
    return out


def _fallback_warnings(result) -> list[str]:
    """A forecaster that forecast some bars without its exogenous input (HAR-IV falls back to log-HAR, the LSTM-IV
    masks its implied inputs): the share of the traded bars, and the reason."""
    fallbacks = result.provenance.get("input_fallbacks") or {}
    bars = max(int((result.data.index >= pd.Timestamp(result.provenance["trading_start"])).sum()), 1)
    out = []
    source = ", ".join(str(s) for s in (result.provenance.get("inputs") or {}).values())
    for reason, info in fallbacks.items():
        count = int(info.get("bars", 0))
        if count:
            out.append(f"the {result.config.strategy.forecaster} forecaster fell back to {info.get('fallback')} on "
                       f"{count:,} bar(s), {min(count / bars, 1.0):.0%} of the traded bars ({info.get('first')} .. "
                       f"{info.get('last')}): {reason} ({source}); check that the series covers the run")
    return out


def run_warnings(result) -> list[str]:
    """Every warning line of a finished run."""
    out = _data_warnings(result) + _fallback_warnings(result) + list(result.strategy.run_warnings(result))
    if result.broker.orders == 0 and not result.strategy.positions_beside_broker(result):
        out.append("the strategy placed no orders and held no cash-settled position over the traded period (zero "
                   "exposure): check the forecaster's warm-up, [backtest] start and the strategy's parameters")
    return out
