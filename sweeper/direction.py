"""Which value trials optimize, and which way: the one place that says so."""

from __future__ import annotations

import math
from typing import Literal

Direction = Literal["minimize", "maximize"]


def monitored(objective: str, *, metric: str) -> str:
    """What trials optimize: ``val_loss``, or the main ``metric`` for ``objective=metric``."""
    return "val_loss" if objective == "val_loss" else metric


def direction_of(monitor: str) -> Direction:
    """Losses are minimized; everything else (accuracy, F1, correlations) is maximized."""
    return "minimize" if monitor == "val_loss" or monitor.endswith("loss") else "maximize"


def better(a: float, b: float, direction: str) -> bool:
    """Whether ``a`` is strictly better than ``b`` when optimizing in ``direction``."""
    return a < b if direction == "minimize" else a > b


def worst(direction: str) -> float:
    """The worst value when optimizing ``direction``: what a run with no finite value counts as
    (``inf`` only under minimize; under maximize it would be the best value of all)."""
    return math.inf if direction == "minimize" else -math.inf


__all__ = ["Direction", "better", "direction_of", "monitored", "worst"]
