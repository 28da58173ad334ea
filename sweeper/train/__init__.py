"""One training run with the configured settings, no search (``python -m sweeper.train``).

Use it to run recommended defaults (``+recommended=NAME``) or any fixed configuration the way a
sweep trial would: same data, loop, evaluations and MLflow curves, as a top-level MLflow run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sweeper.formatting import fmt_params
from sweeper.progress import Progress, quiet_libraries

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from sweeper.trial_reporter import Outcome


def train(cfg: DictConfig | Mapping[str, Any]) -> Outcome:
    """Train once with ``cfg.train``; prints and returns the outcome."""
    from sweeper.checks import check, monitor_of
    from sweeper.direction import direction_of
    from sweeper.secrets import install_log_filter, register_url
    from sweeper.tracking import NullRun, open_tracker
    from sweeper.train_once import make_objective, new_reporter, resolve_device, train_once

    quiet_libraries()
    checked = check(cfg)
    cfg_plain = checked.cfg
    install_log_filter()
    register_url(str(cfg_plain["tracking"].get("uri") or ""))
    objective = make_objective(cfg_plain)
    info = objective.prepare()
    monitor = monitor_of(checked, info)
    direction = direction_of(monitor, declared=info.metric_direction)
    settings = checked.train
    run: Any = NullRun()
    tracker = open_tracker(
        cfg_plain,
        study_name=f"train-{info.task}",
        storage_id="train",
        results_dir=checked.results_dir,
    )
    if tracker is not None:
        run = tracker.start_single(
            f"train-{info.task}-{datetime.now():%Y%m%d-%H%M%S}",
            params={**settings.as_params(), "data.source": info.source},
            tags={"sweeper.task": info.task, "sweeper.data_source": info.source},
        )
    quiet = bool(cfg_plain.get("quiet"))
    progress = Progress(n_trials=1, finished=0, monitor=monitor, quiet=quiet, direction=direction)
    progress.trial_begins(0, settings.as_params())
    reporter = new_reporter(
        settings,
        monitor=monitor,
        direction=direction,
        chance=info.chance.get(monitor),
        curves=run,
        watcher=progress,
    )
    try:
        train_once(objective, settings, reporter, device=resolve_device(checked.device))
    finally:
        progress.close()
    out = reporter.outcome
    state = "PRUNED" if out.pruned else "COMPLETE"
    run.finish(state, summary=out.summary(info.metric), tags={"sweeper.reason": out.reason})
    if tracker is not None:
        tracker.close()  # sends what is queued; says how to send the rest if the store is down
    last = out.evaluations[-1] if out.evaluations else None
    print(
        f"trained {info.task} ({info.source}) with {fmt_params(settings.as_params())}\n"
        f"final:  val_loss={last.val_loss if last else float('nan'):.4f} "
        f"{info.metric}={(last.metrics.get(info.metric) if last else float('nan')) or 0:.4f} "
        f"after {out.epochs_trained:.2f} epochs ({out.stop})\n"
        f"best:   {monitor}={out.best.value if out.best else float('nan'):.4f} at epoch "
        f"{out.best.epoch if out.best else float('nan'):.2f}",
        flush=True,
    )
    return out


__all__ = ["train"]
