"""A bank from a finished sweeper study whose trials ran unpruned (:func:`export`): curves from
the trials' user attrs, seconds measured by :mod:`sweeper.bank.timing` where a trial has them.

Separate from recording: any unpruned sweeper study exports, recorded by ``record`` or not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sweeper.bank.file import Bank, Curve
from sweeper.bank.timing import settings_key

if TYPE_CHECKING:
    import optuna


def _column(evals: Sequence[Mapping[str, Any]], name: str) -> tuple[float, ...]:
    """``name`` at every evaluation; empty when some evaluation lacks it."""
    if not evals or any(name not in e for e in evals):
        return ()
    return tuple(float(e[name]) for e in evals)


def export(
    study: optuna.Study,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    timings: Mapping[str, Mapping[str, Any]] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Bank:
    """The bank of a finished sweeper study whose trials ran unpruned.

    Args:
        study: A study run by sweeper (trial user attrs ``plan``, ``evals``, ``settings``).
        grid: The values of each searched entry; ``None``: those seen in the trials.
        timings: Measured seconds per trial (see :class:`TimedObjective`), keyed by
            :func:`settings_key`; trials without one get their wall time shared out by steps.
        provenance: Added to the bank's provenance.

    Raises:
        ValueError: a trial was pruned, or the study has no complete trial.
    """
    import optuna

    info = study.user_attrs.get("task_info") or {}
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    curves = []
    measured = 0
    settings0: dict[str, Any] | None = None
    for t in sorted(trials, key=lambda t: t.number):
        if t.state == optuna.trial.TrialState.FAIL:
            continue  # a failed run has no curve to replay; provenance counts them
        stop = (t.user_attrs.get("best") or {}).get("stop")
        if t.state == optuna.trial.TrialState.PRUNED and stop == "pruned":
            raise ValueError(
                f"trial {t.number} was pruned: a bank needs an unpruned study (pruner=none)."
            )
        settings = dict(t.user_attrs.get("settings") or {})
        settings0 = settings0 or settings
        evals = list(t.user_attrs.get("evals") or [])
        plan = dict(t.user_attrs.get("plan") or {})
        timing = (timings or {}).get(settings_key(settings))
        if timing is not None and len(timing["seconds"]) == len(evals):
            seconds = [float(s) for s in timing["seconds"]]
            initial = timing.get("initial_loss")
            measured += 1
        else:
            total = (
                (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else 0.0
            )
            last = max(1, int(evals[-1]["step"])) if evals else 1
            seconds = [total * int(e["step"]) / last for e in evals]
            initial = None
        curves.append(
            Curve(
                params=dict(t.params),
                seed=int(settings.get("seed", 0)),
                plan=plan,
                initial_loss=initial,
                epoch=tuple(float(e["epoch"]) for e in evals),
                step=tuple(int(e["step"]) for e in evals),
                val_loss=tuple(float(e["val_loss"]) for e in evals),
                metric=tuple(float(e.get(info.get("metric", ""), math.nan)) for e in evals),
                seconds=tuple(seconds),
                # The test split's curve (data.validation=from_train): judged on, never chosen on.
                test_loss=_column(evals, "test_loss"),
                test_metric=_column(evals, f"test_{info.get('metric', '')}"),
            )
        )
    if not curves:
        raise ValueError(f"study {study.study_name!r} has no finished trial to export.")
    if grid is None:
        grid = {
            name: sorted({c.params[name] for c in curves if name in c.params}, key=_order)
            for name in curves[0].params
        }
    monitor = str(info.get("monitor", "val_loss"))
    fixed = {k: v for k, v in (settings0 or {}).items() if k not in grid}
    n_failed = sum(t.state == optuna.trial.TrialState.FAIL for t in trials)
    return Bank(
        task=str(info.get("task", "")),
        monitor=monitor,
        direction=study.direction.name.lower(),
        metric=str(info.get("metric", "")),
        evals_per_epoch=int(fixed.get("evals_per_epoch", 1)),
        train=fixed,
        grid={k: list(v) for k, v in grid.items()},
        provenance={
            "study": study.study_name,
            "task_info": info,
            "trials_failed": n_failed,
            "seconds": (
                "measured per evaluation"
                if measured == len(curves)
                else f"measured for {measured} of {len(curves)} trials, the rest: trial wall "
                "time shared out by optimizer steps"
            ),
            **dict(provenance or {}),
        },
        curves=tuple(curves),
    )


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))
