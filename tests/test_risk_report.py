"""trading.risk_report: a run's 1-day VaR/ES verdicts from its recorded origins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstm_strategies.stats import risk_backtests as B
from lstm_strategies.trading.risk_report import origin_risk, risk_block


def origins(n: int = 700, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2022-01-01 23:00", periods=n, freq="D", tz="UTC")
    var = np.full(n, 4e-4)
    close = 100 * np.exp(np.cumsum(np.r_[0.0, rng.standard_normal(n - 1) * 0.02]))
    return pd.DataFrame({"variance": var, "close": close}, index=idx)


def test_the_block_scores_the_days_from_start():
    o = origins()
    block = risk_block(o, "2023-01-01")
    risk = origin_risk(o)
    assert risk["ret"].iloc[0] == pytest.approx(np.log(o["close"].iloc[1] / o["close"].iloc[0]))
    days = risk[(risk.index >= pd.Timestamp("2023-01-01", tz="UTC")) & risk["ret"].notna()]
    assert block["days"] == len(days) and block["fallback_share"] == 0.0
    hits = B.breaches(days["ret"], days["var_long"], "long")
    assert block["long"]["breaches"] == int(hits.sum())
    assert {"kupiec_p", "cc_p", "zones", "es_ratio", "mcneil_frey_p"} <= set(block["short"])
    early = risk_block(o, None)
    assert early["fallback_share"] > 0.3               # the first 250 days: the t5 fallback


def test_too_little_to_score():
    assert risk_block(None) == {} and risk_block(origins(20)) == {}
