"""The declarative rule engine every config node is checked with.

A node's rules are a table ``key -> rule`` (``settings.RULES`` for ``train``,
``checks.SWEEP_RULES``, ``study.storage.STORAGE_RULES``, the data rules of the GLUE objective);
:func:`check_node` checks a node against its table and names the first bad key on one line.
A rule is a callable that returns ``None`` for an allowed value, else what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from sweeper.errors import ConfigError


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """A number (not a bool) that is finite as a float.

    An int past float range (``10**400`` on the command line) counts as not finite: float math
    on it (``math.isfinite``, ``/``) raises ``OverflowError``.
    """
    if not _num(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True)
class Range:
    """A number in an interval (an integer where ``integer``; ``None`` too where ``nullable``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    nullable: bool = False

    def describe(self) -> str:
        """``an integer >= 1``, ``a number > 0 or null``, ``a number in [0, 1)``."""
        kind = "an integer" if self.integer else "a number"
        if self.low is not None and self.high is None:
            what = f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        elif self.high is not None and self.low is None:
            what = f"{kind} {'<' if self.high_open else '<='} {self.high:g}"
        else:
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            low = "-inf" if self.low is None else f"{self.low:g}"
            high = "inf" if self.high is None else f"{self.high:g}"
            what = f"{kind} in {lo}{low}, {high}{hi}"
        return what + (" or null" if self.nullable else "")

    def __call__(self, value: Any) -> str | None:
        if value is None and self.nullable:
            return None
        ok = is_finite_number(value)
        ok = ok and (not self.integer or float(value).is_integer())
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        return None if ok else self.describe()


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of values."""

    options: tuple[Any, ...]

    def __call__(self, value: Any) -> str | None:
        return None if value in self.options else f"one of {list(self.options)}"


@dataclass(frozen=True)
class Flag:
    """``true`` or ``false``."""

    def __call__(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else "true or false"


@dataclass(frozen=True)
class Text:
    """A non-empty string."""

    def __call__(self, value: Any) -> str | None:
        return None if isinstance(value, str) and value.strip() else "a non-empty string"


Rule = Range | Choice | Flag | Text


def check_node(node: str, values: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    """Check each key of config node ``node`` against its rule (a missing key is ``None``).

    Raises:
        ConfigError: ``<node>.<key> must be <what the rule allows> but got <value>.``
    """
    for key, rule in rules.items():
        value = values.get(key)
        allowed = rule(value)
        if allowed is not None:
            prefix = f"{node}.{key}" if node else key
            raise ConfigError(f"{prefix} must be {allowed} but got {value!r}.")


__all__ = ["Choice", "Flag", "Range", "Rule", "Text", "check_node", "is_finite_number"]
