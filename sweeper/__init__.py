"""sweeper: hyperparameter sweeps and epoch tuning for fine-tuning transformer models.

Hydra configs define the search space, Optuna runs trials with early stopping and pruning,
MLflow records every trial; ``python -m sweeper +experiment=glue`` runs the default sweep.

The names below are the public API for a training loop of your own (docs/guides/your-loop.md):
``objective: mymodule.train`` names a function ``train(settings, reporter, *, device)`` that
trains with the :class:`TrainSettings` of a trial, plans its steps with
``settings.plan(num_examples)``, builds its schedule with :func:`build_scheduler` and calls the
:class:`Reporter`. Importing ``sweeper`` loads none of torch, transformers, Optuna or MLflow.
"""

from __future__ import annotations

from sweeper.errors import ConfigError, DataError, NonFiniteLossError, SweeperError
from sweeper.objective import Decision, Objective, Reporter, TaskInfo, build_scheduler
from sweeper.schedule import SCHEDULERS, StepPlan, is_update_batch
from sweeper.settings import TrainSettings

__version__ = "0.1.0"

__all__ = [
    "SCHEDULERS",
    "ConfigError",
    "DataError",
    "Decision",
    "NonFiniteLossError",
    "Objective",
    "Reporter",
    "StepPlan",
    "SweeperError",
    "TaskInfo",
    "TrainSettings",
    "__version__",
    "build_scheduler",
    "is_update_batch",
]
