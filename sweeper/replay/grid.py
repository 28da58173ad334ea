"""The bank's grid as a replay sees it: configurations (a run's parameters without its seed),
their seed means, and the :class:`Grid` of recorded runs that a sampled draw snaps to.

Separate from the replayed sweep: the regret figures judge against the same seed means, and a
benchmark builds a :class:`Grid` once for many replays.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank, Curve

if TYPE_CHECKING:
    from sweeper.space import SearchSpace

# Grid entries that are repetitions, not search dimensions.
SEED_KEYS = ("seed",)


def config_of(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A run's configuration: its parameters without the seed."""
    return tuple(sorted((k, v) for k, v in params.items() if k not in SEED_KEYS))


def _seed_values(bank: Bank) -> dict[tuple[tuple[str, Any], ...], list[float]]:
    values: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for curve in bank.trained:
        value = bank.best_of(curve)
        if math.isfinite(value):
            values.setdefault(config_of(curve.params), []).append(value)
    return values


def seed_means(bank: Bank) -> dict[tuple[tuple[str, Any], ...], float]:
    """Each configuration's mean best value over its recorded seeds (NaN runs left out)."""
    return {config: sum(v) / len(v) for config, v in _seed_values(bank).items()}


def best_mean(bank: Bank) -> float:
    """The best configuration's seed mean, among the configurations with the most recorded
    seeds (the bank's best run when it has one seed). A configuration a recording cut short
    (one seed where the others have two) is left out: its mean is one seed's luck, and judging
    every sweep against it would compare a lucky run with seed means."""
    cached = _BEST_MEAN.get(id(bank))
    if cached is not None and cached[0] is bank:
        return cached[1]
    values = _seed_values(bank)
    most = max((len(v) for v in values.values()), default=0)
    means = [sum(v) / len(v) for v in values.values() if len(v) == most]
    value = math.nan if not means else min(means) if bank.direction == "minimize" else max(means)
    _BEST_MEAN[id(bank)] = (bank, value)  # asked once per budget and replay: worth keeping
    return value


_BEST_MEAN: dict[int, tuple[Bank, float]] = {}


def exhaustive_epochs(bank: Bank) -> float:
    """What an exhaustive sweep of the recorded configurations costs: one run each (the mean of
    its seeds' epochs); the bank's total when it has one seed."""
    epochs: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for curve in bank.curves:
        epochs.setdefault(config_of(curve.params), []).append(curve.epochs)
    return sum(sum(v) / len(v) for v in epochs.values())


def space_of_bank(bank: Bank) -> SearchSpace:
    """A search space of the bank's grid itself: each entry with several values (but the seed)
    a categorical of those values, so a random draw is uniform over the recorded grid."""
    from sweeper.space import parse_space

    return parse_space(
        {
            name: {"type": "categorical", "choices": list(values)}
            for name, values in bank.grid.items()
            if name not in SEED_KEYS and len(values) > 1
        }
    )


class Grid:
    """The bank's runs by grid point (its seeds' runs under one point), and the nearest point to
    a sampled draw.

    The search space must search every grid entry with several values (but the seed) and
    nothing outside the grid; an entry with one value may be left out (it is fixed)."""

    def __init__(self, bank: Bank, space: SearchSpace) -> None:
        names = [name for name in bank.grid if name not in SEED_KEYS]
        varied = sorted(name for name in names if len(bank.grid[name]) > 1)
        searched = sorted(space.names)
        if not set(varied) <= set(searched) <= set(names):
            raise ValueError(
                f"search space {searched} must search exactly the bank's grid {varied} "
                f"(entries with one value, {sorted(set(names) - set(varied))}, may be added)."
            )
        self.bank = bank
        self.names = names
        self.log = {p.name: p.log for p in space.params}
        self.runs: dict[tuple[Any, ...], list[Curve]] = {}
        for curve in bank.trained:
            self.runs.setdefault(self.key(curve.params), []).append(curve)
        means = seed_means(bank)
        self.mean = {
            point: means.get(config_of(runs[0].params), math.nan)
            for point, runs in self.runs.items()
        }
        missing = math.prod(len(bank.grid[n]) for n in names) - len(self.runs)
        self.missing = missing  # points without a run (a recording cut short, failed runs)

    def key(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        # An entry with one value may be missing from a run's parameters (it was fixed).
        return tuple(params.get(name, self.bank.grid[name][0]) for name in self.names)

    def params(self, point: tuple[Any, ...]) -> dict[str, Any]:
        """The grid entries of ``point`` by name (the inverse of :meth:`key`)."""
        return dict(zip(self.names, point, strict=True))

    def nearest(self, params: Mapping[str, Any], *, exact: str | None = None) -> tuple[Any, ...]:
        """The grid point nearest ``params`` (in log where the entry is log), among points
        that have a run (and, with ``exact``, that entry's value in ``params`` where any
        point has it: a partial bank would otherwise snap a horizon to another one)."""

        def distance(point: tuple[Any, ...]) -> float:
            total = 0.0
            for name, value in zip(self.names, point, strict=True):
                if name not in params:
                    continue  # an entry with one value, not searched
                drawn = params[name]
                if isinstance(value, str) or isinstance(drawn, str):
                    total += 0.0 if value == drawn else 1e9
                elif self.log.get(name):
                    total += abs(math.log(drawn) - math.log(value))
                else:
                    span = max(self.bank.grid[name]) - min(self.bank.grid[name]) or 1.0
                    total += abs(drawn - value) / span
            return total

        points = list(self.runs)
        if exact is not None:
            at = self.names.index(exact)
            points = [p for p in points if p[at] == params[exact]] or points
        return min(points, key=distance)
