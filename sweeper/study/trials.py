"""Trials in a shared study: queued sets, retries, counts, slots, stale trials."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sweeper.study.private import trial_id
from sweeper.trial_record import STALE_KEY

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

log = logging.getLogger(__name__)


# A queued set whose trial raised this many times is not queued again: it fails as configured.
REQUEUE_LIMIT = 2


def requeue(study: optuna.Study, queued: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Queue each parameter set of ``sweep.enqueue`` that has no finished trial yet.

    Run on every start, not only when the study is new: a queued trial that was interrupted
    (Ctrl-C, SIGTERM: recorded FAIL) or failed must run when the sweep resumes. A set already
    waiting or running (another worker has it) is not queued twice, nor one whose trial raised
    :data:`REQUEUE_LIMIT` times (interruptions and lost workers do not count): it would fail on
    every start. Returns the sets queued.
    """
    from optuna.trial import TrialState

    def matches(trial: FrozenTrial, params: Mapping[str, Any]) -> bool:
        have = trial.system_attrs.get("fixed_params") or trial.params
        return all(k in have and have[k] == v for k, v in params.items())

    stale = study.user_attrs

    def raised(trial: FrozenTrial) -> bool:  # the objective raised: not a stop from outside
        reason = str(trial.user_attrs.get("reason") or "")
        return (
            bool(reason)
            and not reason.startswith("interrupted")
            and (STALE_KEY.format(trial.number) not in stale)
        )

    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING, TrialState.RUNNING)
    trials = study.get_trials(deepcopy=False)
    alive = [t for t in trials if t.state in live]
    failed = [t for t in trials if t.state == TrialState.FAIL and raised(t)]
    added: list[dict[str, Any]] = []
    for params in queued:
        if params in added or any(matches(t, params) for t in alive):
            continue
        failures = [t for t in failed if matches(t, params)]
        if len(failures) >= REQUEUE_LIMIT:
            log.warning(
                "warning: queued trial %s failed %d times (last, trial %d: %s); not queued "
                "again: fix it or remove it from sweep.enqueue",
                dict(params),
                len(failures),
                failures[-1].number,
                failures[-1].user_attrs.get("reason") or "no reason recorded",
            )
            continue
        study.enqueue_trial(dict(params))
        added.append(dict(params))
    return added


def retry_interrupted(trial: optuna.Trial) -> int | None:
    """Queue the parameters of ``trial``, interrupted (Ctrl-C, SIGTERM), to run again.

    An interruption is not a verdict on the settings: like a trial whose worker was killed
    (:class:`sweeper.study.storage._StaleRetry`), it is retried with the same parameters by the
    next trial to start, here or in another worker, as a WAITING trial whose ``failed_trial``
    system attribute names the original (the run records it as ``retry_of``). The interrupted
    trial itself stays FAIL.
    A trial interrupted before it had any parameter has nothing to retry.

    Called while the interruption propagates, it never raises: a storage that fails here is
    logged (the interruption must still stop the sweep), and the settings are not retried.

    Returns:
        The number of the trial it retries (the original, for a retry of a retry), or ``None``.
    """
    import optuna
    from optuna.trial import TrialState

    try:
        frozen = trial.storage.get_trial(trial_id(trial))
        if not frozen.params:
            return None
        original = int(frozen.system_attrs.get("failed_trial", frozen.number))
        trial.study.add_trial(
            optuna.create_trial(
                state=TrialState.WAITING,
                params=frozen.params,
                distributions=frozen.distributions,
                system_attrs={**frozen.system_attrs, "failed_trial": original},
            )
        )
    except Exception as err:
        log.warning("trial %d: its settings are not queued again (%s)", trial.number, err)
        return None
    return original


@dataclass(frozen=True)
class Counts:
    complete: int
    pruned: int
    failed: int
    running: int

    @property
    def finished(self) -> int:
        """Trials that count towards ``sweep.n_trials``."""
        return self.complete + self.pruned


def count_trials(study: optuna.Study) -> Counts:
    from optuna.trial import TrialState

    states = Counter(t.state for t in study.get_trials(deepcopy=False))
    return Counts(
        complete=states[TrialState.COMPLETE],
        pruned=states[TrialState.PRUNED],
        failed=states[TrialState.FAIL],
        running=states[TrialState.RUNNING],
    )


def claims_a_slot(trial: optuna.Trial, n_trials: int) -> bool:
    """Whether ``trial`` (just started) is among the first ``n_trials`` counted trials.

    Workers check the study's counts and then start a trial; two workers can both see one
    slot left and both start. Trial numbers are handed out atomically by the storage, so every
    worker agrees which trials came first: a trial with ``n_trials`` finished or running
    trials numbered before it is one too many.
    """
    from optuna.trial import TrialState

    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    ahead = sum(
        1 for t in trial.study.get_trials(deepcopy=False, states=counted) if t.number < trial.number
    )
    return ahead < n_trials


def release_trial(trial: optuna.Trial) -> None:
    """Put a trial that is not needed back in the queue (WAITING) instead of running it.

    It keeps its number and is the first one a later run with a larger ``sweep.n_trials`` (or
    a retry of a failed trial) picks up; it never counts as finished or failed.
    """
    from optuna.trial import TrialState

    trial.storage.set_trial_state_values(trial_id(trial), state=TrialState.WAITING)


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail (and queue for retry) trials whose worker stopped sending heartbeats."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
