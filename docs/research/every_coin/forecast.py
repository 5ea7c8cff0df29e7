"""The two forecasters of the design, as prototypes on a whole frame (batched).

* :func:`zero_shot`: the pretrained (pooled) correction, frozen, times the shrinkage head refit
  every 30 days on the coin's own expanding history toward the pretraining prior.
* :func:`refitting`: the same head times the correction of the fold's fine-tuned network (every
  6 months from ``first_end``; the pretrained network where a fold cannot be trained).

Neither reads a bar after the one it forecasts at: the head's refits use rows whose target is
known at the refit bar, a fold's fine-tuning uses bars up to its end and forecasts after it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common import Panel
from finetune import FineTuneConfig, head_forecast, refitting_correction
from pooled import Pretrained
from shrink import HeadPrior


def zero_shot(pre: Pretrained, df: pd.DataFrame, design: dict, prior: HeadPrior | None = None,
              panel: Panel | None = None) -> np.ndarray:
    panel = panel or Panel(df, pre.horizons)
    return head_forecast(panel, prior or pre.prior_ols, design) * pre.correction(panel.feats)


def refitting(pre: Pretrained, df: pd.DataFrame, design: dict, cfg: FineTuneConfig, first_end: str,
              prior: HeadPrior | None = None, stop: str | None = None, fold_log: list | None = None,
              panel: Panel | None = None) -> np.ndarray:
    prior = prior or pre.prior_ols
    panel = panel or Panel(df, pre.horizons)
    corr = refitting_correction(pre, df, first_end, prior, design, cfg, stop=stop, fold_log=fold_log)
    return head_forecast(panel, prior, design) * corr
