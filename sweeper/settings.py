"""Training settings: the ``train`` config node as a typed, validated value.

A search-space entry may name any key of ``train`` (dotted for ``scheduler_kwargs.*``). The same
rules check the fixed values in ``conf/train/*.yaml`` and the bounds and choices of the search
space, so a range that could sample an invalid value fails before any training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from sweeper.config import flatten
from sweeper.errors import ConfigError
from sweeper.rules import Choice, Flag, Range, Rule
from sweeper.schedule import (
    SCHEDULER_PARAMS,
    SCHEDULERS,
    WSD_DECAY_TYPES,
    StepPlan,
    plan_steps,
)

PRECISIONS = ("auto", "bf16", "fp16", "fp32")


# What each train key allows. The keys of this table are the training settings a search space
# may name; a key missing here is "not a training setting".
RULES: dict[str, Rule] = {
    "seed": Range(0, integer=True),
    "lr": Range(0, 1e3, low_open=True),
    "weight_decay": Range(0),
    "adam_beta1": Range(0, 1, high_open=True),
    "adam_beta2": Range(0, 1, high_open=True),
    "adam_epsilon": Range(0, low_open=True),
    "batch_size": Range(1, integer=True),
    "eval_batch_size": Range(1, integer=True),
    "grad_accum": Range(1, integer=True),
    "num_epochs": Range(1, integer=True),
    "warmup_ratio": Range(0, 1, high_open=True),
    "warmup_steps": Range(0, integer=True, nullable=True),
    "scheduler": Choice(tuple(SCHEDULERS)),
    "max_grad_norm": Range(0, low_open=True, nullable=True),
    "dropout": Range(0, 1, high_open=True, nullable=True),
    "evals_per_epoch": Range(1, integer=True),
    "patience": Range(0, integer=True, nullable=True),
    "min_delta": Range(0),
    "select_window": Range(0, integer=True),
    "divergence_factor": Range(1, low_open=True, nullable=True),
    "log_every_steps": Range(1, integer=True),
    "precision": Choice(PRECISIONS),
    "group_by_length": Flag(),
    "drop_last": Flag(),
    "scheduler_kwargs.num_cycles": Range(0, low_open=True, nullable=True),
    "scheduler_kwargs.power": Range(0, low_open=True, nullable=True),
    "scheduler_kwargs.lr_end": Range(0, nullable=True),
    "scheduler_kwargs.min_lr_rate": Range(0, 1, nullable=True),
    "scheduler_kwargs.timescale": Range(1, integer=True, nullable=True),
    "scheduler_kwargs.decay_ratio": Range(0, 1, low_open=True, nullable=True),
    "scheduler_kwargs.min_lr_ratio": Range(0, 1, nullable=True),
    "scheduler_kwargs.decay_type": Choice((*WSD_DECAY_TYPES, None)),
    "scheduler_kwargs.step_size_epochs": Range(0, low_open=True, nullable=True),
    "scheduler_kwargs.gamma": Range(0, 1, low_open=True, nullable=True),
}
assert {k.split(".", 1)[1] for k in RULES if k.startswith("scheduler_kwargs.")} == set(
    SCHEDULER_PARAMS
), "every scheduler parameter needs a rule"


def shown_key(key: str) -> str:
    """``key`` as messages show it: as is, or quoted where it holds a line break or another
    control character, so that an error stays one line."""
    return key if key.isprintable() else repr(key)


def check_value(key: str, value: Any, *, where: str | None = None) -> None:
    """Raise :class:`ConfigError` unless ``value`` is allowed for train key ``key``.

    Args:
        key: A train key (``lr``, ``scheduler_kwargs.gamma``...).
        value: The value to check.
        where: The config path to name in the message (defaults to ``train.<key>``).
    """
    rule = RULES.get(key)
    name = where or f"train.{shown_key(key)}"
    if rule is None:
        raise ConfigError(f"{name}: {key!r} is not a training setting; allowed: {sorted(RULES)}.")
    allowed = rule(value)
    if allowed is not None:
        raise ConfigError(f"{name} must be {allowed} but got {value!r}.")


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """The resolved settings of one training run (a trial, a confirmation run)."""

    seed: int
    lr: float
    weight_decay: float
    adam_beta1: float
    adam_beta2: float
    adam_epsilon: float
    batch_size: int
    eval_batch_size: int
    grad_accum: int
    num_epochs: int
    warmup_ratio: float
    warmup_steps: int | None
    scheduler: str
    scheduler_kwargs: dict[str, Any] = field(default_factory=dict)
    max_grad_norm: float | None
    dropout: float | None
    evals_per_epoch: int
    patience: int | None
    min_delta: float
    select_window: int
    divergence_factor: float | None
    log_every_steps: int
    precision: str
    group_by_length: bool
    drop_last: bool

    @classmethod
    def from_mapping(cls, train: Mapping[str, Any]) -> TrainSettings:
        """Validate a plain ``train`` mapping (no unknown keys, every value allowed)."""
        flat = flatten(train)
        names = {f.name for f in fields(cls)}
        for key, value in flat.items():
            check_value(key, value)
        missing = names - {k.split(".", 1)[0] for k in flat} - {"scheduler_kwargs"}
        if missing:
            raise ConfigError(f"train is missing keys {sorted(missing)}.")
        data = {k: v for k, v in train.items() if k in names}
        data["scheduler_kwargs"] = dict(train.get("scheduler_kwargs") or {})
        ints = ("seed", "batch_size", "eval_batch_size", "grad_accum", "num_epochs")
        for key in (*ints, "evals_per_epoch", "select_window", "log_every_steps"):
            data[key] = int(data[key])
        for key in ("warmup_steps", "patience"):
            data[key] = None if data[key] is None else int(data[key])
        return cls(**data)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainSettings:
        """The inverse of :meth:`as_params` (flat keys, ``scheduler_kwargs.*`` nested back)."""
        train: dict[str, Any] = {"scheduler_kwargs": {}}
        for key, value in params.items():
            if key.startswith("scheduler_kwargs."):
                train["scheduler_kwargs"][key.split(".", 1)[1]] = value
            else:
                train[key] = value
        return cls.from_mapping(train)

    def replace(self, params: Mapping[str, Any]) -> TrainSettings:
        """A copy with sampled ``params`` (dotted train keys) applied and validated."""
        merged = asdict(self)
        for key, value in params.items():
            if key.startswith("scheduler_kwargs."):
                merged["scheduler_kwargs"] = {
                    **merged["scheduler_kwargs"],
                    key.split(".", 1)[1]: value,
                }
            else:
                merged[key] = value
        return TrainSettings.from_mapping(merged)

    def plan(self, num_examples: int) -> StepPlan:
        """The step plan of training ``num_examples`` examples with these settings."""
        # `constant` has no warmup (transformers ignores num_warmup_steps for it): record 0.
        warmless = self.scheduler == "constant"
        return plan_steps(
            num_examples=num_examples,
            batch_size=self.batch_size,
            num_epochs=self.num_epochs,
            grad_accum=self.grad_accum,
            drop_last=self.drop_last,
            warmup_ratio=0.0 if warmless else self.warmup_ratio,
            warmup_steps=None if warmless else self.warmup_steps,
        )

    def check_schedule(self, num_examples: int) -> StepPlan:
        """The step plan, after building the schedule once; :class:`ConfigError` names the key.

        Some settings are only wrong together with the data size (``warmup_steps`` past the
        last step, a ``decay_ratio`` that leaves no room after warmup): the sweep calls this
        before training so such a setting fails once, not in every trial.
        """
        from sweeper.schedule import probe_scheduler

        plan = self.plan(num_examples)
        probe_scheduler(
            name=self.scheduler, plan=plan, base_lr=self.lr, kwargs=self.scheduler_kwargs
        )
        return plan

    def active_scheduler_kwargs(self) -> dict[str, Any]:
        """The parameters the chosen scheduler actually runs with (defaults filled in)."""
        from sweeper.schedule import scheduler_kwargs_for

        return scheduler_kwargs_for(self.scheduler, self.scheduler_kwargs)

    def as_params(self) -> dict[str, Any]:
        """Flat params to record (scheduler parameters only where the scheduler takes them)."""
        flat = {k: v for k, v in asdict(self).items() if k != "scheduler_kwargs"}
        for key, value in self.active_scheduler_kwargs().items():
            flat[f"scheduler_kwargs.{key}"] = value
        return flat
