"""The DVOL-priced put overlay with the calibrated LSTM (issue #29), against the same overlay with 0.3.0's LSTM.

Hold BTC and buy a 30-day 90% put priced at DVOL when the forecast over the option's life exceeds implied
(``backtests/btc_put_overlay_dvol.toml``). The calibrated LSTM (``backtests/btc_put_overlay_dvol_cal.toml``) reads its
own forecasts of the 210 days before the first one, which must be after btc-1h's training (to 2021-12-31): both run
from 2022-08-01 to 2026-04-06 (DVOL's last day). Reported, not a goal: the Sharpe ratios, the puts bought and what
they cost and paid, and the Sharpe difference's stationary-bootstrap p-value with its minimum detectable effect.

    python benchmarks/put_overlay_race.py      # also run by decision_race.py --part variance
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

START = "2022-08-01"
OUT = Path("benchmarks/output/variance_race/put_overlay")
CONFIGS = {"lstm (0.3.0)": ("backtests/btc_put_overlay_dvol.toml", {"backtest.start": START}),
           "lstm calibrated": ("backtests/btc_put_overlay_dvol_cal.toml", {})}


def run(out: Path = OUT) -> pd.DataFrame:
    import torch

    from lstm_strategies.api import load_config
    from lstm_strategies.api import run as run_config

    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    rows, daily = [], {}
    for label, (path, overrides) in CONFIGS.items():
        result = run_config(load_config(path, tearsheet=False, **overrides))
        m, d = result.metrics, result.metrics.get("decision", {})
        daily[label] = result.returns
        keys = {"puts": "puts_bought", "share_hedged": "share_decisions_hedged",
                "premium_over_cash": "premium_paid_over_cash", "payoff_over_cash": "payoff_over_cash",
                "net_option_pnl_over_cash": "net_option_pnl_over_cash"}
        rows.append({"run": label, **{k: m.get(k) for k in ("sharpe", "cagr", "max_drawdown")},
                     **{k: d.get(v) for k, v in keys.items()}})
        print(f"done put overlay {label}", flush=True)
    pd.DataFrame(daily).to_csv(out / "returns.csv")
    table = pd.DataFrame(rows)
    table.to_csv(out / "runs.csv", index=False)
    return table


def lines(out: Path = OUT) -> list[str]:
    from lstm_strategies.stats.bootstrap import sharpe_difference
    from lstm_strategies.stats.power import sharpe_diff_power

    table = pd.read_csv(out / "runs.csv").set_index("run")
    r = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True).dropna()
    a, b = r["lstm calibrated"], r["lstm (0.3.0)"]
    test = sharpe_difference(a, b, 365)
    power = sharpe_diff_power(a.to_numpy(), b.to_numpy(), 365, method="hac")
    text = "; ".join(f"{name}: Sharpe {row.sharpe:.2f}, CAGR {row.cagr:.1%}, MaxDD {row.max_drawdown:.1%}, "
                     f"{row.puts:.0f} puts bought ({row.share_hedged:.0%} of decisions), premiums "
                     f"{row.premium_over_cash:.0%} and payoffs {row.payoff_over_cash:.0%} of the starting cash"
                     for name, row in table.iterrows())
    return [f"put overlay (reported, not a goal; {START} .. 2026-04-06): {text}; calibrated minus 0.3.0 Sharpe "
            f"{test['diff']:+.2f} (bootstrap p {test['pvalue']:.2f}; MDE {power['mde']:.2f}, years to detect "
            f"{power['years_required']:.0f})"]


if __name__ == "__main__":
    run()
    for line in lines():
        print(line)
