"""A sweep's trials: each one sampled, trained with a reporter and recorded; the loop that runs
them until the study is done, with other workers, heartbeats and signals.

:func:`sweeper.run.open_sweep` opens a :class:`Sweep`; :meth:`Sweep.run` runs it.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.checks import Checked
from sweeper.objective import Objective, TaskInfo
from sweeper.outages import disk_failure
from sweeper.progress import Progress
from sweeper.secrets import redact
from sweeper.signals import Interrupted, SignalGate, signals_interrupt
from sweeper.study import (
    claims_a_slot,
    count_trials,
    fail_stale_trials,
    prune_hook,
    release_trial,
    retry_interrupted,
    trial_id,
)
from sweeper.tracking import NullRun, Tracker
from sweeper.train_once import new_reporter, train_once
from sweeper.trial_record import TrialAttrs
from sweeper.trial_reporter import TrialReporter

if TYPE_CHECKING:
    import optuna

log = logging.getLogger("sweeper")


class NotNeeded(BaseException):
    """The trial just started is one more than the study needs (another worker took the slot).

    A BaseException (not an Exception) so that Optuna neither records the trial as FAIL nor
    catches it: the trial was already put back in the queue (WAITING).
    """


class Superseded(BaseException):
    """Another worker failed this worker's running trial as stale (see :meth:`Sweep.trial`).

    A BaseException for the same reason as :class:`NotNeeded`: Optuna must not try to record
    a trial that is already finished.
    """

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


@dataclass
class Sweep:
    """An open sweep: everything its trials need (:func:`sweeper.run.open_sweep` builds it)."""

    checked: Checked
    objective: Objective
    info: TaskInfo
    study: optuna.Study
    tracker: Tracker | None
    progress: Progress
    device: str
    monitor: str
    direction: str
    storage: Mapping[str, Any]  # the storage node (grace_period, for the messages)
    run_dir: Path
    mine: list[str] = field(default_factory=list)  # states of trials run by this process
    reasons: list[str] = field(default_factory=list)
    gate: SignalGate = field(default_factory=SignalGate)
    # Seconds between looks at trials running elsewhere (the heartbeat interval); None: no
    # heartbeats, so a worker leaves instead of waiting to retry a trial whose worker died.
    wait_s: float | None = None

    def trial(self, trial: optuna.Trial) -> float:
        """One Optuna trial, unless the study has enough (:class:`NotNeeded`) or another worker
        failed it as stale while it ran (:class:`Superseded`)."""
        import optuna

        if not claims_a_slot(trial, self.checked.sweep.n_trials):
            release_trial(trial)
            raise NotNeeded
        try:
            return self._run_trial(trial)
        except optuna.exceptions.UpdateFinishedTrialError:
            # This worker went without a heartbeat for storage.grace_period (suspended, swapping,
            # a stalled filesystem): another worker failed the trial, closed its tracking run and
            # queued its retry. Nothing more can be recorded for it, and telling Optuna would
            # raise; the retry stands in for it. It counts as a failure of this worker, so one
            # that keeps losing its trials this way stops (sweep.max_failure_rate).
            self.mine.append("FAIL")
            self.reasons.append("failed by another worker: no heartbeat for grace_period")
            raise Superseded(trial.number) from None

    def _run_trial(self, trial: optuna.Trial) -> float:
        """Sample, train with a reporter, record, return the best value.

        Every way out is recorded: COMPLETE (best value), PRUNED (pruner, divergence,
        non-finite loss; with the reason), FAIL (any exception, with its one-line reason;
        interrupted trials are FAIL in Optuna and KILLED in tracking).
        """
        import optuna

        mlrun: Any = NullRun()
        reporter: TrialReporter | None = None
        try:
            with self.gate.opened():  # SIGINT/SIGTERM interrupt sampling and training
                params = self.checked.space.sample(trial)
                settings = self.checked.train.replace(params)
                system_attrs = trial.storage.get_trial_system_attrs(trial_id(trial))
                retry_of = system_attrs.get("failed_trial")
                self.progress.trial_begins(trial.number, params)
                if self.tracker is not None:
                    mlrun = self.tracker.start_trial(
                        trial.number,
                        params={**settings.as_params(), "data.source": self.info.source},
                        tags={"retry_of": retry_of} if retry_of is not None else {},
                    )
                started = TrialAttrs(
                    tracking_run_id=mlrun.run_id if self.tracker is not None else None,
                    settings=settings.as_params(),
                    recipe=self._recipe(system_attrs.get("fixed_params")),
                    retry_of=retry_of,
                )
                _write(trial, started.to_attrs("tracking_run_id", "settings", "recipe", "retry_of"))
                reporter = new_reporter(
                    settings,
                    monitor=self.monitor,
                    direction=self.direction,
                    chance=self.info.chance.get(self.monitor),
                    prune=prune_hook(trial, settings=settings),
                    curves=mlrun,
                    watcher=self.progress,
                )
                train_once(self.objective, settings, reporter, device=self.device)
        except BaseException as err:
            interrupted = isinstance(err, KeyboardInterrupt)
            if interrupted:
                reason = (
                    f"interrupted ({err.signame if isinstance(err, Interrupted) else 'SIGINT'})"
                )
            else:
                first = str(err).splitlines()[0] if str(err) else ""
                reason = redact(f"{type(err).__name__}: {first}")
                log.debug("trial %d failed", trial.number, exc_info=True)
            summary = {} if reporter is None else reporter.outcome.summary(self.info.metric)
            _write(trial, TrialAttrs.ended(reporter, reason=reason, metric=self.info.metric))
            mlrun.finish(
                "FAIL",
                summary=summary,
                tags={"sweeper.reason": reason},
                status="KILLED" if interrupted else None,
            )
            self.progress.trial_ends(trial.number, "FAIL", None, reason)
            self.mine.append("FAIL")
            self.reasons.append(reason)
            if interrupted:  # not a verdict on the settings: they run again, as after kill -9
                retry_interrupted(trial)
            raise
        outcome = reporter.outcome
        _write(trial, TrialAttrs.ended(reporter, reason=outcome.reason, metric=self.info.metric))
        state = "PRUNED" if outcome.pruned else "COMPLETE"
        mlrun.finish(
            state,
            summary=outcome.summary(self.info.metric),
            tags={"sweeper.reason": outcome.reason, "sweeper.stop": outcome.stop},
        )
        value = None if outcome.best is None else outcome.best.value
        self.progress.trial_ends(
            trial.number, state, value if state == "COMPLETE" else None, outcome.reason
        )
        self.mine.append(state)
        if outcome.pruned:
            raise optuna.TrialPruned(outcome.reason)
        assert outcome.best is not None
        return outcome.best.value

    def _recipe(self, fixed: Mapping[str, Any] | None) -> str | None:
        """The portfolio recipe whose queued params this trial runs (a retry of one too)."""
        if not fixed:
            return None
        return next((r.name for r in self.checked.start.recipes if r.params == dict(fixed)), None)

    def next_step(self) -> tuple[str | None, int]:
        """``(why no further trial should start here, or None; trials to wait for)``.

        With heartbeats, a worker whose remaining trials all run in other workers waits for them
        rather than leaving (the second value > 0), since if one's worker dies, its trial goes
        stale and a live worker must be there to retry it.
        """
        if self.mine[-1:] == ["FAIL"]:  # a full or read-only disk fails every trial: stop
            full = disk_failure(self.reasons[-1], folder=self.checked.results_dir)
            if full is not None:
                raise full
        counts = count_trials(self.study)
        n = self.checked.sweep.n_trials
        if counts.finished >= n:
            return f"the study has its {n} trials", 0
        failed = self.mine.count("FAIL")
        if len(self.mine) >= 4 and failed / len(self.mine) > self.checked.sweep.max_failure_rate:
            common, times = Counter(self.reasons).most_common(1)[0]
            return (
                f"{failed} of {len(self.mine)} trials failed here (sweep.max_failure_rate="
                f"{self.checked.sweep.max_failure_rate}); most common: {common!r} x{times}"
            ), 0
        if counts.finished + counts.running >= n:
            if self.wait_s is None:
                return f"the remaining {counts.running} trial(s) are running in other workers", 0
            return None, counts.running
        return None, 0

    def run(self) -> str:
        """Run trials until the study has its trials, the sweep's time is up or too many fail
        here; waits for trials running in other workers (with heartbeats). Returns why it
        stopped.

        Raises:
            Interrupted: SIGINT/SIGTERM; the running trial is recorded and the study resumable.
        """
        started = time.monotonic()
        timeout_s = self.checked.sweep.timeout_s
        waiting = False
        try:
            with signals_interrupt() as gate:
                self.gate = gate
                while True:
                    with gate.closed():  # failing a stale trial and queueing its retry go together
                        fail_stale_trials(self.study)
                    reason, running = self.next_step()
                    over = timeout_s is not None and time.monotonic() - started > timeout_s
                    if reason is None and over:
                        reason = f"sweep.timeout_s={timeout_s} passed"
                    if reason is not None:
                        return reason
                    if running:
                        if not waiting:
                            log.info(
                                "waiting for the last %d trial(s), running in other workers; a "
                                "trial whose worker stops is retried here after storage."
                                "grace_period=%ss",
                                running,
                                self.storage.get("grace_period"),
                            )
                        waiting = True
                        pause = self.wait_s or 1.0
                        if timeout_s is not None:  # wake for the timeout, not after
                            left = timeout_s - (time.monotonic() - started)
                            pause = max(0.1, min(pause, left))
                        time.sleep(pause)
                        continue
                    waiting = False
                    self._one_trial(gate)
        except KeyboardInterrupt as err:
            self._interrupted(err)
            raise
        finally:
            self.progress.close()

    def _one_trial(self, gate: SignalGate) -> None:
        try:
            # Closed gate: a signal never cuts into Optuna creating or recording a trial; the
            # trial itself opens it while it trains.
            with gate.closed():
                self.study.optimize(self.trial, n_trials=1, catch=(Exception,), gc_after_trial=True)
        except NotNeeded:
            pass  # another worker took the last slot; the loop sees it next
        except Superseded as gone:
            log.warning(
                "trial %d was failed by another worker: this one sent no heartbeat for "
                "storage.grace_period=%ss; its retry replaces it",
                gone.number,
                self.storage.get("grace_period"),
            )

    def _interrupted(self, err: KeyboardInterrupt) -> None:
        self.progress.close()
        signame = err.signame if isinstance(err, Interrupted) else "SIGINT"
        counts = count_trials(self.study)
        if self.tracker is not None:
            self.tracker.finish_study(
                files=[],
                tags={"sweeper.finished": counts.finished},
                status="RUNNING" if counts.running else "KILLED",  # others still train
            )
        log.error(
            "interrupted by %s: study %r has %d/%d finished trials; run the same command again "
            "to resume.",
            signame,
            self.checked.sweep.study_name,
            counts.finished,
            self.checked.sweep.n_trials,
        )


def _write(trial: optuna.Trial, attrs: Mapping[str, Any]) -> None:
    for key, value in attrs.items():
        trial.set_user_attr(key, value)


__all__ = ["NotNeeded", "Superseded", "Sweep"]
