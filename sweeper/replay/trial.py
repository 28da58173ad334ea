"""One replayed trial: a bank's recorded curve revealed to the live reporter, and the
:class:`Trace` a replayed sweep keeps of its trials.

Shared by the flat sweep (:mod:`sweeper.replay.sweep`) and the horizon ladder
(:mod:`sweeper.replay.ladder`), and the trace is what the figures (:mod:`sweeper.replay.figures`)
read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank, Curve

if TYPE_CHECKING:
    import optuna

    from sweeper.replay.policy import Policy
    from sweeper.settings import TrainSettings
    from sweeper.trial_reporter import Evaluation


@dataclass(kw_only=True)
class Trace:
    """One replayed sweep, trial by trial (cumulative compute; incumbent after each trial)."""

    epochs: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    # The answer's recorded value at its best point (the best finished trial, as the study ranks
    # them); inf: none yet. Regret against the bank's best run compares a run's values with a
    # run's values, whatever smoothing ranked the trials (train.select_window).
    incumbent: list[float] = field(default_factory=list)
    # The incumbent's configuration's seed mean (inf: none yet): what the sweep found, without
    # the luck of the seed it was drawn with.
    incumbent_mean: list[float] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)
    points: list[tuple[Any, ...]] = field(default_factory=list)  # the grid point of each trial
    # Each trial's value as the study ranks it, signed (lower is better; inf: pruned or none),
    # appended by :meth:`consider`: a recommendation's candidates are the best few.
    ranked: list[float] = field(default_factory=list)
    # The incumbent's recorded curve and the index of its best point there (None: none yet):
    # the sweep's answer, to judge on another split or seed.
    answer: tuple[Curve, int] | None = None
    answer_trial: int | None = None  # the number of the trial that gave it
    # The answer's trial value as the study ranks it (signed: lower is better), and its
    # configuration's seed mean.
    _ranked: float = field(default=math.inf, init=False, repr=False)
    _mean: float = field(default=math.inf, init=False, repr=False)

    @property
    def total_epochs(self) -> float:
        return self.epochs[-1] if self.epochs else 0.0

    def consider(self, bank: Bank, curve: Curve, best: Evaluation | None, *, mean: float) -> float:
        """A finished trial's ``best`` point on ``curve`` (None: pruned or no finite value)
        becomes the answer where it ranks above the current one (called once per trial, before
        :meth:`add` records it, so the trial's number is the count so far); ``mean``: its
        configuration's seed mean. Returns the trial's value signed (lower is better; inf:
        none), as a ladder ranks its rung."""
        if best is None or not math.isfinite(best.value):
            self.ranked.append(math.inf)
            return math.inf
        value = (1.0 if bank.direction == "minimize" else -1.0) * best.value
        self.ranked.append(value)
        if value < self._ranked:
            self._ranked, self._mean = value, mean
            self.answer, self.answer_trial = (curve, best.index - 1), len(self.epochs)
        return value

    def add(
        self, bank: Bank, *, totals: tuple[float, float], stop: str, point: tuple[Any, ...]
    ) -> None:
        """Record a finished trial (after :meth:`consider`): the compute so far (epochs,
        seconds) and the incumbent, in the bank's own direction."""
        self.epochs.append(totals[0])
        self.seconds.append(totals[1])
        if self.answer is None:
            self.incumbent.append(math.inf)
            self.incumbent_mean.append(math.inf)
        else:
            curve, k = self.answer
            self.incumbent.append(bank.values(curve)[k])
            self.incumbent_mean.append(self._mean)
        self.stops.append(stop)
        self.points.append(point)

    def top_points(self, k: int) -> list[tuple[Any, ...]]:
        """The ``k`` best distinct grid points the sweep finished, best first (a point drawn
        twice counts at its better trial): what ``sweeper.recommend`` re-runs on fresh seeds."""
        order = sorted((v, n) for n, v in enumerate(self.ranked) if math.isfinite(v))
        out: list[tuple[Any, ...]] = []
        for _, n in order:
            if self.points[n] not in out:
                out.append(self.points[n])
        return out[:k]

    @property
    def total_seconds(self) -> float:
        return self.seconds[-1] if self.seconds else 0.0


PruneHookFactory = Callable[["optuna.Trial"], Callable[[float, int, bool], bool]]


def reveal(
    bank: Bank, curve: Curve, settings: TrainSettings, prune: Callable[[float, int, bool], bool]
) -> tuple[Any, int]:
    """Hand ``curve``'s evaluations one by one to a live reporter until it stops the run: its
    outcome and the index of the last evaluation revealed."""
    from sweeper.objective import Decision
    from sweeper.schedule import StepPlan
    from sweeper.train_once import new_reporter

    reporter = new_reporter(
        settings,
        monitor=bank.monitor,
        direction=bank.direction,
        chance=bank.chance_of(bank.monitor),  # early stopping waits while at chance
        prune=prune,
    )
    reporter.start(StepPlan(**curve.plan))
    if curve.initial_loss is not None:
        reporter.log_train_loss(0, curve.initial_loss)
    k = 0
    for k in range(len(curve.step)):
        decision = reporter.evaluate(
            step=curve.step[k],
            val_loss=curve.val_loss[k],
            metrics={bank.metric: curve.metric[k]},
        )
        if decision is not Decision.CONTINUE:
            break
    return reporter.outcome, k


def base_settings(bank: Bank, policy: Policy) -> TrainSettings:
    """The settings a replayed trial starts from: the bank's fixed train settings at its grid's
    first point, with the policy's early stopping and divergence."""
    from sweeper.settings import TrainSettings

    # A seed grid entry (not in the bank's fixed train settings) sets the settings' seed here;
    # it does not change a recorded run.
    first = {name: values[0] for name, values in bank.grid.items()}
    return TrainSettings.from_params(
        {
            **bank.train,
            **first,
            "patience": policy.patience,
            "min_delta": policy.min_delta,
            "select_window": policy.select_window,
            "divergence_factor": policy.divergence_factor,
        }
    )
