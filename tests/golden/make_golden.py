"""Write the stored copies that ``tests/test_golden.py`` compares every later version with.

Run from the repository root (``python tests/golden/make_golden.py``) only when a change of numbers
is intended and explained in README ("What changed the numbers"); the copies in this folder were
written by lstm-strategies 0.3.0, before the run spec and the layout of 0.4.0, so that the
restructuring is checked to change nothing a user sees.
"""

from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

#: (stored name, config file, overrides): the main job in full, and one short run of every strategy kind
RUNS = [
    ("btc_vol_target_lstm", "btc_vol_target_lstm.toml", {}),
    ("btc_synthetic_put_lstm", "btc_synthetic_put_lstm.toml", {}),
    ("vol_target_ewma_short", "btc_vol_target_ewma.toml",
     {"data.start": "2021-10-01", "data.end": "2022-06-30", "params.target_vol": 0.3}),
    ("vol_target_garch_weekly", "btc_vol_target_garch.toml",
     {"data.start": "2021-03-01", "data.end": "2022-03-31", "params.rebalance": "weekly"}),
    ("collar_lstm_short", "btc_collar_lstm.toml", {"data.start": "2021-06-01", "data.end": "2022-04-30"}),
    ("put_overlay_dvol_short", "btc_put_overlay_dvol.toml", {"data.start": "2021-06-01", "data.end": "2022-06-30"}),
    ("short_variance_always_short", "btc_short_variance_always.toml",
     {"data.start": "2022-06-01", "data.end": "2023-06-30"}),
    ("short_variance_sized_har_iv_short", "btc_short_variance_sized_har_iv.toml",
     {"data.start": "2021-06-01", "data.end": "2023-04-30"}),
    ("straddle_always_short", "eth_short_variance_always.toml",
     {"strategy": "hedged_straddle", "params.rule": "always", "params.implied_vol": "eth_dvol_daily",
      "params.entries_until": "2023-05-31", "data.start": "2022-06-01", "data.end": "2023-06-30",
      "name": "straddle_always_short"}),
    ("spx_demo_short", "spx_vol_target_demo.toml", {"data.start": "2009-01-01", "data.end": "2012-12-31"}),
]


def main() -> None:
    from lstm_strategies.api import load_config, run
    from lstm_strategies.reports.metrics import format_table, summary_table

    tables = {}
    for name, file, overrides in RUNS:
        config = load_config(ROOT / "backtests" / file, **overrides)
        result = run(config)
        metrics = result.metrics
        (HERE / f"{name}.json").write_text(json.dumps({"config": file, "overrides": overrides,
                                                       "metrics": metrics}, indent=1) + "\n")
        tables[name] = metrics
        print(f"{name}: sharpe {metrics.get('sharpe')}", file=sys.stderr)
    main_job = {k: tables[k] for k in ("btc_vol_target_lstm", "btc_synthetic_put_lstm")}
    buf = io.StringIO()
    with redirect_stdout(buf):
        print(format_table(summary_table(main_job)).to_string())
    (HERE / "main_job_table.txt").write_text(buf.getvalue())


if __name__ == "__main__":
    main()
