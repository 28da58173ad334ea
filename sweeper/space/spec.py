"""A validated search space in memory: :class:`ParamSpec` (one entry), :class:`SearchSpace` (the
ordered entries: sampled, its corners, its grid) and the :class:`Suggest` protocol sampling goes
through, which ``optuna.Trial`` satisfies, so no module here imports Optuna.

Separate from parsing: the portfolio and the boundary finding read a space without parsing one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import product
from typing import Any, Protocol

from sweeper.errors import ConfigError


class Suggest(Protocol):
    """What sampling needs from a trial (``optuna.Trial`` has exactly these)."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One validated search-space entry."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()

    def active(self, sampled: Mapping[str, Any]) -> bool:
        """Whether this entry is sampled, given the params drawn before it."""
        return all(sampled.get(key) in values for key, values in self.when)

    def suggest(self, trial: Suggest) -> Any:
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        assert self.low is not None
        assert self.high is not None
        if self.type == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log
            )
        return trial.suggest_float(
            self.name, float(self.low), float(self.high), step=self.step, log=self.log
        )

    def describe(self) -> str:
        """The allowed values, for messages."""
        if self.type == "categorical":
            return f"one of {list(self.choices)}"
        return f"in [{self.low}, {self.high}]"

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this entry can take (for enqueued trials)."""
        if self.type == "categorical":
            return value in self.choices
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        assert self.low is not None
        assert self.high is not None
        return bool(self.low <= value <= self.high) and (
            self.type == "float" or float(value).is_integer()
        )

    def extremes(self) -> list[Any]:
        """The values at the edges of this entry (every choice of a categorical one)."""
        if self.type == "categorical":
            return list(self.choices)
        assert self.low is not None
        assert self.high is not None
        if self.type == "int":  # (a step always divides high - low: both are on the grid)
            return sorted({int(self.low), int(self.high)})
        return sorted({float(self.low), float(self.high)})

    def grid_values(self) -> list[Any]:
        """Every value of this entry, for the grid sampler."""
        if self.type == "categorical":
            return list(self.choices)
        assert self.low is not None
        assert self.high is not None
        if self.type == "float" and self.step is None:
            raise ConfigError(
                f"search_space.{self.name}: sampler=grid needs a step on float entries "
                f"(low={self.low}, high={self.high}) or type: categorical."
            )
        if self.type == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        # In decimals, as Optuna checks them: 0.1 + 3 * 0.2 in floats is 0.7000000000000001,
        # past high=0.7 (Optuna warns that it is out of range).
        low, step = Decimal(str(self.low)), Decimal(str(self.step))
        count = int((Decimal(str(self.high)) - low) / step) + 1
        return [float(low + i * step) for i in range(count)]


@dataclass(frozen=True)
class SearchSpace:
    """An ordered, validated search space."""

    params: tuple[ParamSpec, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def entry(self, name: str) -> ParamSpec:
        return next(p for p in self.params if p.name == name)

    def sample(self, trial: Suggest) -> dict[str, Any]:
        """Draw one value per active entry, in order; a plain dict keyed by train setting."""
        sampled: dict[str, Any] = {}
        for spec in self.params:
            if spec.active(sampled):
                sampled[spec.name] = spec.suggest(trial)
        return sampled

    def corners(self, *, limit: int = 4096) -> list[dict[str, Any]]:
        """Draws at the edges of the space, to check settings that combine before training.

        Every combination of each entry's :meth:`ParamSpec.extremes` (conditional entries only
        where their condition holds), or, past ``limit`` combinations, one entry at a time.
        """
        edges = [p.extremes() for p in self.params]
        if math.prod(len(e) for e in edges) > limit:
            return [
                {p.name: v} for p, values in zip(self.params, edges, strict=True) for v in values
            ]
        draws: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
        for combo in product(*edges):
            sampled: dict[str, Any] = {}
            for spec, value in zip(self.params, combo, strict=True):
                if spec.active(sampled):
                    sampled[spec.name] = value
            draws.setdefault(tuple(sampled.items()), sampled)
        return list(draws.values())

    def grid(self) -> dict[str, list[Any]]:
        """The grid sampler's search space (unconditional entries only)."""
        conditional = [p.name for p in self.params if p.when]
        if conditional:
            raise ConfigError(
                f"search_space.{conditional[0]}: sampler=grid cannot run conditional entries "
                "(when:); drop the condition or use another sampler."
            )
        return {p.name: p.grid_values() for p in self.params}
