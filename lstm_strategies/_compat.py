"""The import paths of 0.3.0, kept for one release: each loads its new module with a DeprecationWarning.

0.4.0 moved the flat package into layer subpackages (README: Layout). ``import lstm_strategies.btfeed``
still works until {REMOVED_IN}, giving the module ``lstm_strategies.trading.feed`` itself (one object:
classes and state are shared) and a warning that names the new path. The packages that kept their
names (``lstm_strategies.data``, ``features``, ``backtest``, ``reports``, ``cli``, ``forecasters``,
``strategies``) re-export what their modules exported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: the release that drops the old paths
REMOVED_IN = "0.5.0"

#: old module -> new module
MOVED: dict[str, str] = {
    'lstm_strategies.atomic': 'lstm_strategies.core.atomic',
    'lstm_strategies.bars': 'lstm_strategies.data.bars',
    'lstm_strategies.bootstrap': 'lstm_strategies.stats.bootstrap',
    'lstm_strategies.btfeed': 'lstm_strategies.trading.feed',
    'lstm_strategies.calendar': 'lstm_strategies.data.calendar',
    'lstm_strategies.checkpoint': 'lstm_strategies.models.checkpoint',
    'lstm_strategies.checks': 'lstm_strategies.core.checks',
    'lstm_strategies.config': 'lstm_strategies.backtest.config',
    'lstm_strategies.dashboard': 'lstm_strategies.reports.dashboard',
    'lstm_strategies.datasets': 'lstm_strategies.data.datasets',
    'lstm_strategies.declarations': 'lstm_strategies.core.declarations',
    'lstm_strategies.errors': 'lstm_strategies.core.errors',
    'lstm_strategies.evaluation': 'lstm_strategies.research.evaluation',
    'lstm_strategies.evaluation_cli': 'lstm_strategies.cli.evaluate',
    'lstm_strategies.executors': 'lstm_strategies.core.executors',
    'lstm_strategies.exogenous': 'lstm_strategies.market.exogenous',
    'lstm_strategies.fetch': 'lstm_strategies.data.fetch',
    'lstm_strategies.finetune': 'lstm_strategies.models.finetune',
    'lstm_strategies.fold_training': 'lstm_strategies.models.folds',
    'lstm_strategies.forecasters.lstm': 'lstm_strategies.models.lstm',
    'lstm_strategies.forecasters.lstm_iv': 'lstm_strategies.models.lstm_iv',
    'lstm_strategies.forecasters.lstm_iv_refit': 'lstm_strategies.models.lstm_iv_refit',
    'lstm_strategies.forecasters.lstm_refit': 'lstm_strategies.models.lstm_refit',
    'lstm_strategies.forecasters.streaming': 'lstm_strategies.models.streaming',
    'lstm_strategies.implied': 'lstm_strategies.market.implied',
    'lstm_strategies.implied_features': 'lstm_strategies.features.implied',
    'lstm_strategies.indicators': 'lstm_strategies.trading.indicators',
    'lstm_strategies.ledger': 'lstm_strategies.trading.ledger',
    'lstm_strategies.metrics': 'lstm_strategies.reports.metrics',
    'lstm_strategies.model': 'lstm_strategies.models.network',
    'lstm_strategies.model_card': 'lstm_strategies.models.card',
    'lstm_strategies.plotting': 'lstm_strategies.core.plotting',
    'lstm_strategies.pricing': 'lstm_strategies.trading.pricing',
    'lstm_strategies.readers': 'lstm_strategies.core.readers',
    'lstm_strategies.registry': 'lstm_strategies.core.registry',
    'lstm_strategies.report_plots': 'lstm_strategies.reports.plots',
    'lstm_strategies.sweep': 'lstm_strategies.research.sweep',
    'lstm_strategies.tearsheet': 'lstm_strategies.reports.tearsheet',
    'lstm_strategies.timestamps': 'lstm_strategies.data.timestamps',
    'lstm_strategies.train_config': 'lstm_strategies.models.train_config',
    'lstm_strategies.training': 'lstm_strategies.models.training',
    'lstm_strategies.training_iv': 'lstm_strategies.models.training_iv',
    'lstm_strategies.training_pooled': 'lstm_strategies.models.training_pooled',
    'lstm_strategies.variance': 'lstm_strategies.trading.variance',
    'lstm_strategies.versus_implied': 'lstm_strategies.research.versus_implied',
    'lstm_strategies.walkforward': 'lstm_strategies.research.walkforward',
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the new module (the same object)."""

    def find_spec(self, fullname, path, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new} in 0.4.0; the old import path works until {REMOVED_IN}",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(new)

    def exec_module(self, module) -> None:
        pass


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MovedModuleFinder())
