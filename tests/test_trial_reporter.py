from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from sweeper.objective import Decision
from sweeper.schedule import plan_steps
from sweeper.trial_reporter import EarlyStopping, Evaluation, PruneHook, TrialReporter, best_point


def _stopped_at(es: EarlyStopping, values: list[float]) -> int | None:
    """The evaluation (1-based) after which ``es`` stops, or None."""
    for i, v in enumerate(values, start=1):
        es.improved(v)
        if es.should_stop:
            return i
    return None


@pytest.mark.parametrize(
    ("patience", "min_delta", "direction", "values", "stops_after"),
    [
        (2, 0.0, "minimize", [1.0, 0.9, 0.95, 0.96], 4),
        (2, 0.0, "minimize", [1.0, 0.9, 0.95, 0.85, 0.86, 0.87], 6),
        (1, 0.0, "minimize", [1.0, 1.1], 2),
        (0, 0.0, "minimize", [1.0, 1.0], 2),  # patience 0: the first non-improvement stops
        (2, 0.1, "minimize", [1.0, 0.95, 0.92], 3),  # improvements below min_delta do not count
        (2, 0.0, "maximize", [0.5, 0.6, 0.55, 0.58], 4),
        (None, 0.0, "minimize", [1.0, 2.0, 3.0, 4.0, 5.0], None),
    ],
)
def test_early_stopping(
    patience: int | None,
    min_delta: float,
    direction: str,
    values: list[float],
    stops_after: int | None,
) -> None:
    es = EarlyStopping(patience=patience, min_delta=min_delta, direction=direction)
    assert _stopped_at(es, values) == stops_after


@pytest.mark.parametrize(
    ("chance", "direction", "values", "stops_after"),
    [
        # A long small-data schedule at MCC 0 (chance) for epochs before it learns: patience
        # waits at chance (it stopped this trial at its third evaluation), then runs as usual.
        (0.0, "maximize", [0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.09, 0.08], 8),
        (0.0, "maximize", [0.0, -0.03, 0.02, 0.0, 0.0], None),  # noise within the floor
        (0.693, "minimize", [0.693, 0.694, 0.692, 0.60, 0.61, 0.62], 6),
        (0.693, "minimize", [0.60, 0.61, 0.62], 3),  # left chance at once: as before
        (None, "maximize", [0.0, 0.0, 0.0], 3),  # no chance level known: as before
    ],
)
def test_early_stopping_waits_while_the_best_is_at_chance(
    chance: float | None, direction: str, values: list[float], stops_after: int | None
) -> None:
    es = EarlyStopping(patience=2, direction=direction, chance=chance)
    assert _stopped_at(es, values) == stops_after


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": -1}, "patience"),
        ({"min_delta": -0.1}, "min_delta"),
        ({"direction": "up"}, "direction"),
    ],
)
def test_early_stopping_rejects_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"patience": 1, "min_delta": 0.0, "direction": "minimize", **kwargs}
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**args)


class Sink:
    def __init__(self) -> None:
        self.points: list[tuple[str, float, int]] = []
        self.flushed = 0
        self.params: dict[str, Any] = {}

    def add(self, key: str, value: float, step: int) -> None:
        self.points.append((key, value, step))

    def flush(self) -> None:
        self.flushed += 1

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)


def _run(
    reporter: TrialReporter, losses: list[float], *, train_loss: float = 0.7
) -> list[Decision]:
    # 10 steps per epoch, 2 evaluations per epoch, 3 epochs: evaluations at 5, 10, ..., 30.
    plan = plan_steps(num_examples=100, batch_size=10, num_epochs=3)
    reporter.start(plan)
    decisions = []
    steps = plan.eval_steps(2)
    for step in range(plan.num_training_steps):
        reporter.log_lr(step, 1e-3)
        if step == 0:
            reporter.log_train_loss(1, train_loss)
        if step + 1 in steps:
            i = steps.index(step + 1)
            d = reporter.evaluate(
                step=step + 1, val_loss=losses[i], metrics={"accuracy": 1 - losses[i]}
            )
            decisions.append(d)
            if d is not Decision.CONTINUE:
                break
    return decisions


def test_objective_is_best_not_last_and_best_epoch_is_recorded() -> None:
    sink = Sink()
    reporter = TrialReporter(
        monitor="val_loss", direction="minimize", patience=None, evals_per_epoch=2, curves=sink
    )
    decisions = _run(reporter, [0.6, 0.4, 0.3, 0.35, 0.5, 0.55])
    assert decisions == [Decision.CONTINUE] * 6
    out = reporter.outcome
    assert out.best is not None and out.best.value == 0.3 and out.evaluations[-1].value == 0.55
    assert out.best.step == 15 and out.best.epoch == 1.5 and out.best_epoch_whole == 2
    summary = out.summary("accuracy")
    assert summary["best_val_loss"] == 0.3 and summary["best_accuracy"] == pytest.approx(0.7)
    assert summary["epochs_trained"] == 3.0 and summary["stop"] == "completed"
    # Curves: one lr point per update (30), val_loss per evaluation, flushed at each evaluation.
    assert len([p for p in sink.points if p[0] == "lr"]) == 30
    assert [p[1] for p in sink.points if p[0] == "val_loss"] == [0.6, 0.4, 0.3, 0.35, 0.5, 0.55]
    assert sink.flushed == 6
    assert sink.params["num_training_steps"] == 30 and sink.params["schedule_horizon_epochs"] == 3


def test_early_stopping_stops_and_keeps_best() -> None:
    reporter = TrialReporter(
        monitor="val_loss", direction="minimize", patience=2, evals_per_epoch=2
    )
    decisions = _run(reporter, [0.6, 0.4, 0.45, 0.5, 0.2, 0.1])
    assert decisions == [Decision.CONTINUE, Decision.CONTINUE, Decision.CONTINUE, Decision.STOP]
    assert reporter.outcome.stop == "early_stopping" and not reporter.outcome.pruned
    assert reporter.outcome.best is not None and reporter.outcome.best.value == 0.4
    assert reporter.outcome.epochs_trained == 2.0


def _evaluations(values: list[float]) -> list[Evaluation]:
    return [
        Evaluation(index=i, step=5 * i, epoch=i / 2, val_loss=v, metrics={}, value=v)
        for i, v in enumerate(values, start=1)
    ]


NAN = float("nan")


@pytest.mark.parametrize(
    ("values", "window", "direction", "index", "value"),
    [
        # window 0: the plain best evaluation (the lone spike at evaluation 3)
        ([0.60, 0.62, 0.90, 0.58, 0.80, 0.82, 0.81], 0, "maximize", 3, 0.90),
        # window 1: the spike counts at its neighbours' level; the plateau it beat wins (at the
        # end of the curve the window holds two values: their mean)
        ([0.60, 0.62, 0.90, 0.58, 0.80, 0.82, 0.81], 1, "maximize", 7, 0.815),
        # a clean V keeps its own best point, valued as its better neighbour
        ([0.40, 0.37, 0.35, 0.59, 0.83], 1, "minimize", 3, 0.37),
        # a dip between two bad neighbours loses to a supported plateau when minimizing too
        ([0.9, 0.3, 0.9, 0.45, 0.42, 0.44, 0.5], 1, "minimize", 5, 0.44),
        # a monotone curve: its own last point (the window there: the mean of the last two)
        ([0.5, 0.6, 0.7, 0.8], 1, "maximize", 4, 0.75),
        # equal windows (every evaluation in each): the better evaluation, not the first
        ([0.5, 0.6], 2, "maximize", 2, 0.55),
        ([0.5, 0.6], 2, "minimize", 1, 0.55),
        # NaN neither counts in a window nor is chosen
        ([NAN, 0.7, NAN, 0.8, 0.6], 1, "maximize", 4, 0.7),
        ([NAN, NAN], 2, "maximize", None, None),
    ],
)
def test_the_best_point_is_the_best_median_of_its_neighbours(
    values: list[float], window: int, direction: str, index: int | None, value: float | None
) -> None:
    best = best_point(_evaluations(values), window=window, direction=direction)
    if index is None:
        assert best is None
        return
    assert best is not None and best.index == index and best.value == pytest.approx(value)
    assert best.val_loss == values[index - 1]  # the evaluation's own values stay its own


def test_a_lucky_evaluation_does_not_win_the_trial_and_early_stopping_hears_the_plain_curve() -> (
    None
):
    reporter = TrialReporter(
        monitor="accuracy", direction="maximize", patience=3, evals_per_epoch=2, select_window=1
    )
    # accuracy = 1 - loss: 0.55, 0.60, 0.85 (lucky), 0.58, 0.78, 0.80
    _run(reporter, [0.45, 0.40, 0.15, 0.42, 0.22, 0.20])
    out = reporter.outcome
    assert out.stop == "completed"  # 0.85 was not beaten for 3 evaluations, 0.80 came at the 3rd
    assert out.best is not None and out.best.index == 6 and out.best.epoch == 3.0
    assert out.best.value == pytest.approx((0.78 + 0.80) / 2)
    summary = out.summary("accuracy")
    assert summary["best_value"] == pytest.approx(0.79) and summary["best_accuracy"] == 0.8
    assert summary["best_epoch_whole"] == 3
    with pytest.raises(ValueError, match="select_window must be >= 0 but got -1"):
        TrialReporter(monitor="val_loss", direction="minimize", patience=None, select_window=-1)


def test_monitoring_a_metric_maximizes_it() -> None:
    reporter = TrialReporter(
        monitor="accuracy", direction="maximize", patience=None, evals_per_epoch=2
    )
    _run(reporter, [0.6, 0.4, 0.3, 0.35, 0.5, 0.55])
    assert reporter.outcome.best is not None
    assert (
        reporter.outcome.best.value == pytest.approx(0.7) and reporter.outcome.best.val_loss == 0.3
    )


def test_pruner_decides_but_never_on_the_last_evaluation() -> None:
    calls: list[tuple[float, int, bool]] = []

    def prune(value: float, index: int, last: bool) -> bool:
        calls.append((value, index, last))
        return index == 2

    reporter = TrialReporter(
        monitor="val_loss", direction="minimize", patience=None, evals_per_epoch=2, prune=prune
    )
    assert _run(reporter, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]) == [Decision.CONTINUE, Decision.PRUNE]
    assert reporter.outcome.pruned and reporter.outcome.stop == "pruned"
    assert "pruned at evaluation 2" in reporter.outcome.reason
    last_only = TrialReporter(
        monitor="val_loss",
        direction="minimize",
        patience=None,
        evals_per_epoch=2,
        prune=lambda v, i, last: last,
    )
    assert _run(last_only, [0.6, 0.5, 0.4, 0.3, 0.2, 0.1])[-1] is Decision.CONTINUE
    assert [c[2] for c in calls] == [False, False]  # the first reporter stopped at evaluation 2


def test_divergence_is_pruned_at_the_first_evaluation() -> None:
    reporter = TrialReporter(
        monitor="val_loss",
        direction="minimize",
        patience=5,
        evals_per_epoch=2,
        divergence_factor=3.0,
    )
    assert _run(reporter, [5.0, 0.1], train_loss=0.7) == [Decision.PRUNE]
    assert reporter.outcome.stop == "diverged" and "diverged: val_loss 5" in reporter.outcome.reason


def test_non_finite_validation_loss_prunes() -> None:
    reporter = TrialReporter(
        monitor="val_loss", direction="minimize", patience=5, evals_per_epoch=2
    )
    assert _run(reporter, [0.5, float("nan")]) == [Decision.CONTINUE, Decision.PRUNE]
    assert reporter.outcome.stop == "non_finite"
    assert reporter.outcome.best is not None and reporter.outcome.best.value == 0.5


def _diverging_at_3x(prune: PruneHook | None = None) -> TrialReporter:
    """A reporter that calls a trial diverged past 3 x its first train loss, no early stopping."""
    return TrialReporter(
        monitor="val_loss",
        direction="minimize",
        patience=None,
        evals_per_epoch=2,
        divergence_factor=3.0,
        prune=prune,
    )


def test_a_late_rise_past_the_divergence_limit_keeps_the_finite_best() -> None:
    # Issue 14 #2: 0.40, 0.33, 0.45, 0.9, 1.5, 2.2 with a first train loss of 0.69 rises past
    # 3 x 0.69 at the end; that trial trained fine and its best (0.33) must not be thrown away.
    reporter = _diverging_at_3x()
    decisions = _run(reporter, [0.40, 0.33, 0.45, 0.9, 1.5, 2.2], train_loss=0.69)
    assert Decision.PRUNE not in decisions
    out = reporter.outcome
    assert not out.pruned and out.stop == "completed"
    assert out.best is not None and out.best.value == 0.33


def _pruner_steps(*, num_examples: int, batch_size: int, epochs: int = 3) -> dict[int, float]:
    """pruner step -> epoch, as a trial of this size reports them."""
    seen: dict[int, float] = {}

    def prune(value: float, step: int, last: bool) -> bool:
        seen[step] = value
        return False

    reporter = TrialReporter(
        monitor="val_loss", direction="minimize", patience=None, evals_per_epoch=2, prune=prune
    )
    plan = plan_steps(num_examples=num_examples, batch_size=batch_size, num_epochs=epochs)
    reporter.start(plan)
    for step in plan.eval_steps(2):
        # The value reported is the epoch itself, so the test reads which epoch a step meant.
        reporter.evaluate(step=step, val_loss=plan.epochs_at(step), metrics={})
    return seen


@pytest.mark.parametrize(
    ("num_examples", "batch_size"),
    [(120, 16), (120, 128), (100, 10), (120, 64), (30, 7)],
)
def test_pruner_steps_mean_the_same_epoch_in_every_trial(
    num_examples: int, batch_size: int
) -> None:
    # Issue 14 #9: with 120 examples and 2 evaluations per epoch, batch 128 has one optimizer
    # step per epoch, so evaluation points merge; step 2 must still mean epoch 1.0, as at batch 16.
    seen = _pruner_steps(num_examples=num_examples, batch_size=batch_size)
    for step, epoch in seen.items():
        assert step == round(epoch * 2), (step, epoch)
    assert seen[2] == 1.0


def test_pruner_steps_stay_increasing_when_positions_round_together() -> None:
    # 3 updates per epoch, 4 evaluations per epoch: points merge and positions are uneven.
    steps: list[int] = []
    reporter = TrialReporter(
        monitor="val_loss",
        direction="minimize",
        patience=None,
        evals_per_epoch=4,
        prune=lambda v, s, last: steps.append(s) or False,
    )
    plan = plan_steps(num_examples=30, batch_size=10, num_epochs=2)
    reporter.start(plan)
    for step in plan.eval_steps(4):
        reporter.evaluate(step=step, val_loss=1.0, metrics={})
    assert steps == sorted(set(steps)) and len(steps) == len(plan.eval_steps(4))


def test_a_trial_diverging_at_its_first_evaluation_still_reports_it_to_the_pruner() -> None:
    # Later trials are judged against this one's value at that step.
    heard: list[tuple[float, int]] = []
    reporter = _diverging_at_3x(prune=lambda v, s, last: heard.append((v, s)) or False)
    assert _run(reporter, [5.0, 0.1], train_loss=0.7) == [Decision.PRUNE]
    assert reporter.outcome.stop == "diverged" and heard == [(5.0, 1)]
