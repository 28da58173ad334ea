"""Repetitions and their statistics: arms run interleaved repetition by repetition
(:func:`interleaved`), paired ratios as median [min, max] (:class:`Spread`), goals met or missed
(:func:`verdict`).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, spec: str = ".3g", suffix: str = "") -> str:
        """``1.01x [0.99, 1.03]``: the median, then the range over the repetitions."""
        return (
            f"{self.median:{spec}}{suffix} [{self.low:{spec}}, {self.high:{spec}}]"
            if self.n > 1
            else f"{self.median:{spec}}{suffix}"
        )

    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.median, self.low, self.high))


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Spread:
    """Ratios of paired repetitions (same repetition index), as a :class:`Spread`."""
    if len(numerators) != len(denominators):
        raise ValueError(f"unpaired: {len(numerators)} vs {len(denominators)} measurements")
    return Spread.of([a / b for a, b in zip(numerators, denominators, strict=True)])


def verdict(value: float, goal: float, *, at_most: bool, points: bool = False) -> str:
    """``met``, or by how much the goal was missed: relative to the goal, or, for goals that
    are fractions themselves (``points``), in percentage points."""
    if not math.isfinite(value):
        return "no figure"
    if (value <= goal) if at_most else (value >= goal):
        return "met"
    if points:
        return f"MISSED by {abs(value - goal) * 100:.1f} points"
    return f"MISSED by {abs(value / goal - 1):.1%}"


Measure = dict[str, float]


def interleaved(
    arms: Mapping[str, Callable[[int], Measure]],
    *,
    reps: int,
    warmup: int = 0,
    progress: bool = True,
) -> dict[str, list[Measure]]:
    """Run each arm ``warmup`` + ``reps`` times, the order rotating every repetition.

    Arms get the repetition index (negative for warm-up runs, whose results are dropped) so
    they can name their outputs uniquely. Returns each arm's measurements in repetition order,
    so index ``i`` of two arms comes from the same round.
    """
    names = list(arms)
    out: dict[str, list[Measure]] = {name: [] for name in names}
    for rep in range(-warmup, reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            result = arms[name](rep)
            if progress:
                tag = "warm-up" if rep < 0 else f"rep {rep + 1}/{reps}"
                print(
                    f"  .. {name} ({tag}) {time.perf_counter() - started:.1f}s",
                    file=sys.stderr,
                    flush=True,
                )
            if rep >= 0:
                out[name].append(result)
    return out


def column(results: Sequence[Measure], key: str) -> list[float]:
    return [r[key] for r in results]
