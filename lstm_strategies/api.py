"""The Python API for scripts and notebooks: load a config, override keys, run it, look at the result.

::

    from lstm_strategies.api import load_config, run

    config = load_config("backtests/btc_vol_target_lstm.toml", **{"params.target_vol": 0.3})
    result = run(config)
    result.metrics["sharpe"], result.metrics["decision"]["te30"]   # every number of metrics.json
    result.returns        # daily strategy returns (a Series)
    result.records        # what the strategy did on each bar (forecast, weights, ...)
    result.summary()      # the headline table, formatted
    result.write("backtests/output/my_run")   # tearsheet.html, metrics.json, returns.csv, plots

:func:`compare` runs several configs and writes their reports side by side. The CLI is a thin layer
over these functions (``lstm-strategies backtest`` is :func:`run` then :meth:`Result.write`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lstm_strategies.backtest.config import apply_overrides, read_toml, validate_config
from lstm_strategies.backtest.runner import BacktestConfig, BacktestResult, run_backtest
from lstm_strategies.core.errors import ConfigError

__all__ = ["Result", "compare", "load_config", "run"]


def load_config(source: str | Path | dict, **overrides) -> BacktestConfig:
    """A validated config from a TOML file (or a dict of its tables), with ``overrides`` applied.

    Override keys as in :meth:`BacktestConfig.with_overrides`: ``"params.target_vol"``,
    ``"forecaster"``, ``commission``, ``"data.start"``...
    """
    if isinstance(source, dict):
        raw, path = source, "<dict>"
    elif isinstance(source, (str, Path)):
        raw, path = read_toml(source, "config"), str(source)
    else:
        raise ConfigError(f"load_config({source!r}): give a TOML file's path or a dict of its tables")
    return validate_config(apply_overrides(raw, overrides, path) if overrides else raw, path)  # validated once


@dataclass
class Result:
    """One finished run: its returns, records per bar, metrics and provenance, and its report."""

    backtest: BacktestResult
    _report: object = field(default=None, repr=False)

    @property
    def config(self) -> BacktestConfig:
        return self.backtest.config

    @property
    def returns(self) -> pd.Series:
        """Daily strategy returns from the trading start (after costs)."""
        return self.backtest.returns

    @property
    def benchmark(self) -> pd.Series:
        """Daily buy-and-hold returns of the same asset."""
        return self.backtest.benchmark

    @property
    def records(self) -> pd.DataFrame:
        """One row per traded bar: forecast volatility, target and held weights, hedge ratio, value..."""
        return self.backtest.records

    @property
    def provenance(self) -> dict:
        return self.backtest.provenance

    @property
    def report(self):
        """The run's typed report (:class:`~lstm_strategies.reports.run_report.RunReport`), computed once."""
        from lstm_strategies.reports.run_report import RunReport

        if self._report is None:
            self._report = RunReport.of(self.backtest)
        return self._report

    @property
    def metrics(self) -> dict:
        """Every number ``metrics.json`` holds (fractions; see :mod:`lstm_strategies.core.declarations`)."""
        return self.report.to_dict()

    def summary(self) -> pd.DataFrame:
        """The headline table (this run and buy-and-hold), in the units people read."""
        from lstm_strategies.reports.metrics import format_table, summary_table

        return format_table(summary_table({self.config.name: self.metrics}))

    def show(self) -> None:
        """Print the headline table and the run's warnings."""
        from lstm_strategies.reports.write import print_summary

        print_summary({self.config.name: self.metrics})

    def write(self, folder: str | Path, tearsheet: bool | None = None) -> Path:
        """Write the report (tearsheet.html, metrics.json, returns.csv, plots) into ``folder``, atomically."""
        from lstm_strategies.reports.write import write_report

        write_report(self.backtest, folder, tearsheet, report=self.report)
        return Path(folder)


def run(config: BacktestConfig | str | Path, data: str | pd.DataFrame | None = None, runonce: bool = True,
        progress: bool = False) -> Result:
    """Run one config (a :class:`BacktestConfig` or a TOML path) on its data, or on ``data`` (a dataset
    name, a file, or a frame of bars)."""
    config = config if isinstance(config, BacktestConfig) else load_config(config)
    if isinstance(data, pd.DataFrame):
        from lstm_strategies.data.bars import normalise_frame

        frame = config.select(normalise_frame(data, tz=config.data.tz, what="run(data=...)"), "the frame given")
    else:
        frame = config.load_data(data)
    return Result(run_backtest(config, frame, runonce=runonce, progress=progress))


def compare(configs: list[str | Path | BacktestConfig], out: str | Path, data: str | None = None,
            progress: bool = True) -> pd.DataFrame:
    """Run several configs; write each one's report, the comparison table and ``index.html`` into ``out``.

    The whole folder is written beside ``out`` and swapped in at the end. Returns the raw table.
    """
    from tqdm.auto import tqdm

    from lstm_strategies.core.atomic import check_destination, child, output_folder
    from lstm_strategies.reports.write import print_summary, write_comparison, write_report

    if isinstance(configs, (str, Path, BacktestConfig)) or not len(configs):
        raise ConfigError(f"compare({configs!r}): give a list of one or more configs (TOML paths or BacktestConfig)")
    loaded = [c if isinstance(c, BacktestConfig) else load_config(c) for c in configs]  # all checked first
    names = [c.name for c in loaded]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"two configs share the name(s) {twice}; each run needs its own folder")
    out = check_destination(out)
    all_metrics = {}
    with output_folder(out, "comparison") as tmp:
        for cfg in tqdm(loaded, desc="backtests", unit="run", leave=False, disable=not progress):
            result = run_backtest(cfg, cfg.load_data(data), progress=progress)
            all_metrics[cfg.name] = write_report(result, child(tmp, cfg.name, "config name"))
        table = write_comparison(all_metrics, tmp)
    print_summary(all_metrics)
    print(f"\nwrote {out}/comparison.csv, comparison.md and index.html, and a folder per run")
    return table
