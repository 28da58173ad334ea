"""The search space: YAML entries -> a validated :class:`SearchSpace` -> sampled params.

Pure: sampling goes through the :class:`Suggest` protocol (which ``optuna.Trial`` satisfies), so
this module never imports Optuna. One entry per hyperparameter, keyed by the train setting it
sets (dotted for scheduler parameters), sampled in the order written::

    lr:           {type: float, low: 1.0e-5, high: 3.0e-4, log: true}
    num_epochs:   {type: int, low: 1, high: 4}
    scheduler:    {type: categorical, choices: [linear, cosine, step]}
    scheduler_kwargs:
      gamma: {type: float, low: 0.3, high: 0.9, when: {scheduler: [step]}}  # only with step

An entry set to ``null`` is not searched (the train value is used).

``num_epochs.high: auto`` fits the epoch range to the data (:func:`fit_space`): small training
sets get more epochs, so the longest schedule sees about :data:`FIT_EXAMPLES` examples.
``batch_size.choices: auto`` searches batch :data:`FIT_BATCH_CHOICES` on small training sets
(below :data:`FIT_BATCH_EXAMPLES`) and leaves the batch to ``train.batch_size`` above. Until the
data size is known (the config checks), ``auto`` stands for the widest such range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import product
from typing import Any, Protocol

from sweeper.errors import ConfigError
from sweeper.rules import Range, is_finite_number
from sweeper.settings import RULES, check_value, shown_key

TYPES = ("float", "int", "categorical")
_FIELDS = {
    "float": {"type", "low", "high", "log", "step", "when"},
    "int": {"type", "low", "high", "log", "step", "when"},
    "categorical": {"type", "choices", "when"},
}


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


AUTO = "auto"
# num_epochs.high=auto: the longest schedule sees about this many training examples, within
# [FIT_MIN_EPOCHS, FIT_MAX_EPOCHS] epochs. 30k examples keep the usual 3 epochs from 10k
# examples up (SST-2 subsets, the full SST-2, MNLI) and give small sets the longer schedules
# they need (MRPC's 3.7k examples: 9 epochs; Mosbach et al. 2021 train small sets 20 epochs).
FIT_EXAMPLES = 30_000
FIT_MIN_EPOCHS = 3
FIT_MAX_EPOCHS = 20


# batch_size.choices=auto: the published small-data recipes train at batch 16-32 (BERT 32,
# RoBERTa {16, 32}, Mosbach et al. 16); on small data a larger fixed batch (the glue
# experiment's 64, chosen for CPU throughput) leaves few updates per epoch. Searched below the
# size where the fitted epoch range stops growing (FIT_EXAMPLES / FIT_MIN_EPOCHS = 10k
# examples), where per-example speed matters more and train.batch_size stays as set.
FIT_BATCH_CHOICES = (16, 32)
FIT_BATCH_EXAMPLES = FIT_EXAMPLES // FIT_MIN_EPOCHS


def fitted_batch_sizes(num_train: int | None) -> list[int] | None:
    """The ``batch_size.choices=auto`` value for ``num_train`` examples: ``None`` (not
    searched) from :data:`FIT_BATCH_EXAMPLES` up; the choices below, or while unknown."""
    if num_train and num_train >= FIT_BATCH_EXAMPLES:
        return None
    return list(FIT_BATCH_CHOICES)


def fitted_epochs(num_train: int | None) -> int:
    """The ``num_epochs.high=auto`` value for ``num_train`` examples (widest when unknown)."""
    if not num_train or num_train < 1:
        return FIT_MAX_EPOCHS
    return min(FIT_MAX_EPOCHS, max(FIT_MIN_EPOCHS, math.ceil(FIT_EXAMPLES / num_train)))


def fit_space(
    raw: Mapping[str, Any] | None, *, num_train: int | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """Replace ``auto`` bounds with values fitted to the data size; a plain space dict after.

    Args:
        raw: The plain ``search_space`` node (``auto`` allowed in ``num_epochs.high`` and
            ``batch_size.choices`` only).
        num_train: Training examples; ``None`` before the data is loaded (the widest range).

    Returns:
        The resolved node (``raw`` itself when nothing is ``auto``) and one line per fitted
        bound, saying what it became and why, for the start-up lines.
    """
    if not isinstance(raw, Mapping):
        return (None if raw is None else raw), []
    out: dict[str, Any] = {}
    lines: list[str] = []
    for name, entry in raw.items():
        if isinstance(entry, Mapping):
            for field in ("low", "high", "step", "choices"):
                value = entry.get(field)
                if value == AUTO and (name, field) not in (
                    ("num_epochs", "high"),
                    ("batch_size", "choices"),
                ):
                    raise ConfigError(
                        f"search_space.{shown_key(str(name))}.{field}: auto is allowed only in "
                        "search_space.num_epochs.high and search_space.batch_size.choices "
                        f"(fitted to the training-set size) but got {value!r}."
                    )
            if name == "batch_size" and entry.get("choices") == AUTO:
                choices = fitted_batch_sizes(num_train)
                if num_train:
                    where = (
                        f"fitted to {num_train:,} training examples (search_space.batch_size."
                        f"choices=auto: {list(FIT_BATCH_CHOICES)} below "
                        f"{FIT_BATCH_EXAMPLES:,} examples, train.batch_size from there; set "
                        "search_space.batch_size=null to fix it)"
                    )
                    lines.append(
                        f"batch_size in {choices}: {where}"
                        if choices
                        else f"batch_size not searched (train.batch_size): {where}"
                    )
                out[str(name)] = None if choices is None else {**entry, "choices": choices}
                continue
            if name == "num_epochs" and entry.get("high") == AUTO:
                high = fitted_epochs(num_train)
                low = entry.get("low")
                if is_finite_number(low) and low > high:
                    high = int(low)  # an explicit low wins over the fitted high
                entry = {**entry, "high": high}
                if num_train:
                    lines.append(
                        f"num_epochs in [{low}, {high}]: fitted to {num_train:,} training "
                        f"examples (search_space.num_epochs.high=auto: about {FIT_EXAMPLES:,} "
                        f"examples at the longest schedule, {FIT_MIN_EPOCHS}-{FIT_MAX_EPOCHS} "
                        "epochs; set search_space.num_epochs.high=N to fix it)"
                    )
        out[str(name)] = entry
    return out, lines


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
