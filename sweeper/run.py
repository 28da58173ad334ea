"""``run(cfg)``: check everything, prepare data once, run trials until the study is done, summarize.

Order matters: every check that can fail on user input runs before any training (one-line
errors, exit code 2), then storage and tracking are connected (fail fast), then data is loaded
and tokenized once, and only then do trials start.
"""

from __future__ import annotations

import gc
import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sweeper.config import resolve
from sweeper.errors import ConfigError, NonFiniteLossError
from sweeper.objective import Objective, TaskInfo, load_objective
from sweeper.progress import Progress, quiet_libraries
from sweeper.reporting import CurveSink, PruneHook, TrialReporter, Watcher
from sweeper.results import STALE_REASON
from sweeper.secrets import install_log_filter, redact, redact_obj, register_url
from sweeper.settings import TrainSettings, check_value
from sweeper.space import SearchSpace, parse_space
from sweeper.study import (
    build_pruner,
    build_sampler,
    claims_a_slot,
    count_trials,
    fail_stale_trials,
    open_storage,
    open_study,
    release_trial,
    requeue,
    storage_identity,
    study_fingerprint,
)
from sweeper.tracking import NullRun, Tracker

if TYPE_CHECKING:
    import optuna
    from omegaconf import DictConfig

log = logging.getLogger("sweeper")
OBJECTIVES = ("val_loss", "metric")


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; the running trial is closed and the study stays resumable."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    """The ``sweep`` node, checked."""

    n_trials: int
    study_name: str
    objective: str
    timeout_s: float | None
    max_failure_rate: float
    enqueue: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_mapping(cls, sweep: Mapping[str, Any]) -> SweepSettings:
        n = sweep.get("n_trials")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"sweep.n_trials must be an integer >= 1 but got {n!r}.")
        name = sweep.get("study_name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"sweep.study_name must be a non-empty string but got {name!r}.")
        objective = sweep.get("objective", "val_loss")
        if objective not in OBJECTIVES:
            raise ConfigError(
                f"sweep.objective must be one of {list(OBJECTIVES)} but got {objective!r}."
            )
        timeout = sweep.get("timeout_s")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise ConfigError(
                f"sweep.timeout_s must be a number of seconds > 0 or null but got {timeout!r}."
            )
        rate = sweep.get("max_failure_rate", 0.5)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigError(f"sweep.max_failure_rate must be in [0, 1] but got {rate!r}.")
        enqueue = sweep.get("enqueue") or []
        if not isinstance(enqueue, list) or not all(isinstance(p, Mapping) for p in enqueue):
            raise ConfigError(
                f"sweep.enqueue must be a list of {{param: value}} mappings but got {enqueue!r}."
            )
        return cls(
            n_trials=n,
            study_name=name,
            objective=objective,
            timeout_s=timeout,
            max_failure_rate=float(rate),
            enqueue=tuple(dict(p) for p in enqueue),
        )


@dataclass(frozen=True, kw_only=True)
class Checked:
    """The whole config, checked: nothing past this point fails on user input."""

    cfg: dict[str, Any]
    sweep: SweepSettings
    space: SearchSpace
    train: TrainSettings
    results_dir: Path
    notes: tuple[str, ...] = ()  # warnings about the config that do not stop it


def check(cfg: DictConfig | Mapping[str, Any]) -> Checked:
    """Resolve and check the config; :class:`ConfigError` names the first bad key."""
    from omegaconf import DictConfig as _DictConfig

    plain: dict[str, Any] = resolve(cfg) if isinstance(cfg, _DictConfig) else dict(cfg)
    for key in ("data", "model", "train", "sweep", "sampler", "pruner", "storage", "tracking"):
        if not isinstance(plain.get(key), Mapping):
            raise ConfigError(f"{key} must be a config node but got {plain.get(key)!r}.")
    sweep = SweepSettings.from_mapping(plain["sweep"])
    train = TrainSettings.from_mapping(plain["train"])
    space = parse_space(plain.get("search_space"))
    notes: list[str] = []
    enqueue = []
    for i, params in enumerate(sweep.enqueue):
        kept = {}
        for key, value in params.items():
            check_value(key, value, where=f"sweep.enqueue[{i}].{key}")  # a training setting?
            if key not in space.names:
                # A setting this search space does not sample (e.g. an experiment's queued
                # defaults with search_space=none): nothing to fix, so a note, not an error.
                notes.append(f"sweep.enqueue[{i}].{key} is not searched here; ignored")
                continue
            entry = space.entry(key)
            if not entry.contains(value):
                raise ConfigError(
                    f"sweep.enqueue[{i}].{key} must be {entry.describe()} (search_space.{key}) "
                    f"but got {value!r}."
                )
            kept[key] = value
        train.replace(kept)  # every value allowed, or ConfigError naming it
        if kept:
            enqueue.append(kept)
    sweep = replace(sweep, enqueue=tuple(enqueue))
    device = str(plain.get("device", "auto"))
    if device not in ("auto", "cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps but got {device!r}.")
    if not isinstance(plain.get("quiet", False), bool):
        raise ConfigError(f"quiet must be true or false but got {plain.get('quiet')!r}.")
    seed = plain.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0 but got {seed!r}.")
    # The objective checks its own data and model nodes (files, task names, model paths)
    # without loading anything; storage and tracking are checked by connecting, next.
    checker = getattr(load_objective(str(plain.get("objective"))), "check_config", None)
    if checker is not None:
        checker(data=plain["data"], model=plain["model"])
    from sweeper.study import check_storage_config

    check_storage_config(plain["storage"])
    build_pruner(plain["pruner"])
    build_sampler(plain["sampler"], seed=seed, space=space)
    return Checked(
        cfg={str(k): v for k, v in plain.items()},
        sweep=sweep,
        space=space,
        train=train,
        results_dir=Path(plain["results_dir"]),
        notes=tuple(notes),
    )


def check_schedules(checked: Checked, *, num_examples: int) -> None:
    """Build the schedule of the fixed settings, each queued trial and each corner of the space.

    Some settings are only wrong with the data size (``warmup_steps`` past the last step of the
    shortest trial, a ``decay_ratio`` with no room after warmup); found here, before training,
    they fail once with the draw named instead of failing every trial that samples them.
    """
    for params in ({}, *checked.sweep.enqueue, *checked.space.corners()):
        try:
            checked.train.replace(params).check_schedule(num_examples)
        except ConfigError as err:
            if not params:
                raise
            draw = " ".join(f"{key}={value}" for key, value in params.items())
            raise ConfigError(
                f"{str(err).rstrip('.')} (with {draw}, {num_examples} training examples)."
            ) from None


def make_objective(cfg: Mapping[str, Any]) -> Objective:
    """The objective named by ``objective:``, built from the data and model nodes."""
    objective: Objective = load_objective(str(cfg.get("objective")))(
        data=cfg["data"], model=cfg["model"], seed=int(cfg["seed"])
    )
    return objective


def resolve_device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def flatten(prefix: str, node: Any) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (for MLflow params)."""
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(flatten(f"{prefix}.{key}" if prefix else str(key), value))
        return out
    return {prefix: node}


def data_fingerprint(data: Mapping[str, Any], info: TaskInfo) -> dict[str, Any]:
    """The data part of the study fingerprint: the data as loaded, not only as configured."""
    return {
        "task": info.task,
        "source": info.source,
        "num_train": info.num_train,
        "num_eval": info.num_eval,
        "validation": data.get("validation"),
        "max_seq_length": data.get("max_seq_length"),
    }


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


class SignalGate:
    """Where SIGINT/SIGTERM interrupt: while a trial trains or the loop waits (open), not
    while Optuna creates a trial or records its result (closed), so no trial is left RUNNING
    half-recorded. A signal that arrives while closed is raised as soon as the gate opens.
    """

    def __init__(self) -> None:
        self.is_open = True
        self.pending: str | None = None

    def handle(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.is_open:
            self.is_open = False  # a second signal during the clean-up is only noted
            raise Interrupted(name)
        self.pending = name

    def check(self) -> None:
        """Raise a signal that arrived while the gate was closed."""
        if self.pending is not None:
            name, self.pending = self.pending, None
            raise Interrupted(name)

    @contextmanager
    def opened(self) -> Iterator[None]:
        self.is_open = True
        try:
            self.check()
            yield
        finally:
            self.is_open = False

    @contextmanager
    def closed(self) -> Iterator[None]:
        self.is_open = False
        try:
            yield
        finally:
            self.is_open = True
        self.check()


@contextmanager
def signals_interrupt() -> Iterator[SignalGate]:
    """SIGTERM (and SIGINT) raise :class:`Interrupted` in the main thread, through the gate."""
    gate = SignalGate()
    if threading.current_thread() is not threading.main_thread():
        yield gate
        return
    previous = {s: signal.signal(s, gate.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield gate
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


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
    waiting_for: int = 0  # trials running elsewhere that this worker waits for (stop_reason)

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
            # a stalled filesystem): another worker failed the trial, closed its MLflow run and
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
        interrupted trials are FAIL in Optuna and KILLED in MLflow).
        """
        import optuna

        run: Any = NullRun()
        reporter: TrialReporter | None = None
        try:
            with self.gate.opened():  # SIGINT/SIGTERM interrupt sampling and training
                params = self.checked.space.sample(trial)
                settings = self.checked.train.replace(params)
                system_attrs = trial.storage.get_trial_system_attrs(trial._trial_id)
                retry_of = system_attrs.get("failed_trial")
                self.progress.trial_begins(trial.number, params)
                if self.tracker is not None:
                    run = self.tracker.start_trial(
                        trial.number,
                        params={**settings.as_params(), "data.source": self.info.source},
                        tags={"retry_of": retry_of} if retry_of is not None else {},
                    )
                    trial.set_user_attr("mlflow_run_id", run.run_id)
                trial.set_user_attr("settings", settings.as_params())
                if retry_of is not None:
                    trial.set_user_attr("retry_of", retry_of)
                reporter = new_reporter(
                    settings,
                    monitor=self.monitor,
                    direction=self.direction,
                    prune=lambda value, index, last: _report(trial, value, index, last),
                    curves=run,
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
            run.finish(
                "FAIL",
                summary=summary,
                tags={"sweeper.reason": reason},
                status="KILLED" if interrupted else None,
            )
            self.progress.trial_ends(trial.number, "FAIL", None, reason)
            self.mine.append("FAIL")
            self.reasons.append(reason)
            raise
        outcome = reporter.outcome
        self._record(trial, reporter, outcome.reason)
        state = "PRUNED" if outcome.pruned else "COMPLETE"
        run.finish(
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

    def stop_reason(self) -> str | None:
        """Why no further trial should start in this process, or ``None`` to go on.

        Also sets :attr:`waiting_for`: with heartbeats, a worker whose remaining trials all run
        in other workers waits for them rather than leaving, since if one's worker dies, its
        trial goes stale and a live worker must be there to retry it.
        """
        counts = count_trials(self.study)
        n = self.checked.sweep.n_trials
        self.waiting_for = 0
        if counts.finished >= n:
            return f"the study has its {n} trials"
        failed = self.mine.count("FAIL")
        if len(self.mine) >= 4 and failed / len(self.mine) > self.checked.sweep.max_failure_rate:
            common, times = Counter(self.reasons).most_common(1)[0]
            return (
                f"{failed} of {len(self.mine)} trials failed here (sweep.max_failure_rate="
                f"{self.checked.sweep.max_failure_rate}); most common: {common!r} x{times}"
            )
        if counts.finished + counts.running >= n:
            if self.wait_s is None:
                return f"the remaining {counts.running} trial(s) are running in other workers"
            self.waiting_for = counts.running
        return None


def new_reporter(
    settings: TrainSettings,
    *,
    monitor: str,
    direction: str,
    prune: PruneHook | None = None,
    curves: CurveSink | None = None,
    watcher: Watcher | None = None,
) -> TrialReporter:
    """The reporter of one training run with ``settings`` (early stopping, divergence...)."""
    return TrialReporter(
        monitor=monitor,
        direction=direction,
        patience=settings.patience,
        min_delta=settings.min_delta,
        evals_per_epoch=settings.evals_per_epoch,
        divergence_factor=settings.divergence_factor,
        prune=prune,
        curves=curves,
        watcher=watcher,
    )


def train_once(
    objective: Objective, settings: TrainSettings, reporter: TrialReporter, *, device: str
) -> TrialReporter:
    """Train once with ``settings``; a non-finite loss ends it as recorded in the reporter.

    The one training path: sweep trials, recommendation seeds and confirmations, and
    ``python -m sweeper.train`` all go through it.
    """
    try:
        objective.train(settings, reporter, device=device)
    except NonFiniteLossError as err:
        reporter.non_finite(err.step)
    return reporter


def _report(trial: optuna.Trial, value: float, index: int, last: bool) -> bool:
    trial.report(value, index)
    return not last and trial.should_prune()  # no need to ask at the end (see TrialReporter)


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
    checked.results_dir.mkdir(parents=True, exist_ok=True)
    run_dir = run_dir_for(checked.results_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # A redacted copy of the resolved config (Hydra's own .hydra/ copy is switched off).
    import yaml

    (run_dir / "config.yaml").write_text(yaml.safe_dump(redact_obj(cfg_plain), sort_keys=False))

    # Connect first: an unreachable database or server fails now, not after the first trial.
    storage, stale = open_storage(storage_cfg)
    tracking_cfg = cfg_plain["tracking"]
    tracker = None
    if tracking_cfg.get("enabled", True):
        tracker = Tracker(
            uri=str(tracking_cfg["uri"]),
            experiment=str(tracking_cfg.get("experiment") or cfg_plain.get("experiment_name")),
            artifact_location=tracking_cfg.get("artifact_location"),
            study_name=checked.sweep.study_name,
            storage_id=storage_identity(storage_cfg),
        )

    # Data and model, once per sweep.
    objective = make_objective(cfg_plain)
    info = objective.prepare()
    if info.num_train:  # (0: a train function without prepare() tells no data size)
        check_schedules(checked, num_examples=info.num_train)
    # torch, transformers, MLflow and the data are alive for the whole sweep: moving them out of
    # the collector's reach keeps the full collection after each trial (gc_after_trial) cheap
    # (0.6 s -> < 1 ms per trial, measured); each trial's own garbage is still collected.
    gc.collect()
    gc.freeze()
    monitor = "val_loss" if checked.sweep.objective == "val_loss" else info.metric
    direction: Literal["minimize", "maximize"] = (
        "minimize" if monitor == "val_loss" or monitor.endswith("loss") else "maximize"
    )
    fingerprint = study_fingerprint(
        search_space=cfg_plain.get("search_space"),
        train=checked.train,
        data=data_fingerprint(cfg_plain["data"], info),
        model=cfg_plain["model"],
        objective=f"{cfg_plain.get('objective')}:{monitor}",
    )
    seed = int(cfg_plain["seed"])
    study = open_study(
        name=checked.sweep.study_name,
        storage=storage,
        direction=direction,
        sampler=build_sampler(cfg_plain["sampler"], seed=seed, space=checked.space),
        pruner=build_pruner(cfg_plain["pruner"]),
        fingerprint=fingerprint,
    )
    requeue(study, checked.sweep.enqueue)
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
                **flatten("train", checked.train.as_params()),
                **flatten("data", {k: v for k, v in cfg_plain["data"].items() if k != "builtin"}),
                **flatten("model", cfg_plain["model"]),
                **flatten("sampler", cfg_plain["sampler"]),
                **flatten("pruner", cfg_plain["pruner"]),
                "sweep.objective": monitor,
                "seed": seed,
                "data.source_resolved": info.source,
            },
        )
        tracker.log_text((run_dir / "config.yaml").read_text(), "config.yaml")
        study.set_user_attr("mlflow_parent_run_id", tracker.parent_run_id)
        if stale is not None:

            def close_stale(_study: optuna.Study, frozen: optuna.trial.FrozenTrial) -> None:
                tracker.close_open_runs({frozen.number: ("FAIL", STALE_REASON)})

            stale.hook = close_stale

    counts = count_trials(study)
    from sweeper.summary import announce

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
    device = resolve_device(str(cfg_plain.get("device", "auto")))
    progress = Progress(
        n_trials=checked.sweep.n_trials,
        finished=counts.finished,
        monitor=monitor,
        quiet=bool(cfg_plain.get("quiet")),
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
                reason = sweep.stop_reason()
                if (
                    reason is None
                    and checked.sweep.timeout_s is not None
                    and (time.monotonic() - started > checked.sweep.timeout_s)
                ):
                    reason = f"sweep.timeout_s={checked.sweep.timeout_s} passed"
                if reason is not None:
                    stop = reason
                    break
                running = sweep.waiting_for
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

    from sweeper.summary import finish

    return finish(
        sweep=sweep,
        run_dir=run_dir,
        stop=stop,
        storage=storage_identity(storage_cfg),
        started=started,
    )


__all__ = ["Interrupted", "check", "make_objective", "run", "train_once"]
