"""``run(cfg)``: check everything, prepare data once, run trials until the study is done, summarize.

Order matters: every check that can fail on user input runs before any training (one-line
errors, exit code 2), then storage and tracking are connected (fail fast), then data is loaded
and tokenized once, and only then do trials start.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.checks import (
    Checked,
    check,
    check_schedules,
    fingerprint_of,
    fit_to_data,
    monitor_of,
)
from sweeper.config import flatten
from sweeper.direction import direction_of
from sweeper.objective import Objective, TaskInfo
from sweeper.outages import check_writable, disk_failure
from sweeper.progress import Progress, quiet_libraries
from sweeper.reporting import TrialReporter
from sweeper.results import STALE_REASON
from sweeper.secrets import install_log_filter, redact, redact_obj, register_url
from sweeper.signals import Interrupted, SignalGate, signals_interrupt
from sweeper.study import (
    build_pruner,
    build_sampler,
    claims_a_slot,
    count_trials,
    fail_stale_trials,
    open_storage,
    open_study,
    prune_hook,
    release_trial,
    requeue,
    retry_interrupted,
    storage_identity,
    trial_id,
)
from sweeper.summary import SweepEnd, announce, finish
from sweeper.tracking import RUN_ID_ATTR, STUDY_RUN_ATTR, NullRun, Tracker, open_tracker
from sweeper.training import make_objective, new_reporter, resolve_device, train_once

if TYPE_CHECKING:
    import optuna
    from omegaconf import DictConfig

log = logging.getLogger("sweeper")


def run_dir_for(results_dir: Path) -> Path:
    """Hydra's output folder for this job, or a fresh one when called outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return results_dir / "runs" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")


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
    """A running sweep: everything one trial needs."""

    checked: Checked
    objective: Objective
    info: TaskInfo
    study: optuna.Study
    tracker: Tracker | None
    progress: Progress
    device: str
    monitor: str
    direction: str
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
                    trial.set_user_attr(RUN_ID_ATTR, mlrun.run_id)
                trial.set_user_attr("settings", settings.as_params())
                recipe = self._recipe(system_attrs.get("fixed_params"))
                if recipe is not None:
                    trial.set_user_attr("recipe", recipe)
                if retry_of is not None:
                    trial.set_user_attr("retry_of", retry_of)
                reporter = new_reporter(
                    settings,
                    monitor=self.monitor,
                    direction=self.direction,
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
            if reporter is not None:
                self._record(trial, reporter, reason)
            trial.set_user_attr("reason", reason)
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
        self._record(trial, reporter, outcome.reason)
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

    def _record(self, trial: optuna.Trial, reporter: TrialReporter, reason: str) -> None:
        outcome = reporter.outcome
        if reporter.plan is not None:
            trial.set_user_attr("plan", asdict(reporter.plan))
        trial.set_user_attr("best", outcome.summary(self.info.metric))
        trial.set_user_attr("reason", reason)
        trial.set_user_attr(
            "evals",
            [
                {
                    "index": e.index,
                    "step": e.step,
                    "epoch": round(e.epoch, 4),
                    "val_loss": e.val_loss,
                    "value": e.value,
                    **e.metrics,
                }
                for e in outcome.evaluations
            ],
        )

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


def run(cfg: DictConfig | Mapping[str, Any]) -> float | None:
    """Run the sweep ``cfg`` describes; returns the study's best value (``None`` if none).

    Raises:
        SweeperError: bad input, before any training (the entry point prints it on one line).
        Interrupted: SIGINT/SIGTERM; the running trial is recorded and the study resumable.
    """
    # Library chatter off the console (levels of the job_logging config, hydra.verbose) before
    # check(), whose sampler construction already warns.
    quiet_libraries()
    checked = check(cfg)
    cfg_plain = checked.cfg
    install_log_filter()
    storage_cfg = cfg_plain["storage"]
    register_url(str(storage_cfg.get("url") or ""))
    register_url(str(cfg_plain["tracking"].get("uri") or ""))
    check_writable(checked.results_dir, what="results_dir")  # full or read-only: one line now
    run_dir = run_dir_for(checked.results_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # A redacted copy of the resolved config (Hydra's own .hydra/ copy is switched off).
    import yaml

    (run_dir / "config.yaml").write_text(yaml.safe_dump(redact_obj(cfg_plain), sort_keys=False))

    # Connect first: an unreachable database or server fails now, not after the first trial.
    storage, stale = open_storage(storage_cfg)
    tracker = open_tracker(
        cfg_plain,
        study_name=checked.sweep.study_name,
        storage_id=storage_identity(storage_cfg),
        results_dir=checked.results_dir,
    )

    # Data and model, once per sweep.
    objective = make_objective(cfg_plain)
    info = objective.prepare()
    checked = fit_to_data(checked, num_train=info.num_train)  # `auto` bounds, from the data size
    cfg_plain = checked.cfg
    if info.num_train:  # (0: a train function without prepare() tells no data size)
        check_schedules(checked, num_examples=info.num_train)
    # torch, transformers, MLflow and the data are alive for the whole sweep: moving them out of
    # the collector's reach keeps the full collection after each trial (gc_after_trial) cheap
    # (0.6 s -> < 1 ms per trial, measured); each trial's own garbage is still collected.
    gc.collect()
    gc.freeze()
    monitor = monitor_of(checked, info)
    direction = direction_of(monitor, declared=info.metric_direction)
    fingerprint = fingerprint_of(checked, info=info, monitor=monitor)
    seed = int(cfg_plain["seed"])
    study = open_study(
        name=checked.sweep.study_name,
        storage=storage,
        direction=direction,
        sampler=build_sampler(cfg_plain["sampler"], seed=seed, space=checked.space),
        pruner=build_pruner(cfg_plain["pruner"]),
        fingerprint=fingerprint,
    )
    requeue(study, checked.queued)
    study.set_user_attr("data_source", info.source)
    study.set_user_attr(
        "task_info",
        {
            "task": info.task,
            "source": info.source,
            "origin": info.origin,
            "metric": info.metric,
            "monitor": monitor,
            "num_train": info.num_train,
            "num_eval": info.num_eval,
            "model": info.model,
            **dict(info.details),  # label mapping, eval split sizes, cache hit
            "chance": dict(info.chance),  # read by the curve pruner and recommend
            "notes": list(info.notes),
        },
    )
    if tracker is not None:
        tracker.attach(
            tags={
                "sweeper.task": info.task,
                "sweeper.data_source": info.source,
                "sweeper.model": info.model,
                "sweeper.sampler": cfg_plain["sampler"].get("_target_", ""),
                "sweeper.pruner": cfg_plain["pruner"].get("_target_", ""),
                "sweeper.storage_kind": storage_cfg.get("kind"),
                "sweeper.n_trials": checked.sweep.n_trials,
                "sweeper.objective": f"{direction} {monitor}",
                "sweeper.optuna_storage": storage_identity(storage_cfg),
                "sweeper.label_mapping": json.dumps(info.details.get("label_mapping")),
            },
            params={
                **flatten(checked.train.as_params(), "train"),
                **flatten({k: v for k, v in cfg_plain["data"].items() if k != "builtin"}, "data"),
                **flatten(cfg_plain["model"], "model"),
                **flatten(cfg_plain["sampler"], "sampler"),
                **flatten(cfg_plain["pruner"], "pruner"),
                "sweep.objective": monitor,
                "seed": seed,
                "data.source_resolved": info.source,
            },
        )
        tracker.log_text((run_dir / "config.yaml").read_text(), "config.yaml")
        study.set_user_attr(STUDY_RUN_ATTR, tracker.parent_run_id)
        if stale is not None:

            def close_stale(_study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
                tracker.close_open_runs({frozen.number: ("FAIL", STALE_REASON)})

            stale.hook = close_stale

    counts = count_trials(study)
    announce(
        checked=checked,
        info=info,
        study=study,
        tracker=tracker,
        counts=counts,
        storage=storage_identity(storage_cfg),
        monitor=monitor,
        direction=direction,
    )
    device = resolve_device(checked.device)
    progress = Progress(
        n_trials=checked.sweep.n_trials,
        finished=counts.finished,
        monitor=monitor,
        quiet=bool(cfg_plain.get("quiet")),
        direction=direction,
    )
    sweep = Sweep(
        checked=checked,
        objective=objective,
        info=info,
        study=study,
        tracker=tracker,
        progress=progress,
        device=device,
        monitor=monitor,
        direction=direction,
        wait_s=float(storage_cfg["heartbeat_interval"]) if stale is not None else None,
    )
    started = time.monotonic()
    stop = ""
    waiting = False
    try:
        with signals_interrupt() as gate:
            sweep.gate = gate
            while True:
                with gate.closed():  # failing a stale trial and queueing its retry go together
                    fail_stale_trials(study)
                reason, running = sweep.next_step()
                if (
                    reason is None
                    and checked.sweep.timeout_s is not None
                    and (time.monotonic() - started > checked.sweep.timeout_s)
                ):
                    reason = f"sweep.timeout_s={checked.sweep.timeout_s} passed"
                if reason is not None:
                    stop = reason
                    break
                if running:
                    if not waiting:
                        log.info(
                            "waiting for the last %d trial(s), running in other workers; a "
                            "trial whose worker stops is retried here after storage."
                            "grace_period=%ss",
                            running,
                            storage_cfg.get("grace_period"),
                        )
                    waiting = True
                    pause = sweep.wait_s or 1.0
                    if checked.sweep.timeout_s is not None:  # wake for the timeout, not after
                        left = checked.sweep.timeout_s - (time.monotonic() - started)
                        pause = max(0.1, min(pause, left))
                    time.sleep(pause)
                    continue
                waiting = False
                try:
                    # Closed gate: a signal never cuts into Optuna creating or recording a
                    # trial; the trial itself opens it while it trains.
                    with gate.closed():
                        study.optimize(
                            sweep.trial, n_trials=1, catch=(Exception,), gc_after_trial=True
                        )
                except NotNeeded:
                    continue  # another worker took the last slot; the loop sees it next
                except Superseded as gone:
                    log.warning(
                        "trial %d was failed by another worker: this one sent no heartbeat for "
                        "storage.grace_period=%ss; its retry replaces it",
                        gone.number,
                        storage_cfg.get("grace_period"),
                    )
    except KeyboardInterrupt as err:
        progress.close()
        signame = err.signame if isinstance(err, Interrupted) else "SIGINT"
        counts = count_trials(study)
        if tracker is not None:
            tracker.finish_study(
                files=[],
                tags={"sweeper.finished": counts.finished},
                status="RUNNING" if counts.running else "KILLED",  # others still train
            )
        log.error(
            "interrupted by %s: study %r has %d/%d finished trials; run the same command again "
            "to resume.",
            signame,
            checked.sweep.study_name,
            counts.finished,
            checked.sweep.n_trials,
        )
        raise
    finally:
        progress.close()

    return finish(
        SweepEnd(
            checked=checked,
            info=info,
            study=study,
            tracker=tracker,
            monitor=monitor,
            direction=direction,
            ran=len(sweep.mine),
            seconds=time.monotonic() - started,
            stop=stop,
            storage=storage_identity(storage_cfg),
            run_dir=run_dir,
        )
    )


__all__ = ["run"]
