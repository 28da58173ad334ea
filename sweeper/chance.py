"""When a monitored value has left chance: one rule for the pruner, the summaries and recommend.

A task's chance level is what a run that learned nothing scores (the objective reports it per
value, :attr:`sweeper.objective.TaskInfo.chance`): for a classification loss the cross-entropy
of the training label prior (ln 2 on a balanced binary task), for accuracy the majority class's
rate, 0 for MCC and the correlations. A value has **left chance** when it beats that level by a
clear margin: :data:`CHANCE_DELTA` of the level's size where the level is away from 0 (losses,
accuracy), or the absolute :data:`CHANCE_FLOOR` where it is near 0 (MCC, Pearson, Spearman, the
F1 of a minority class): there a relative margin is ~0, and any noise (an MCC of -0.048 on 400
examples) would count as a move.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sweeper.direction import better

# Relative margin around a chance level away from 0: 2 % (a loss of 0.693 must reach 0.679).
CHANCE_DELTA = 0.02
# Absolute margin around a chance level whose size is below it (treated as 0): one noisy
# evaluation of MCC or Pearson on a few hundred examples moves by a few hundredths.
CHANCE_FLOOR = 0.05
# What to try when nothing learned, in the order worth trying.
NOTHING_LEARNED_HINT = (
    "try more data, a longer schedule (more epochs), a larger model or a lower learning rate"
)


# Metrics whose chance level is 0 whatever the labels (a constant prediction scores 0): where
# no objective reported a level (a recorded bank replayed), these still have one.
ZERO_CHANCE = ("matthews_corr", "pearson", "spearman")


def known_chance(name: str) -> float | None:
    """The chance level that ``name`` has on every task (0 for :data:`ZERO_CHANCE`), else None."""
    return 0.0 if name in ZERO_CHANCE else None


def recorded_chance(task_info: Mapping[str, Any], name: str) -> float | None:
    """The chance level of ``name`` in a sweep's record of its data (the study's or a bank's
    ``task_info``, whose ``chance`` holds the objective's ``TaskInfo.chance``); None: none
    recorded, or not a finite number."""
    value = (task_info.get("chance") or {}).get(name)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def chance_margin(
    chance: float, *, delta: float = CHANCE_DELTA, floor: float = CHANCE_FLOOR
) -> float:
    """How far from ``chance`` a value must be to count as moved.

    Args:
        chance: The chance level.
        delta: Relative margin, of the chance level's size.
        floor: Absolute margin for a chance level smaller than ``floor`` in size (0: none).

    Returns:
        ``delta * |chance|``, or ``floor`` where ``|chance| < floor``.
    """
    size = abs(chance)
    return floor if size < floor else delta * size


def left_chance(
    value: float,
    chance: float,
    *,
    direction: str,
    delta: float = CHANCE_DELTA,
    floor: float = CHANCE_FLOOR,
) -> bool:
    """Whether ``value`` beats ``chance`` by more than :func:`chance_margin` in ``direction``."""
    margin = chance_margin(chance, delta=delta, floor=floor)
    edge = chance - margin if direction == "minimize" else chance + margin
    return better(value, edge, direction)


def nothing_learned(
    values: list[float], chance: float | None, *, monitor: str, direction: str
) -> str | None:
    """The one line that says no trial left chance, or ``None`` (some did, or nothing to say).

    Args:
        values: The best monitored value of each finished trial (complete or pruned).
        chance: The monitored value's chance level; ``None``: unknown (say nothing).
        monitor: The monitored value's name.
        direction: ``minimize`` or ``maximize``.
    """
    if chance is None or not values:
        return None
    if any(left_chance(v, chance, direction=direction) for v in values):
        return None
    return (
        f"NOTHING LEARNED: no trial's best {monitor} beat its chance level {chance:.4g} (what "
        f"a run that learned nothing scores) by more than {chance_margin(chance):.3g} "
        f"({len(values)} finished trials), so which settings look best here is noise; "
        f"{NOTHING_LEARNED_HINT}."
    )


__all__ = [
    "CHANCE_DELTA",
    "CHANCE_FLOOR",
    "NOTHING_LEARNED_HINT",
    "chance_margin",
    "left_chance",
    "nothing_learned",
    "recorded_chance",
]
