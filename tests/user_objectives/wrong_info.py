"""A ``prepare()`` that returns a dict instead of a TaskInfo."""

from __future__ import annotations

from typing import Any

from sweeper import Reporter, TrainSettings


def prepare() -> Any:
    return {"task": "mine", "num_train": 10}


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    raise AssertionError("never called")
