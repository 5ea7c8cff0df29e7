"""Task functions for the executor tests (importable by pool workers)."""

from __future__ import annotations

import os
import time


def sleep_and_report_pid(seconds: float) -> int:
    """Append this worker's PID to $LSTM_STRATEGIES_PID_FILE, then sleep."""
    with open(os.environ["LSTM_STRATEGIES_PID_FILE"], "a") as fh:
        fh.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return os.getpid()
