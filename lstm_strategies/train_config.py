"""The hyper-parameters of one training run (no torch: the CLI reads their defaults at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_strategies.calendar import get_calendar, validate_horizons


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run: the one place their defaults live (the CLI reads them).

    The defaults (window 48 bars, 8 hidden units per seed, weight decay 1e-3, learning rate 1e-3)
    were chosen on the 2021 validation year of BTC/USDT hourly only (``benchmarks/lstm_grid.py``).
    ``horizons`` defaults to the calendar's (1/7/30 days for crypto, 1/5/21 trading days for equities).
    """

    window: int = 48
    horizons: list[int] | None = None
    hidden_size: int = 8
    num_layers: int = 1
    dropout: float = 0.0
    lr: float = 1e-3
    har_lr: float = 1e-4
    weight_decay: float = 1e-3
    batch_size: int = 256
    max_epochs: int = 30
    patience: int = 5
    val_days: int = 365
    relative: bool = True
    seed: int = 0
    calendar: str = "crypto"
    device: str = "cpu"
    #: torch threads while training (restored afterwards; None keeps torch's setting): the count changes
    #: the trained weights (8 threads train another model than 1), so it is fixed; one is also fastest here
    threads: int | None = 1

    def resolved_horizons(self) -> list[int]:
        return list(validate_horizons(self.horizons, get_calendar(self.calendar)))
