"""The one place a live sweep (and a replay) talks to Optuna's pruner."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sweeper.trial_record import FINAL_STEP_KEY
from sweeper.trial_reporter import pruner_step

if TYPE_CHECKING:
    import optuna

    from sweeper.settings import TrainSettings


def prune_hook(
    trial: optuna.Trial, *, settings: TrainSettings | None = None
) -> Callable[[float, int, bool], bool]:
    """The reporter's prune hook for ``trial``: report the value at the step, ask the pruner.

    The one place a live sweep (and a replay, :mod:`sweeper.replay`) talks to Optuna's pruner.
    At the last evaluation the answer is not needed (the trial has finished training).
    With the trial's ``settings``, the pruner step of its schedule's end is recorded on the
    trial for pruners that weigh how much of a schedule is left
    (:class:`sweeper.pruners.CurvePruner`).
    """
    if settings is not None:
        final = pruner_step(settings.num_epochs, settings.evals_per_epoch)
        trial.set_user_attr(FINAL_STEP_KEY, final)

    def hook(value: float, step: int, last: bool) -> bool:
        trial.report(value, step)
        return not last and trial.should_prune()

    return hook
