"""Which value trials optimize, and which way: the one place that says so."""

from __future__ import annotations

import math
from typing import Literal

Direction = Literal["minimize", "maximize"]


def monitored(objective: str, *, metric: str) -> str:
    """What trials optimize: ``val_loss``, or the main ``metric`` for ``objective=metric``."""
    return "val_loss" if objective == "val_loss" else metric


DIRECTIONS: tuple[Direction, ...] = ("minimize", "maximize")


def direction_of(monitor: str, *, declared: Direction | None = None) -> Direction:
    """Which way ``monitor`` is optimized.

    ``val_loss`` is minimized. The task's metric goes the way its objective ``declared``
    (``TaskInfo.metric_direction``); undeclared, by its name: a name ending in ``loss`` is
    minimized, every other (accuracy, F1, correlations) maximized, so an error metric such as
    ``rmse``, ``mae`` or ``wer`` must be declared ``minimize``.
    """
    if monitor == "val_loss":
        return "minimize"
    if declared is not None:
        return declared
    return "minimize" if monitor.endswith("loss") else "maximize"


def better(a: float, b: float, direction: str) -> bool:
    """Whether ``a`` is strictly better than ``b`` when optimizing in ``direction``."""
    return a < b if direction == "minimize" else a > b


def worst(direction: str) -> float:
    """The worst value when optimizing ``direction``: what a run with no finite value counts as
    (``inf`` only under minimize; under maximize it would be the best value of all)."""
    return math.inf if direction == "minimize" else -math.inf


__all__ = ["DIRECTIONS", "Direction", "better", "direction_of", "monitored", "worst"]
