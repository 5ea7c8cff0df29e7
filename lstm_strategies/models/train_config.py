"""The hyper-parameters of one training run (no torch: the CLI reads their defaults at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from lstm_strategies.data.calendar import get_calendar, validate_horizons


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
    #: torch threads while training (restored afterwards; None keeps torch's setting): the count can change
    #: the trained weights (8 threads train another model than 1), so it is fixed; two ran 25% faster on an
    #: idle 2-core machine (benchmarks/train_speed.py --threads 2) but would tie the weights to the machine
    threads: int | None = 1

    def resolved_horizons(self) -> list[int]:
        return list(validate_horizons(self.horizons, get_calendar(self.calendar)))


@dataclass
class FineTuneConfig:
    """How a self-refitting fold fine-tunes pretrained weights (``lstm_refit(init=...)``; see
    :mod:`lstm_strategies.models.finetune`). The defaults are the design chosen on BTC/ETH up to 2021-12-31
    (``docs/research/every_coin/REPORT.md`` section 4.3): the correction's read-out only, at most 5 epochs at
    lr 1e-4 pulled toward the pretrained weights (L2-SP 1.0), forecasting with the mean of the fine-tuned
    and the pretrained correction (``mix`` 0.5), validation on ``min(365, history / 4)`` days, and no fold
    below 1,024 training or 100 validation windows (the pretrained network forecasts then).
    """

    lr: float = 1e-4
    max_epochs: int = 5
    patience: int = 3
    val_frac: float = 0.25
    val_max_days: float = 365.0
    min_train_windows: int = 1024
    min_val_windows: int = 100
    mix: float = 0.5
    l2sp: float = 1.0
    batch_size: int = 256
    weight_decay: float = 1e-3
    seed: int = 0
    #: torch threads while fine-tuning (restored afterwards): fixed, as for training
    threads: int | None = 1

    def val_days(self, history_days: float) -> float:
        """Validation days of a fold whose history is ``history_days`` long."""
        return min(self.val_max_days, self.val_frac * history_days)
