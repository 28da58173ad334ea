"""YAML entries -> a validated :class:`~sweeper.space.spec.SearchSpace` (:func:`parse_space`),
each bad entry refused with a one-line :class:`~sweeper.errors.ConfigError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sweeper.errors import ConfigError
from sweeper.rules import Range, is_finite_number
from sweeper.settings import RULES, check_value, shown_key
from sweeper.space.fit import fit_space
from sweeper.space.spec import ParamSpec, SearchSpace

TYPES = ("float", "int", "categorical")
_FIELDS = {
    "float": {"type", "low", "high", "log", "step", "when"},
    "int": {"type", "low", "high", "log", "step", "when"},
    "categorical": {"type", "choices", "when"},
}


def _number(where: str, field: str, value: Any) -> float:
    if not is_finite_number(value):
        raise ConfigError(f"{where}.{field} must be a finite number but got {value!r}.")
    return value


def _divides(step: float, *, low: float, high: float) -> bool:
    """Whether ``step`` divides ``high - low`` exactly, by Optuna's own rule.

    Optuna compares the decimal forms (``str``) and, when they do not divide, moves ``high``
    down to the last whole step with only a warning: a near miss in floating point (0.875 -
    0.3008560750639882 by 0.5741439249360119) would shrink the range to the single value
    ``low``. The same rule here refuses such a step instead.
    """
    try:
        return (Decimal(str(high)) - Decimal(str(low))) % Decimal(str(step)) == 0
    except InvalidOperation:  # a quotient past decimal precision (1e300 by 1e-300)
        return False


def _parse_entry(name: str, raw: Any, earlier: Mapping[str, ParamSpec]) -> ParamSpec:
    where = f"search_space.{shown_key(name)}"
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{where} must be a mapping like {{type: float, low: ..., high: ...}} but got {raw!r}."
        )
    if name not in RULES:
        raise ConfigError(f"{where}: {name!r} is not a training setting; allowed: {sorted(RULES)}.")
    kind = raw.get("type")
    if kind not in TYPES:
        raise ConfigError(f"{where}.type must be one of {list(TYPES)} but got {kind!r}.")
    unknown = sorted(set(raw) - _FIELDS[kind])
    if unknown:
        raise ConfigError(
            f"{where}: unknown field {unknown[0]!r} for type {kind}; allowed: "
            f"{sorted(_FIELDS[kind])}."
        )
    when = _parse_when(where, raw.get("when"), earlier)
    rule = RULES[name]
    if kind == "categorical":
        choices = raw.get("choices")
        if isinstance(choices, str | bytes) or not isinstance(choices, Sequence):
            raise ConfigError(f"{where}.choices must be a non-empty list but got {choices!r}.")
        if len(choices) == 0:
            raise ConfigError(f"{where}.choices must be a non-empty list but got [].")
        seen: list[Any] = []
        for choice in choices:
            if isinstance(choice, Mapping | list):
                raise ConfigError(
                    f"{where}.choices must hold plain values (str, number, bool, null) "
                    f"but got {choice!r}."
                )
            if choice in seen:
                raise ConfigError(
                    f"{where}.choices must not repeat a value but got {choice!r} twice."
                )
            seen.append(choice)
            check_value(name, choice, where=f"{where}.choices")
        return ParamSpec(name=name, type=kind, choices=tuple(choices), when=when)

    low = _number(where, "low", raw.get("low"))
    high = _number(where, "high", raw.get("high"))
    log = raw.get("log", False)
    step = raw.get("step")
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log must be true or false but got {log!r}.")
    if low > high:
        raise ConfigError(f"{where}: low must be <= high but got low={low}, high={high}.")
    if log and low <= 0:
        raise ConfigError(f"{where}: log scale needs low > 0 but got low={low}.")
    if isinstance(rule, Range) and rule.integer and kind == "float":
        raise ConfigError(f"{where}.type must be int for an integer setting but got float.")
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise ConfigError(f"{where}: int bounds must be integers but got low={low}, high={high}.")
    if step is not None:
        step = _number(where, "step", step)
        if step <= 0:
            raise ConfigError(f"{where}.step must be > 0 but got {step}.")
        if log:
            raise ConfigError(f"{where}: step and log cannot be combined (got step={step}).")
        if kind == "int" and not float(step).is_integer():
            raise ConfigError(f"{where}.step must be an integer for type int but got {step}.")
        if not _divides(step, low=low, high=high):
            raise ConfigError(
                f"{where}.step must divide high - low ({high} - {low}) but got {step}."
            )
    for field, value in (("low", low), ("high", high)):
        check_value(name, value, where=f"{where}.{field}")
    if kind == "int":
        low, high = int(low), int(high)
        step = None if step is None else int(step)
    return ParamSpec(name=name, type=kind, low=low, high=high, log=log, step=step, when=when)


def _parse_when(
    where: str, raw: Any, earlier: Mapping[str, ParamSpec]
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(
            f"{where}.when must be a mapping like {{scheduler: [step]}} but got {raw!r}."
        )
    conditions = []
    for key, values in raw.items():
        parent = earlier.get(key)
        if parent is None or parent.type != "categorical":
            raise ConfigError(
                f"{where}.when: {key!r} must be a categorical entry listed before it; "
                f"earlier categorical entries: {_categorical(earlier)}."
            )
        values = (
            tuple(values)
            if isinstance(values, Sequence) and not isinstance(values, str)
            else (values,)
        )
        for value in values:
            if value not in parent.choices:
                raise ConfigError(
                    f"{where}.when.{shown_key(str(key))} must use choices of "
                    f"search_space.{shown_key(str(key))} "
                    f"{list(parent.choices)} but got {value!r}."
                )
        conditions.append((str(key), values))
    return tuple(conditions)


def _categorical(specs: Mapping[str, ParamSpec]) -> list[str]:
    return [p.name for p in specs.values() if p.type == "categorical"]


def parse_space(raw: Mapping[str, Any] | None) -> SearchSpace:
    """Validate a ``search_space`` mapping; raise :class:`ConfigError` naming the bad entry.

    Args:
        raw: The plain (resolved) ``search_space`` config node; an ``auto`` bound is taken at
            its widest (:func:`fit_space` with the data size gives the real one).

    Returns:
        The ordered :class:`SearchSpace`.
    """
    if raw is None:
        return SearchSpace(())
    if not isinstance(raw, Mapping):
        raise ConfigError(f"search_space must be a mapping of entries but got {raw!r}.")
    raw, _ = fit_space(raw, num_train=None)  # `auto` as its widest range until data is known
    assert raw is not None
    specs: dict[str, ParamSpec] = {}
    for name, entry in _entries(raw):
        if entry is not None:
            specs[name] = _parse_entry(name, entry, specs)
    return SearchSpace(tuple(specs.values()))


def _entries(raw: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Entries in order; ``scheduler_kwargs: {gamma: {...}}`` nests as ``scheduler_kwargs.gamma``.

    Nesting (rather than a dotted YAML key) keeps command-line overrides such as
    ``search_space.scheduler_kwargs.gamma.high=0.9`` working.
    """
    out: list[tuple[str, Any]] = []
    for name, entry in raw.items():
        if name == "scheduler_kwargs" and isinstance(entry, Mapping) and "type" not in entry:
            out.extend((f"scheduler_kwargs.{sub}", value) for sub, value in entry.items())
        else:
            out.append((str(name), entry))
    return out
