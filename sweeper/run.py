"""``run(cfg)``: open the sweep, run it, summarize.

Order matters: every check that can fail on user input runs before any training (one-line
errors, exit code 2), then storage and tracking are connected (fail fast), then data is loaded
and tokenized once, and only then do trials start (:mod:`sweeper.sweep`).
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Mapping
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
from sweeper.objective import TaskInfo
from sweeper.outages import check_writable
from sweeper.progress import Progress, quiet_libraries
from sweeper.secrets import install_log_filter, redact_obj, register_url
from sweeper.study import (
    build_pruner,
    build_sampler,
    count_trials,
    open_storage,
    open_study,
    requeue,
    storage_identity,
)
from sweeper.sweep import NotNeeded, Superseded, Sweep
from sweeper.sweep_summary import SweepEnd, announce, finish
from sweeper.tracking import STUDY_RUN_ATTR, Tracker, open_tracker
from sweeper.train_once import make_objective, resolve_device
from sweeper.trial_record import STALE_REASON

if TYPE_CHECKING:
    import optuna
    from omegaconf import DictConfig

log = logging.getLogger("sweeper")


def run(cfg: DictConfig | Mapping[str, Any]) -> float | None:
    """Run the sweep ``cfg`` describes; returns the study's best value (``None`` if none).

    Raises:
        SweeperError: bad input, before any training (the entry point prints it on one line).
        Interrupted: SIGINT/SIGTERM; the running trial is recorded and the study resumable.
    """
    # Library chatter off the console (levels of the job_logging config, hydra.verbose) before
    # check(), whose sampler construction already warns.
    quiet_libraries()
    sweep = open_sweep(cfg)
    started = time.monotonic()
    stop = sweep.run()
    return summarize(sweep, stop=stop, seconds=time.monotonic() - started)


def open_sweep(cfg: DictConfig | Mapping[str, Any]) -> Sweep:
    """Check ``cfg``, connect storage and tracking, prepare the data once, open (or resume) the
    study and announce it: a sweep ready to run its trials."""
    checked = check(cfg)
    run_dir = _run_dir(checked)
    storage_cfg = checked.cfg["storage"]
    # Connect first: an unreachable database or server fails now, not after the first trial.
    storage, stale = open_storage(storage_cfg)
    tracker = open_tracker(
        checked.cfg,
        study_name=checked.sweep.study_name,
        storage_id=storage_identity(storage_cfg),
        results_dir=checked.results_dir,
    )

    # Data and model, once per sweep.
    objective = make_objective(checked.cfg)
    info = objective.prepare()
    checked = fit_to_data(checked, num_train=info.num_train)  # `auto` bounds, from the data size
    if info.num_train:  # (0: a train function without prepare() tells no data size)
        check_schedules(checked, num_examples=info.num_train)
    # torch, transformers, MLflow and the data are alive for the whole sweep: moving them out of
    # the collector's reach keeps the full collection after each trial (gc_after_trial) cheap
    # (0.6 s -> < 1 ms per trial, measured); each trial's own garbage is still collected.
    gc.collect()
    gc.freeze()

    monitor = monitor_of(checked, info)
    direction = direction_of(monitor, declared=info.metric_direction)
    cfg_plain, seed = checked.cfg, int(checked.cfg["seed"])
    study = open_study(
        name=checked.sweep.study_name,
        storage=storage,
        direction=direction,
        sampler=build_sampler(cfg_plain["sampler"], seed=seed, space=checked.space),
        pruner=build_pruner(cfg_plain["pruner"]),
        fingerprint=fingerprint_of(checked, info=info, monitor=monitor),
    )
    requeue(study, checked.queued)
    _describe(study, info=info, monitor=monitor)
    if tracker is not None:
        _attach(tracker, study, checked=checked, info=info, monitor=monitor, direction=direction)
        tracker.log_text((run_dir / "config.yaml").read_text(), "config.yaml")
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
    return Sweep(
        checked=checked,
        objective=objective,
        info=info,
        study=study,
        tracker=tracker,
        progress=Progress(
            n_trials=checked.sweep.n_trials,
            finished=counts.finished,
            monitor=monitor,
            quiet=bool(cfg_plain.get("quiet")),
            direction=direction,
        ),
        device=resolve_device(checked.device),
        monitor=monitor,
        direction=direction,
        storage=storage_cfg,
        run_dir=run_dir,
        wait_s=float(storage_cfg["heartbeat_interval"]) if stale is not None else None,
    )


def summarize(sweep: Sweep, *, stop: str, seconds: float) -> float | None:
    """The end-of-sweep summary, plots and next commands; the study's best value."""
    return finish(
        SweepEnd(
            checked=sweep.checked,
            info=sweep.info,
            study=sweep.study,
            tracker=sweep.tracker,
            monitor=sweep.monitor,
            direction=sweep.direction,
            ran=len(sweep.mine),
            seconds=seconds,
            stop=stop,
            storage=storage_identity(sweep.storage),
            run_dir=sweep.run_dir,
        )
    )


def run_dir_for(results_dir: Path) -> Path:
    """Hydra's output folder for this job, or a fresh one when called outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return results_dir / "runs" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")


def _run_dir(checked: Checked) -> Path:
    """Secrets kept out of the logs, results_dir writable, and this run's folder with a redacted
    copy of the resolved config (Hydra's own .hydra/ copy is switched off)."""
    install_log_filter()
    register_url(str(checked.cfg["storage"].get("url") or ""))
    register_url(str(checked.cfg["tracking"].get("uri") or ""))
    check_writable(checked.results_dir, what="results_dir")  # full or read-only: one line now
    run_dir = run_dir_for(checked.results_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    import yaml

    text = yaml.safe_dump(redact_obj(checked.cfg), sort_keys=False)
    (run_dir / "config.yaml").write_text(text)
    return run_dir


def _describe(study: optuna.Study, *, info: TaskInfo, monitor: str) -> None:
    """What the study trains on, for the summary and recommend (the study is the record)."""
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


def _attach(
    tracker: Tracker,
    study: optuna.Study,
    *,
    checked: Checked,
    info: TaskInfo,
    monitor: str,
    direction: str,
) -> None:
    """The study-level tracking record: its tags and parameters, linked from the study."""
    cfg_plain, storage_cfg = checked.cfg, checked.cfg["storage"]
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
            "seed": int(cfg_plain["seed"]),
            "data.source_resolved": info.source,
        },
    )
    study.set_user_attr(STUDY_RUN_ATTR, tracker.parent_run_id)


__all__ = ["NotNeeded", "Superseded", "Sweep", "open_sweep", "run", "summarize"]
