"""Studies on top of runs and forecasts: forecast evaluation, the comparison with implied variance,
walk-forward forecasts and parameter sweeps."""
