"""A function objective whose main metric is an error (``rmse``: lower is better), declared so."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sweeper import Decision, Reporter, StepPlan, TaskInfo, TrainSettings
from tests.fake_objective import QuadraticObjective

_STATE: dict[str, QuadraticObjective] = {}


class _AsRmse:
    """Passes evaluations on with the scripted loss as the ``rmse`` metric."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    def start(self, plan: StepPlan) -> None:
        self.reporter.start(plan)

    def log_lr(self, step: int, lr: float) -> None:
        self.reporter.log_lr(step, lr)

    def log_train_loss(self, step: int, loss: float) -> None:
        self.reporter.log_train_loss(step, loss)

    def evaluate(self, *, step: int, val_loss: float, metrics: Mapping[str, float]) -> Decision:
        return self.reporter.evaluate(step=step, val_loss=val_loss, metrics={"rmse": val_loss})


def prepare(*, data: Mapping[str, Any], seed: int) -> TaskInfo:
    _STATE["objective"] = QuadraticObjective(data=data, model={}, seed=seed)
    info = _STATE["objective"].prepare()
    return replace(info, metric="rmse", metric_direction="minimize")


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    _STATE["objective"].train(settings, _AsRmse(reporter), device=device)
