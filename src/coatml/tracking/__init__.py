"""coatml.tracking: MLflow runs, pyfunc model packaging, registry and champion/challenger.

Importing this package does not import mlflow or matplotlib; names are resolved lazily.

- :mod:`coatml.tracking.runs` -- :class:`Tracker` (where runs live), :func:`log_training`.
- :mod:`coatml.tracking.pyfunc` -- :class:`CoatmlModel`, the pickle-free pyfunc model.
- :mod:`coatml.tracking.registry` -- :func:`register_and_maybe_promote`, :func:`list_models`,
  :func:`show_model`, :func:`promote`, :func:`load_champion`.
- :mod:`coatml.tracking.plots` -- parity, feature-importance and calibration figures.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Tracker": "runs",
    "TrainingRun": "runs",
    "log_training": "runs",
    "oof_frame": "runs",
    "report_metrics": "runs",
    "code_version": "runs",
    "PRIMARY_METRIC": "runs",
    "CoatmlModel": "pyfunc",
    "log_pyfunc_model": "pyfunc",
    "PromotionResult": "registry",
    "LoadedModel": "registry",
    "model_name": "registry",
    "register_and_maybe_promote": "registry",
    "list_models": "registry",
    "show_model": "registry",
    "promote": "registry",
    "load_model": "registry",
    "load_champion": "registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'coatml.tracking' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"coatml.tracking.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
