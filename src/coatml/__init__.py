"""coatml: rank and propose ALD/MLD interface coatings for solid-state lithium batteries.

Importing :mod:`coatml` is cheap: the heavy libraries (matminer, xgboost, mlflow, optuna) load
only inside the functions that need them.
"""

__version__ = "0.1.0"
