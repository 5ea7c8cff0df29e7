"""The hedged straddles' collateral: 0.3.0's implied shock against the ES from the forecast (issue #30).

Runs ``backtests/{btc,eth}_straddle_es_margin.toml`` (always-sell ladders of 30-day ATM straddles, delta-hedged
daily in a 5% band, 2023-01-01 .. 2026-04-06; collateral: the held book's 7-day 97.5% ES from the LSTM-IV's
forecasts, each straddle and the hedge priced in full per scenario, with the shock margin kept beside it) and
prints, per asset and collateral, the days whose loss on the held book exceeded the collateral held at the
previous close, the worst loss/collateral, and the same for the ES rescaled to the shock margin's mean.

    python benchmarks/straddle_margin.py [--out benchmarks/output/straddle_margin]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lstm_strategies.api import load_config, run


def rows(name: str, report) -> list[str]:
    book = report.backtest.extras["book"]
    es = report.backtest.extras["es_collateral"]
    scale = es["es_over_shock_mean"]       # mean ES over mean shock margin, on the days both exist
    shock, own = book["shock_loss_over_margin"], book["loss_over_margin"]
    equal = own * scale
    return [f"| {name} | 1.5x implied shock (0.3.0) | {int((shock > 1).sum())} | {shock.max():.2f}x | 1 |",
            f"| {name} | ES 7 days 97.5%, LSTM-IV | {int((own > 1).sum())} | {own.max():.2f}x | {scale:.2f} |",
            f"| {name} | ES, rescaled to the shock's mean | {int((equal > 1).sum())} | {equal.max():.2f}x | 1 |"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/output/straddle_margin")
    args = parser.parse_args(argv)
    lines = ["| asset | collateral | days loss > collateral | worst loss / collateral | mean over shock's |",
             "|---|---|---|---|---|"]
    for asset in ("btc", "eth"):
        config = load_config(f"backtests/{asset}_straddle_es_margin.toml", **{"report.tearsheet": False})
        lines += rows(asset.upper(), run(config))
    text = "\n".join(lines) + "\n"
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "table.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
