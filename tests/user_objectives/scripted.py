"""A function objective: the scripted quadratic objective behind ``prepare()`` and ``train()``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeper import Reporter, TaskInfo, TrainSettings
from tests.fake_objective import QuadraticObjective

PREPARED: list[dict[str, Any]] = []  # the keywords each prepare() call got (for assertions)
_STATE: dict[str, QuadraticObjective] = {}


def prepare(*, data: Mapping[str, Any], seed: int) -> TaskInfo:
    """Asks for ``data`` and ``seed`` only (sweeper passes the keywords a prepare declares)."""
    PREPARED.append({"data": dict(data), "seed": seed})
    _STATE["objective"] = QuadraticObjective(data=data, model={}, seed=seed)
    return _STATE["objective"].prepare()


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    _STATE["objective"].train(settings, reporter, device=device)
