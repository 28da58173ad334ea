"""A ``prepare()`` declaring a direction sweeper does not know."""

from __future__ import annotations

from sweeper import Reporter, TaskInfo, TrainSettings


def prepare() -> TaskInfo:
    return TaskInfo(
        task="mine",
        source="user",
        origin="tests",
        model="none",
        num_train=10,
        num_eval=10,
        metric="rmse",
        metric_direction="lower",  # type: ignore[arg-type]
    )


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    raise AssertionError("never called")
