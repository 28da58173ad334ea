"""A study's trials as plain records: what the summary, the plots and the recommendation read.

Everything comes from the Optuna storage (user attributes written when a trial starts and when it
ends), so it works with ``tracking=none`` and for trials run by other workers or earlier runs.
:class:`TrialAttrs` is the one schema of those attributes: the sweep writes it
(:meth:`TrialAttrs.to_attrs`), everything else reads it (:meth:`TrialRecord.from_trial`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sweeper.tracking import RUN_ID_ATTR, recorded_id

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from sweeper.trial_reporter import TrialReporter

# Why a stale trial failed. Optuna fails it before any callback runs and a finished trial takes
# no more attributes, so the worker that fails it (sweeper.study.storage._StaleRetry) puts the
# reason on the study, under this key with the trial's number.
STALE_REASON = "worker stopped sending heartbeats"
STALE_KEY = "reason:trial {}"
# A trial's last pruner step as planned (its schedule's end, in evaluations), set by the prune
# hook before the first report: sweeper.pruners.CurvePruner scales what a trial may still gain
# by how much of its schedule is left.
FINAL_STEP_KEY = "pruner_final_step"


@dataclass(frozen=True, kw_only=True)
class TrialAttrs:
    """What sweeper records on a trial (its Optuna user attributes), in two parts: when it starts
    (settings, tracking run, recipe, retry) and when it ends (plan, best point, reason, every
    evaluation)."""

    settings: dict[str, Any] = field(default_factory=dict)  # every train setting used
    plan: dict[str, Any] = field(default_factory=dict)  # the StepPlan fields
    evals: list[dict[str, float]] = field(default_factory=list)  # per evaluation
    best: dict[str, Any] = field(default_factory=dict)  # best_val_loss, best_epoch...
    reason: str = ""  # prune / failure / early-stopping reason
    tracking_run_id: str | None = None  # named RUN_ID_ATTR in the study
    retry_of: int | None = None
    recipe: str | None = None  # the portfolio recipe this trial ran (sweeper.portfolio)

    @classmethod
    def ended(cls, reporter: TrialReporter | None, *, reason: str, metric: str) -> dict[str, Any]:
        """The end-of-trial part, as user attributes: what ``reporter`` saw (only the reason
        when the trial failed before it had one; no plan before the trial planned)."""
        if reporter is None:
            return cls(reason=reason).to_attrs("reason")
        outcome = reporter.outcome
        attrs = cls(
            plan=asdict(reporter.plan) if reporter.plan is not None else {},
            best=outcome.summary(metric),
            reason=reason,
            evals=[
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
        names = ("plan",) if reporter.plan is not None else ()
        return attrs.to_attrs(*names, "best", "reason", "evals")

    def to_attrs(self, *names: str) -> dict[str, Any]:
        """The fields ``names`` (every field when none is named) as user attributes; a field
        that is None is left out (a part of the record leaves the others alone)."""
        keys = names or tuple(f.name for f in fields(TrialAttrs))
        return {k: v for k in keys if (v := getattr(self, k)) is not None}


@dataclass(frozen=True, kw_only=True)
class TrialRecord(TrialAttrs):
    """One finished (or failed) trial: what sweeper recorded, and what Optuna knows of it."""

    number: int
    state: str  # COMPLETE | PRUNED | FAIL | RUNNING | WAITING
    params: dict[str, Any]  # the sampled hyperparameters
    value: float | None  # the objective (best monitored value) for COMPLETE trials
    duration_s: float | None = None

    @classmethod
    def from_trial(cls, trial: FrozenTrial, *, stale: str | None = None) -> TrialRecord:
        """A record from a frozen Optuna trial.

        Args:
            stale: The reason another worker recorded when it failed this trial as stale (its
                own worker died before it could record one).
        """
        attrs: Mapping[str, Any] = trial.user_attrs
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        return cls(
            number=trial.number,
            state=trial.state.name,
            params=dict(trial.params),
            value=trial.value if trial.state.name == "COMPLETE" else None,
            settings=dict(attrs.get("settings") or {}),
            plan=dict(attrs.get("plan") or {}),
            evals=list(attrs.get("evals") or []),
            best=dict(attrs.get("best") or {}),
            reason=str(attrs.get("reason") or stale or ""),
            tracking_run_id=recorded_id(attrs, RUN_ID_ATTR),
            retry_of=trial.system_attrs.get("failed_trial"),
            duration_s=duration,
            recipe=attrs.get("recipe"),
        )

    @property
    def best_epoch(self) -> float | None:
        value = self.best.get("best_epoch")
        return None if value is None else float(value)

    @property
    def best_epoch_whole(self) -> int | None:
        value = self.best.get("best_epoch_whole")
        return None if value is None else int(value)

    def lr_curve(self) -> list[float]:
        """The LR of every update this trial took, from the schedule module (as trained)."""
        if not self.plan or not self.settings:
            return []
        from sweeper.schedule import StepPlan, lr_curve

        plan = StepPlan(**self.plan)
        kwargs = {
            k.removeprefix("scheduler_kwargs."): v
            for k, v in self.settings.items()
            if k.startswith("scheduler_kwargs.")
        }
        curve = lr_curve(
            name=str(self.settings["scheduler"]),
            plan=plan,
            base_lr=float(self.settings["lr"]),
            kwargs=kwargs,
        )
        steps = int(self.best.get("steps_trained") or len(curve))
        return curve[:steps]


def record(trial: FrozenTrial, *, stale: str | None = None) -> TrialRecord:
    """A :class:`TrialRecord` from a frozen Optuna trial (:meth:`TrialRecord.from_trial`)."""
    return TrialRecord.from_trial(trial, stale=stale)


def records(study: optuna.Study) -> list[TrialRecord]:
    """Every trial of ``study`` as a record, in trial order."""
    attrs = study.user_attrs
    return [
        record(t, stale=attrs.get(STALE_KEY.format(t.number)))
        for t in study.get_trials(deepcopy=False)
    ]


def ranked(items: list[TrialRecord], *, direction: str) -> list[TrialRecord]:
    """COMPLETE trials, best first."""
    sign = 1.0 if direction == "minimize" else -1.0
    done = [r for r in items if r.state == "COMPLETE" and r.value is not None]
    return sorted(done, key=lambda r: sign * float(r.value or 0.0))
