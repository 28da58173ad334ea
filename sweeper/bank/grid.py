"""The grid a bank records: its default (the default search space in a few values per entry),
``--grid`` entries parsed, and every point queued in a seeded order as Hydra overrides.

Pure: no study runs here (:mod:`sweeper.bank.recording` does).
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

# The default grid: the default search space (conf/search_space/default.yaml) in a few values
# per entry. 5 x 2 x 3 x 3 = 90 configs, 180 epochs in all.
DEFAULT_GRID: dict[str, list[Any]] = {
    "lr": [1.0e-5, 2.5e-5, 6.0e-5, 1.3e-4, 3.0e-4],
    "warmup_ratio": [0.05, 0.2],
    "num_epochs": [1, 2, 3],
    "scheduler": ["linear", "cosine", "constant_with_warmup"],
}


def grid_points(grid: Mapping[str, Sequence[Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """Every point of ``grid`` in a seeded random order: a recording cut short is still an
    unbiased sample of the grid, not one corner of it."""
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    random.Random(seed).shuffle(points)
    return points


def grid_overrides(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """``search_space=none``, one categorical entry per grid dimension, every point queued.

    Queued points rather than ``sampler=grid``: the grid sampler, rebuilt per trial by
    sweeper's per-trial seeding, was seen to repeat a point and skip another.
    """
    out = ["search_space=none"]
    for name, values in grid.items():
        choices = ", ".join(json.dumps(v) for v in values)
        out.append(f"+search_space.{name}={{type: categorical, choices: [{choices}]}}")
    queued = ", ".join(
        "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in point.items()) + "}"
        for point in grid_points(grid)
    )
    out.append(f"sweep.enqueue=[{queued}]")
    return out


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["lr=1e-5,3e-5", "scheduler=linear"]`` -> the default grid with those replaced."""
    grid = {k: list(v) for k, v in DEFAULT_GRID.items()}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"--grid entries must look like name=v1,v2 but got {item!r}.")
        grid[name] = [_scalar(v.strip()) for v in values.split(",")]
    return grid


def _scalar(text: str) -> Any:
    """``"2"`` -> 2, ``"1e-4"`` -> 0.0001 (YAML would keep that a string), else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
