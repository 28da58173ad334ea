"""A user's own pruner and sampler, named by ``_target_`` like Optuna's (tests/test_run.py)."""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial


class EveryOtherPruner(optuna.pruners.BasePruner):
    """Prunes every odd-numbered trial at its first report; the others run to their end."""

    def __init__(self, *, first_step: int = 1) -> None:
        self.first_step = first_step

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        return trial.number % 2 == 1 and trial.last_step == self.first_step


class LoggedSampler(optuna.samplers.RandomSampler):
    """Optuna's random sampler that counts the trials it saw (:data:`SEEN`)."""

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        SEEN.append(trial.number)
        super().before_trial(study, trial)


SEEN: list[int] = []
