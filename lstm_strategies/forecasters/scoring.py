"""What ``evaluate`` offers every registered forecaster, and the order its columns are scored in.

``evaluate`` never names a forecaster by hand: it asks every class in the registry (built-ins,
entry points and ``--plugin`` modules alike) for :meth:`~lstm_strategies.forecasters.base.Forecaster.scoring_params`
given one :class:`ScoringSetup`; a class answering ``None`` sits the race out (an input not given,
no refit interval asked for, no LSTM-IV model named, or ``scored_by_default = False`` and not asked for).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: the baseline every other forecaster is compared with (first among the baselines)
REFERENCE = "log_har"


@dataclass(frozen=True)
class ScoringSetup:
    """The settings of one evaluation, as the forecasters see them.

    Parameters
    ----------
    model : str
        The pretrained LSTM checkpoint scored (``evaluate --model``).
    horizons : tuple of int
        Horizons in days (the model card's).
    calendar : str
        The calendar (the model card's).
    inputs : frozenset of str
        Exogenous series given (``{"implied_vol"}`` with ``--implied``).
    iv_model : str, optional
        The LSTM-IV checkpoint scored, if any.
    refit : mapping, optional
        Arguments of the self-refitting models (``refit_every``, ``first_train_end``, ``horizons`` and
        ``--refit-*`` options); ``None``: no self-refitting model is scored.
    """

    model: str
    horizons: tuple[int, ...]
    calendar: str
    inputs: frozenset[str] = frozenset()
    iv_model: str | None = None
    refit: Mapping | None = field(default=None)

    def has_inputs(self, cls: type) -> bool:
        """Whether every exogenous series ``cls`` reads is given."""
        return set(cls.inputs) <= self.inputs


def scoring_order(cls: type) -> tuple:
    """Sort key of the scored columns: the models first (bars-only before implied-aware, each fixed
    before self-refitting), then the reference baseline, then the others by name."""
    is_model = cls.kind == "model"
    return (not is_model, (bool(cls.inputs), cls.refits) if is_model else (), cls.name != REFERENCE, cls.name)


def scored(setup: ScoringSetup) -> dict[str, tuple[str, dict]]:
    """Column -> (registry name, constructor arguments) of every registered forecaster taking part in ``setup``,
    in :func:`scoring_order` (built-ins, entry points and loaded plugins alike)."""
    from lstm_strategies.forecasters.registry import REGISTRY

    out = {}
    for cls in sorted(REGISTRY.values(), key=scoring_order):
        params = cls.scoring_params(setup)
        if params is not None:
            out[cls.name] = (cls.name, params)
    return out


__all__ = ["REFERENCE", "ScoringSetup", "scored", "scoring_order"]
