"""The start-up announcement and the end-of-sweep summary, plots and parent-run artifacts."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.boundary import edge_findings
from sweeper.chance import nothing_learned
from sweeper.config import task_overrides
from sweeper.direction import why_monitored
from sweeper.formatting import fmt_duration, fmt_params, fmt_value
from sweeper.secrets import redact
from sweeper.trial_record import TrialRecord, ranked, records
from sweeper.trial_reporter import best_point_phrase

if TYPE_CHECKING:
    import optuna

    from sweeper.checks import Checked
    from sweeper.objective import TaskInfo
    from sweeper.study import Counts
    from sweeper.tracking import Tracker

log = logging.getLogger("sweeper")
BUILTIN_WARNING = (
    "DEMO DATA: no GLUE folder is configured and the hub is unreachable, so this sweep runs on "
    "sweeper's built-in generated sentiment task (data.source=builtin). Do NOT take defaults "
    "from it. Set GLUE_DIR=/path/to/glue_data (or data.glue_dir=...) for real GLUE."
)


def announce(
    *,
    checked: Checked,
    info: TaskInfo,
    study: optuna.Study,
    tracker: Tracker | None,
    counts: Counts,
    storage: str,
    monitor: str,
    direction: str,
) -> None:
    """The start-up lines: what runs, on what data, where results go."""
    if info.source == "builtin":
        log.warning("!" * 78)
        log.warning(BUILTIN_WARNING)
        log.warning("!" * 78)
    for note in (*checked.notes, *info.notes):
        log.warning("note: %s", redact(note))
    log.info(
        "study %s: %d/%d trials finished%s (storage %s)",
        checked.sweep.study_name,
        counts.finished,
        checked.sweep.n_trials,
        " -- resuming" if counts.finished or counts.failed else "",
        storage,
    )
    log.info(
        "data: %s from %s %s: %s train / %s validation examples; model %s",
        info.task,
        info.source,
        redact(info.origin),
        f"{info.num_train:,}",
        f"{info.num_eval:,}",
        info.model,
    )
    train = checked.train
    log.info(
        "objective: %s %s (%s); %d evaluations/epoch; early stopping %s; search: %s",
        direction,
        monitor,
        best_point_phrase(train.select_window),
        train.evals_per_epoch,
        f"patience {train.patience}" if train.patience is not None else "off",
        ", ".join(checked.space.names) or "nothing",
    )
    log.info(
        "why %s: %s",
        monitor,
        why_monitored(
            checked.sweep.objective,
            monitor=monitor,
            metric=info.metric,
            is_regression=info.is_regression,
        ),
    )
    for line in checked.fitted:
        log.info("search space: %s", line)
    for line in portfolio_lines(checked, study):
        log.info("%s", line)
    if tracker is not None:
        log.info("%s", tracker.describe())


def portfolio_lines(checked: Checked, study: optuna.Study) -> list[str]:
    """``trial N is recipe NAME (citation), fitted: params``: the queued start's recipes."""
    start = checked.start
    left_out = (
        [
            f"portfolio: {start.left_out} more recipe(s) not queued: the queued start (sweep."
            f"enqueue, then recipes) takes at most {start.cap} of sweep.n_trials="
            f"{checked.sweep.n_trials}"
        ]
        if start.left_out
        else []
    )
    numbers: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        fixed = trial.system_attrs.get("fixed_params")
        for recipe in checked.start.recipes:
            if fixed and dict(fixed) == recipe.params:
                numbers[recipe.name] = trial.number  # the latest (a requeued one after a failure)
    lines = []
    for recipe in checked.start.recipes:
        number = numbers.get(recipe.name)
        changed = f" ({'; '.join(recipe.changes)})" if recipe.changes else ""
        lines.append(
            f"{'queued' if number is None else f'trial {number}'} is recipe {recipe.name} "
            f"({recipe.citation}), fitted: {fmt_params(recipe.params)}{changed}"
        )
    return lines + left_out


def trials_table(rows: list[TrialRecord], *, metric: str, names: list[str]) -> str:
    """A plain-text table of trials (params, best val loss, metric, best epoch, state), with
    the value they are ranked by where it is not one of those (a median-smoothed best,
    ``train.select_window``)."""
    recipes = any(r.recipe for r in rows)
    ranked = any(
        r.best.get("best_value") not in (r.best.get("best_val_loss"), r.best.get(f"best_{metric}"))
        for r in rows
    )
    header = [
        "trial",
        *(["recipe"] if recipes else []),
        "state",
        *(["ranked"] if ranked else []),
        "val_loss",
        metric,
        "best_epoch",
        "epochs_run",
        *[n.removeprefix("scheduler_kwargs.") for n in names],
    ]
    body = []
    for r in rows:
        body.append(
            [
                str(r.number),
                *([r.recipe or "-"] if recipes else []),
                r.state.lower(),
                *([fmt_value(r.best.get("best_value"))] if ranked else []),
                fmt_value(r.best.get("best_val_loss")),
                fmt_value(r.best.get(f"best_{metric}")),
                fmt_value(r.best_epoch, 2),
                fmt_value(r.best.get("epochs_trained"), 2),
                *[
                    fmt_value(r.params.get(n), 3)
                    if isinstance(r.params.get(n), float)
                    else fmt_value(r.params.get(n))
                    for n in names
                ],
            ]
        )
    widths = [
        max(len(h), *(len(row[i]) for row in body)) if body else len(h)
        for i, h in enumerate(header)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in body
    ]
    return "\n".join(lines)


def next_commands(
    *,
    tracking: Sequence[tuple[str, str]],
    storage_cfg: dict[str, Any],
    overrides: list[str],
) -> list[tuple[str, str]]:
    """(command, what it does) to look at a sweep, quoted to paste into a POSIX shell.

    Args:
        tracking: The tracking backend's own (``Tracker.open_commands``); empty without one.
        storage_cfg: The ``storage`` config node.
        overrides: The sweep's command-line overrides, repeated for the recommendation.
    """
    out: list[tuple[str, str]] = list(tracking)
    kind = storage_cfg.get("kind")
    url = str(storage_cfg.get("url") or "")
    dashboard = "Optuna Dashboard on http://127.0.0.1:8080"
    if importlib.util.find_spec("optuna_dashboard") is None:  # not in the base install
        dashboard += " (first: pip install optuna-dashboard)"
    if kind == "journal":
        out.append((f"optuna-dashboard {shlex.quote(str(storage_cfg.get('path')))}", dashboard))
    elif kind != "memory" and url:
        # A URL with a password comes from the environment (storage=postgres): name the variable
        # rather than print the secret.
        shown = (
            '"$SWEEPER_STORAGE_URL"'
            if redact(url) != url and os.environ.get("SWEEPER_STORAGE_URL") == url
            else shlex.quote(redact(url))
        )
        out.append((f"optuna-dashboard {shown}", dashboard))
    out.append(
        (
            " ".join(["python -m sweeper.recommend", *(shlex.quote(o) for o in overrides)]),
            "recommended epochs/warmup/LR/scheduler + report",
        )
    )
    return out


def make_plots(
    items: list[TrialRecord], out: Path, *, study: optuna.Study, direction: str, monitor: str
) -> list[Path]:
    """The parent run's PNGs: LR curves, validation curves, history, importances, best epochs."""
    import sweeper.plots as plots

    finished = [r for r in items if r.state in ("COMPLETE", "PRUNED")]
    files = [
        plots.plot_lr_curves(finished, out / "lr_curves.png"),
        plots.plot_value_curves(finished, out / "val_loss_curves.png", key="val_loss"),
        plots.plot_history(
            items, out / "optimization_history.png", direction=direction, label=monitor
        ),
    ]
    done = [r for r in items if r.state == "COMPLETE"]
    files.append(
        plots.plot_best_epochs(
            [r.best_epoch for r in done if r.best_epoch is not None],
            out / "best_epochs.png",
            horizons=[int(r.settings.get("num_epochs", 0)) for r in done],
        )
    )
    importances = param_importances(study)
    if importances:
        files.append(plots.plot_importances(importances, out / "param_importances.png"))
    return files


def param_importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importances over complete trials; empty when there are too few to say."""
    import warnings

    import optuna

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 3:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return dict(optuna.importance.get_param_importances(study))
    except (ValueError, RuntimeError):
        return {}


def nothing_learned_in(
    items: list[TrialRecord], *, chance: Mapping[str, Any], monitor: str, direction: str
) -> str | None:
    """The "nothing learned" line of a study's trials (complete or pruned, by their best
    monitored value), or ``None``: some left chance, or ``chance`` has no level for ``monitor``.
    """
    level = chance.get(monitor)
    values = [
        float(v)
        for r in items
        if r.state in ("COMPLETE", "PRUNED")
        and isinstance(v := r.best.get("best_value"), int | float)
        and math.isfinite(v)
    ]
    return nothing_learned(
        values, None if level is None else float(level), monitor=monitor, direction=direction
    )


@dataclass(frozen=True, kw_only=True)
class SweepEnd:
    """What the end-of-sweep summary reads: a snapshot of the sweep, not its executor."""

    checked: Checked
    info: TaskInfo
    study: optuna.Study
    tracker: Tracker | None
    monitor: str
    direction: str
    ran: int  # trials this process ran
    seconds: float  # this process's sweep time
    stop: str  # why it stopped
    storage: str  # the storage, as shown
    run_dir: Path


def finish(sweep: SweepEnd) -> float | None:
    """Print the summary, write plots and attach them to the parent run; the best value."""
    from sweeper.study import count_trials

    study, info, checked, run_dir = sweep.study, sweep.info, sweep.checked, sweep.run_dir
    items = records(study)
    counts = count_trials(study)
    best_first = ranked(items, direction=sweep.direction)
    tracker = sweep.tracker
    if tracker is not None:
        closed = tracker.close_open_runs(
            {
                r.number: (r.state, r.reason)
                for r in items
                if r.state in ("COMPLETE", "PRUNED", "FAIL")
            }
        )
        if closed:
            log.info("closed %d tracking run(s) left open by stopped workers", closed)
    plot_files = make_plots(
        items, run_dir / "plots", study=study, direction=sweep.direction, monitor=sweep.monitor
    )
    lines = [f"{'=' * 30} sweep summary: {checked.sweep.study_name} {'=' * 30}"]
    if info.source == "builtin":
        lines.append(f"!!! {BUILTIN_WARNING}")
    lines.append(
        f"data:    {info.task} from {info.source} {redact(info.origin)} "
        f"({info.num_train:,} train / {info.num_eval:,} validation)"
    )
    lines.append(
        f"trials:  {counts.finished}/{checked.sweep.n_trials} finished: "
        f"{counts.complete} complete, "
        f"{counts.pruned} pruned, {counts.failed} failed (this run: {sweep.ran} trials in "
        f"{fmt_duration(sweep.seconds)}; stopped because {sweep.stop})"
    )
    nothing = nothing_learned_in(
        items, chance=info.chance, monitor=sweep.monitor, direction=sweep.direction
    )
    if nothing is not None:  # the best trial below is a pick among chance-level ones
        lines.append(f"!!! {nothing}")
    if best_first:
        b = best_first[0]
        whole = b.best_epoch_whole
        lines.append(
            f"best:    trial {b.number}: val_loss={fmt_value(b.best.get('best_val_loss'))} "
            f"{info.metric}={fmt_value(b.best.get(f'best_{info.metric}'))} at epoch "
            f"{fmt_value(b.best_epoch, 2)} (whole epochs: {whole}; schedule horizon "
            f"{b.settings.get('num_epochs')} epochs)"
        )
        lines.append(
            f"         {fmt_params(b.params)}" + (f" (recipe {b.recipe})" if b.recipe else "")
        )
        lines.append("")
        lines.append("top trials:")
        lines.append(trials_table(best_first[:5], metric=info.metric, names=checked.space.names))
        for finding in edge_findings(checked.space, best_first):  # the optimum may lie outside
            lines.append(f"edge:    {finding.text}")
    else:
        lines.append("best:    no complete trial yet")
    pruned = [r for r in items if r.state == "PRUNED"]
    failed = [r for r in items if r.state == "FAIL"]
    for r in (pruned + failed)[:8]:
        recipe = f" (recipe {r.recipe})" if r.recipe else ""
        lines.append(f"  trial {r.number} {r.state.lower()}{recipe}: {redact(r.reason)}")
    lines.append("")
    lines.append(f"storage: {sweep.storage} (study {checked.sweep.study_name})")
    if tracker is not None:
        name, where = tracker.describe(full=False).split(": ", 1)
        lines.append(f"{name + ':':<8} {where}")
    lines.append(f"plots:   {run_dir / 'plots'}")
    lines.append(f"config:  {run_dir / 'config.yaml'}")
    lines.append("next:")
    commands = next_commands(
        tracking=[] if tracker is None else tracker.open_commands(),
        storage_cfg=checked.cfg["storage"],
        overrides=task_overrides(),
    )
    for command, what in commands:
        lines.append(f"  {command}   # {what}")
    text = "\n".join(lines)
    (run_dir / "summary.txt").write_text(text + "\n")
    print(text, file=sys.stdout, flush=True)
    if tracker is not None:
        tracker.finish_study(
            files=[*plot_files, run_dir / "summary.txt"],
            tags={
                "sweeper.finished": counts.finished,
                "sweeper.complete": counts.complete,
                "sweeper.pruned": counts.pruned,
                "sweeper.failed": counts.failed,
                **(
                    {
                        "sweeper.best_trial": best_first[0].number,
                        "sweeper.best_value": best_first[0].value,
                    }
                    if best_first
                    else {}
                ),
            },
            # The last worker to finish ends the parent: one still training keeps it RUNNING.
            status="RUNNING" if counts.running else "FINISHED",
        )
        notice = tracker.unsent_notice()  # known only once the store had its last chance
        if notice:
            with (run_dir / "summary.txt").open("a") as f:
                f.write(notice + "\n")
    return None if not best_first else best_first[0].value
