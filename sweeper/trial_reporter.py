"""From evaluations to decisions: best value, early stopping, divergence, pruning, curves.

:class:`TrialReporter` is what an objective reports to. At each evaluation it updates the best
value (the trial's objective is the **best** value seen, not the last), asks the pruner, checks
for divergence and early stopping, and flushes the buffered curves to the tracker.

The best point is chosen on the curve median-smoothed over ``select_window`` evaluations on
each side (:func:`best_point`): on a validation set of a few hundred examples one evaluation is
noisy by a few points of accuracy, and the single best of a sweep's hundred evaluations is
mostly the luckiest (the winner's curse); a value its neighbours do not support is not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from sweeper.chance import left_chance
from sweeper.direction import better
from sweeper.objective import Decision
from sweeper.schedule import whole_epochs

if TYPE_CHECKING:
    from sweeper.schedule import StepPlan


class CurveSink(Protocol):
    """Where curves go (a tracking run); points are buffered by the sink, flushed on demand."""

    def add(self, key: str, value: float, step: int) -> None: ...

    def flush(self) -> None: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...


class Watcher(Protocol):
    """Progress display hooks (see :mod:`sweeper.progress`)."""

    def trial_started(self, plan: StepPlan) -> None: ...

    def stepped(self, step: int, lr: float) -> None: ...

    def evaluated(self, evaluation: Evaluation, best: Evaluation, decision: Decision) -> None: ...


# (value, pruner step, is it the last evaluation) -> should the trial be pruned? The pruner step
# is the evaluation's epoch position in evaluations (TrialReporter._pruner_step), comparable
# across trials. The hook reports every value; on the last evaluation its answer is ignored.
PruneHook = Callable[[float, int, bool], bool]


class EarlyStopping:
    """Stop after ``patience`` evaluations without an improvement of more than ``min_delta``.

    Args:
        patience: Evaluations without improvement before stopping; ``None`` never stops.
        min_delta: The smallest change that counts as an improvement.
        direction: ``minimize`` or ``maximize``.
        chance: The monitored value's chance level, where known: evaluations do not count
            toward ``patience`` while the best is still at chance (:mod:`sweeper.chance`).
    """

    def __init__(
        self,
        *,
        patience: int | None,
        min_delta: float = 0.0,
        direction: str,
        chance: float | None = None,
    ) -> None:
        if patience is not None and patience < 0:
            raise ValueError(f"patience must be >= 0 or None but got {patience}.")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0 but got {min_delta}.")
        if direction not in ("minimize", "maximize"):
            raise ValueError(f"direction must be minimize or maximize but got {direction!r}.")
        self.patience = patience
        self.min_delta = min_delta
        self.direction = direction
        self.chance = chance
        self.sign = 1.0 if direction == "minimize" else -1.0
        self.best: float | None = None
        self.bad_evaluations = 0

    def improved(self, value: float) -> bool:
        """Record ``value``; whether it beats the best so far by more than ``min_delta``."""
        if self.best is None or self.sign * (self.best - value) > self.min_delta:
            self.best = value
            self.bad_evaluations = 0
            return True
        # A plateau at chance is not a decline: on small data a long schedule sits at chance
        # (MCC 0.000, the majority class) for epochs before it learns, and patience counted
        # there ended the very trials that learn (docs/benchmarks.md §7). Patience runs once
        # the best has left chance; a trial that never does is the curve pruner's to cut.
        if self.chance is None or left_chance(self.best, self.chance, direction=self.direction):
            self.bad_evaluations += 1
        return False

    @property
    def should_stop(self) -> bool:
        """Whether the last ``patience`` evaluations (at least one) brought no improvement."""
        return self.patience is not None and self.bad_evaluations >= max(1, self.patience)


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """One evaluation of a trial."""

    index: int  # 1-based evaluation number in this trial
    step: int  # optimizer updates taken
    epoch: float  # epochs trained (fractional mid-epoch)
    val_loss: float
    metrics: Mapping[str, float]
    value: float  # the monitored value (val_loss or the task metric)


@dataclass(kw_only=True)
class Outcome:
    """How a trial ended and its best point."""

    best: Evaluation | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    steps_trained: int = 0
    epochs_trained: float = 0.0
    stop: str = "completed"  # completed | early_stopping | pruned | diverged | non_finite
    reason: str = ""
    initial_loss: float | None = None

    @property
    def pruned(self) -> bool:
        return self.stop in ("pruned", "diverged", "non_finite")

    @property
    def best_epoch_whole(self) -> int | None:
        """The whole-epoch count a user would set to include the best point (rounded up)."""
        if self.best is None:
            return None
        return whole_epochs(self.best.epoch)

    def summary(self, metric: str) -> dict[str, Any]:
        """The per-trial record: best value, its metric, step and epoch, and how it ended."""
        best = self.best
        return {
            "best_value": None if best is None else best.value,
            "best_val_loss": None if best is None else best.val_loss,
            f"best_{metric}": None if best is None else best.metrics.get(metric),
            "best_step": None if best is None else best.step,
            "best_epoch": None if best is None else round(best.epoch, 4),
            "best_epoch_whole": self.best_epoch_whole,
            "best_eval_index": None if best is None else best.index,
            "epochs_trained": round(self.epochs_trained, 4),
            "steps_trained": self.steps_trained,
            "evaluations": len(self.evaluations),
            "stop": self.stop,
            "stop_reason": self.reason,
        }


def best_point(
    evaluations: Sequence[Evaluation], *, window: int, direction: str
) -> Evaluation | None:
    """The best evaluation of ``evaluations`` on the curve median-smoothed over ``window``
    evaluations on each side, its ``value`` that median; None where no evaluation is finite.

    A median, not a mean: a lone lucky evaluation (better than both neighbours) counts at its
    neighbours' level, while a curve with no such spike keeps its own best point (a monotone
    run of values is its own median smoothing), so precise curves are not biased. NaNs do not
    count; at the ends of the curve the window holds what there is (two values: their mean).
    Of ties, the better evaluation, then the first. ``window=0``: the plain best.
    """
    best: tuple[float, Evaluation] | None = None
    for j, evaluation in enumerate(evaluations):
        if not math.isfinite(evaluation.value):
            continue
        near = evaluations[max(0, j - window) : j + window + 1]
        value = statistics.median(e.value for e in near if math.isfinite(e.value))
        if (
            best is None
            or better(value, best[0], direction)
            or (value == best[0] and better(evaluation.value, best[1].value, direction))
        ):
            best = (value, evaluation)
    if best is None:
        return None
    return best[1] if window == 0 else replace(best[1], value=best[0])


def best_point_phrase(window: int) -> str:
    """How :func:`best_point` ranks a curve, in the words the summaries print."""
    if window == 0:
        return "best over evaluations"
    return f"best median of {2 * window + 1} neighbouring evaluations"


def pruner_step(epoch: float, evals_per_epoch: int) -> int:
    """The pruner step of epoch position ``epoch``: ``round(epoch * evals_per_epoch)``, at least
    1. A schedule of ``num_epochs`` ends at ``pruner_step(num_epochs, evals_per_epoch)``."""
    return max(1, round(epoch * evals_per_epoch))


class TrialReporter:
    """The :class:`~sweeper.objective.Reporter` of one trial.

    Args:
        monitor: ``val_loss`` or the name of a metric to optimize.
        direction: ``minimize`` or ``maximize`` (of ``monitor``).
        patience: Early-stopping patience in evaluations; ``None`` disables it.
        chance: The monitored value's chance level, where known (early stopping waits until
            the best has left it).
        min_delta: Early-stopping minimum improvement.
        select_window: The best point is chosen on the curve median-smoothed over this many
            evaluations on each side (:func:`best_point`); 0: the single best evaluation.
        evals_per_epoch: Evaluations per epoch (for the evaluation count of a full trial).
        divergence_factor: Prune at the first evaluation when ``val_loss`` exceeds this multiple
            of the first training loss; ``None`` disables the check.
        prune: Reports a value to the pruner and says whether to prune; ``None``: never.
        curves: Where curves go; ``None``: nowhere.
        watcher: Progress display; ``None``: none.
    """

    def __init__(
        self,
        *,
        monitor: str,
        direction: str,
        patience: int | None,
        min_delta: float = 0.0,
        select_window: int = 0,
        evals_per_epoch: int = 1,
        divergence_factor: float | None = None,
        chance: float | None = None,
        prune: PruneHook | None = None,
        curves: CurveSink | None = None,
        watcher: Watcher | None = None,
    ) -> None:
        self.monitor = monitor
        self.direction = direction
        self.early_stopping = EarlyStopping(
            patience=patience, min_delta=min_delta, direction=direction, chance=chance
        )
        if select_window < 0:
            raise ValueError(f"select_window must be >= 0 but got {select_window}.")
        self.select_window = select_window
        self.evals_per_epoch = evals_per_epoch
        self.divergence_factor = divergence_factor
        self.prune = prune
        self.curves = curves
        self.watcher = watcher
        self.plan: StepPlan | None = None
        self.outcome = Outcome()
        self._total_evals = 0
        self._pruner_steps = 0  # the last step reported to the pruner

    # -- the Reporter protocol -------------------------------------------------------------

    def start(self, plan: StepPlan) -> None:
        self.plan = plan
        self._total_evals = len(plan.eval_steps(self.evals_per_epoch))
        if self.curves is not None:
            self.curves.log_params(plan.as_params())
        if self.watcher is not None:
            self.watcher.trial_started(plan)

    def log_lr(self, step: int, lr: float) -> None:
        if self.curves is not None:
            self.curves.add("lr", lr, step)
        self.outcome.steps_trained = step + 1
        if self.watcher is not None:
            self.watcher.stepped(step, lr)

    def log_train_loss(self, step: int, loss: float) -> None:
        if self.outcome.initial_loss is None:
            self.outcome.initial_loss = loss
        if self.curves is not None:
            self.curves.add("train_loss", loss, step)

    def evaluate(self, *, step: int, val_loss: float, metrics: Mapping[str, float]) -> Decision:
        assert self.plan is not None, "start() first"
        index = len(self.outcome.evaluations) + 1
        value = val_loss if self.monitor == "val_loss" else metrics.get(self.monitor, math.nan)
        evaluation = Evaluation(
            index=index,
            step=step,
            epoch=self.plan.epochs_at(step),
            val_loss=val_loss,
            metrics=dict(metrics),
            value=value,
        )
        self.outcome.evaluations.append(evaluation)
        self.outcome.steps_trained = step
        self.outcome.epochs_trained = evaluation.epoch
        if self.curves is not None:
            self.curves.add("val_loss", val_loss, step)
            for key, metric in metrics.items():
                self.curves.add(key, metric, step)
            self.curves.add("epoch", evaluation.epoch, step)
        decision = self._decide(evaluation)
        if self.curves is not None:
            self.curves.flush()
        if self.watcher is not None:
            assert self.outcome.best is not None or decision is Decision.PRUNE
            self.watcher.evaluated(evaluation, self.outcome.best or evaluation, decision)
        return decision

    # -- decisions -------------------------------------------------------------------------

    def _decide(self, evaluation: Evaluation) -> Decision:
        out = self.outcome
        if not (math.isfinite(evaluation.val_loss) and math.isfinite(evaluation.value)):
            out.stop, out.reason = (
                "non_finite",
                (f"non-finite validation {self.monitor} at step {evaluation.step}"),
            )
            return Decision.PRUNE
        # Early stopping hears the plain values (min_delta only decides what resets patience);
        # the best point is chosen on the smoothed curve, which later evaluations may move.
        self.early_stopping.improved(evaluation.value)
        out.best = best_point(out.evaluations, window=self.select_window, direction=self.direction)
        last = evaluation.index >= self._total_evals
        # The pruner hears every evaluation (so later trials are judged against this one too),
        # but a trial at its final evaluation has finished training: pruning it would only
        # throw a complete result away.
        prune = (
            self.prune is not None
            and self.prune(evaluation.value, self._pruner_step(evaluation), last)
            and not last
        )
        # Divergence is judged at the first evaluation only: a run that reached a finite best
        # keeps it, and a later rise is early stopping's to end.
        if evaluation.index == 1 and self._diverged(evaluation):
            out.stop, out.reason = (
                "diverged",
                (
                    f"diverged: val_loss {evaluation.val_loss:.4g} > {self.divergence_factor:g} x "
                    f"initial loss {out.initial_loss:.4g} at step {evaluation.step}"
                ),
            )
            return Decision.PRUNE
        if prune:
            out.stop, out.reason = (
                "pruned",
                (
                    f"pruned at evaluation {evaluation.index} (epoch {evaluation.epoch:.2f}): "
                    f"{self.monitor}={evaluation.value:.4g}"
                ),
            )
            return Decision.PRUNE
        if not last and self.early_stopping.should_stop:
            out.stop, out.reason = (
                "early_stopping",
                (
                    f"no improvement of {self.monitor} in {self.early_stopping.patience} "
                    f"evaluations (best at epoch {out.best.epoch if out.best else 0:.2f})"
                ),
            )
            return Decision.STOP
        return Decision.CONTINUE

    def _diverged(self, evaluation: Evaluation) -> bool:
        initial = self.outcome.initial_loss
        if self.divergence_factor is None or initial is None:
            return False
        return evaluation.val_loss > self.divergence_factor * initial

    def _pruner_step(self, evaluation: Evaluation) -> int:
        """The step the pruner sees: the evaluation's position in epochs, in evaluations.

        ``round(epoch * evals_per_epoch)``, so the same step means the same epoch in every trial
        even where evaluation points merge (fewer optimizer steps per epoch than evaluations:
        with 120 examples and 2 evaluations per epoch, batch 16 and batch 128 both see step 2
        at epoch 1.0). Never below 1 nor at or below the previous step (Optuna keeps the first
        value reported at a step).
        """
        step = max(pruner_step(evaluation.epoch, self.evals_per_epoch), self._pruner_steps + 1)
        self._pruner_steps = step
        return step

    def non_finite(self, step: int) -> None:
        """Record that the training loss became non-finite at ``step``."""
        self.outcome.stop = "non_finite"
        self.outcome.reason = f"non-finite loss at step {step}"
