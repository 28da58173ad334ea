"""The contract between sweeper and a training objective.

An objective trains and evaluates; it knows nothing of Optuna or MLflow. It calls a
:class:`Reporter` at every optimizer step (learning rate), every logging interval (train loss)
and every evaluation, and stops when an evaluation returns anything but
:attr:`Decision.CONTINUE`. The reporter turns those calls into pruning, early stopping, progress
and tracking.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sweeper.schedule import StepPlan
    from sweeper.settings import TrainSettings


class Decision(enum.Enum):
    """What the objective does after an evaluation."""

    CONTINUE = "continue"
    STOP = "stop"  # early stopping: the trial is complete, its best value stands
    PRUNE = "prune"  # pruned (by the pruner, or diverged / non-finite): the trial ends PRUNED


class Reporter(Protocol):
    """What an objective reports to, in order: ``start``, then steps and evaluations."""

    def start(self, plan: StepPlan) -> None:
        """Called once before the first step, with the trial's step plan."""

    def log_lr(self, step: int, lr: float) -> None:
        """The learning rate update ``step`` (0-based) used; called once per optimizer update."""

    def log_train_loss(self, step: int, loss: float) -> None:
        """Mean training loss over the last logging interval, after ``step`` updates."""

    def evaluate(self, *, step: int, val_loss: float, metrics: Mapping[str, float]) -> Decision:
        """An evaluation after ``step`` updates; returns what to do next."""
        ...


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """What an objective tells sweeper about its data once prepared."""

    task: str
    source: str  # glue_dir | hub | builtin
    origin: str  # the folder, hub id or generator that the examples came from
    model: str
    num_train: int
    num_eval: int
    metric: str  # the task's main metric (maximized when sweep.objective=metric)
    is_regression: bool = False
    notes: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


class Objective(Protocol):
    """A training objective (``objective:`` in the config names the class).

    The class is built with ``data=``, ``model=`` (config nodes) and ``seed=``. It may also
    offer a static ``check_config(*, data, model)`` that raises a
    :class:`~sweeper.errors.SweeperError` for bad nodes without loading anything; sweeper calls
    it with the other config checks, before connecting to storage.
    """

    def prepare(self) -> TaskInfo:
        """Load and tokenize data and check the model, once per sweep, before any trial."""
        ...

    def train(self, settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
        """Train one trial with ``settings``, reporting as it goes, until done or told to stop.

        Raises:
            sweeper.errors.NonFiniteLossError: the loss became NaN or infinite.
        """
