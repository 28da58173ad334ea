"""Which value trials optimize, and which way: the one place that says so."""

from __future__ import annotations

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


__all__ = ["Direction", "better", "direction_of", "monitored"]
