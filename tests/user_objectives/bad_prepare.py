"""A ``prepare()`` that asks for something sweeper does not give."""

from __future__ import annotations

from sweeper import Reporter, TaskInfo, TrainSettings


def prepare(path: str) -> TaskInfo:
    raise AssertionError("never called")


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    raise AssertionError("never called")
