"""A config to a finished run: the config schema, the run spec resolved once, the runner.

``from lstm_strategies.backtest import run_backtest, BacktestConfig`` keeps working.
"""

from lstm_strategies.backtest.config import BacktestConfig, read_toml
from lstm_strategies.backtest.runner import BacktestResult, daily_returns, run_backtest, turnover_per_year

__all__ = ["BacktestConfig", "BacktestResult", "daily_returns", "read_toml", "run_backtest", "turnover_per_year"]
