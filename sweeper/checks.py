"""The config, checked: typed, validated values before anything is opened or trained.

Every check that can fail on user input for the sweep, ``sweeper.train`` and
``sweeper.recommend`` runs here (one-line :class:`~sweeper.errors.ConfigError`, exit code 2),
so those commands share one entry: :func:`check`. Checks that need the data size
(:func:`check_schedules`) run once the objective has prepared its data, still before training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.config import resolve
from sweeper.errors import ConfigError
from sweeper.objective import load_objective
from sweeper.settings import TrainSettings, check_value
from sweeper.space import SearchSpace, parse_space
from sweeper.study import build_pruner, build_sampler, check_storage_config

if TYPE_CHECKING:
    from omegaconf import DictConfig


OBJECTIVES = ("val_loss", "metric")


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    """The ``sweep`` node, checked."""

    n_trials: int
    study_name: str
    objective: str
    timeout_s: float | None
    max_failure_rate: float
    enqueue: tuple[dict[str, Any], ...] = ()

    @classmethod
    def from_mapping(cls, sweep: Mapping[str, Any]) -> SweepSettings:
        n = sweep.get("n_trials")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"sweep.n_trials must be an integer >= 1 but got {n!r}.")
        name = sweep.get("study_name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"sweep.study_name must be a non-empty string but got {name!r}.")
        objective = sweep.get("objective", "val_loss")
        if objective not in OBJECTIVES:
            raise ConfigError(
                f"sweep.objective must be one of {list(OBJECTIVES)} but got {objective!r}."
            )
        timeout = sweep.get("timeout_s")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise ConfigError(
                f"sweep.timeout_s must be a number of seconds > 0 or null but got {timeout!r}."
            )
        rate = sweep.get("max_failure_rate", 0.5)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ConfigError(f"sweep.max_failure_rate must be in [0, 1] but got {rate!r}.")
        enqueue = sweep.get("enqueue") or []
        if not isinstance(enqueue, list) or not all(isinstance(p, Mapping) for p in enqueue):
            raise ConfigError(
                f"sweep.enqueue must be a list of {{param: value}} mappings but got {enqueue!r}."
            )
        return cls(
            n_trials=n,
            study_name=name,
            objective=objective,
            timeout_s=timeout,
            max_failure_rate=float(rate),
            enqueue=tuple(dict(p) for p in enqueue),
        )


@dataclass(frozen=True, kw_only=True)
class Checked:
    """The whole config, checked key by key before anything is opened.

    What needs the data too (schedules against its size, files, columns, labels) is checked
    once the objective has prepared it (:func:`check_schedules`, the objective's own checks),
    still before any training.
    """

    cfg: dict[str, Any]
    sweep: SweepSettings
    space: SearchSpace
    train: TrainSettings
    results_dir: Path
    device: str  # auto, cpu, cuda, cuda:N or mps (training.resolve_device makes auto concrete)
    notes: tuple[str, ...] = ()  # warnings about the config that do not stop it


def check(cfg: DictConfig | Mapping[str, Any]) -> Checked:
    """Resolve and check the config; :class:`ConfigError` names the first bad key."""
    from omegaconf import DictConfig as _DictConfig

    plain: dict[str, Any] = resolve(cfg) if isinstance(cfg, _DictConfig) else dict(cfg)
    for key in ("data", "model", "train", "sweep", "sampler", "pruner", "storage", "tracking"):
        if not isinstance(plain.get(key), Mapping):
            raise ConfigError(f"{key} must be a config node but got {plain.get(key)!r}.")
    sweep = SweepSettings.from_mapping(plain["sweep"])
    train = TrainSettings.from_mapping(plain["train"])
    space = parse_space(plain.get("search_space"))
    notes: list[str] = []
    enqueue = []
    for i, params in enumerate(sweep.enqueue):
        kept = {}
        for key, value in params.items():
            check_value(key, value, where=f"sweep.enqueue[{i}].{key}")  # a training setting?
            if key not in space.names:
                # A setting this search space does not sample (e.g. an experiment's queued
                # defaults with search_space=none): nothing to fix, so a note, not an error.
                notes.append(f"sweep.enqueue[{i}].{key} is not searched here; ignored")
                continue
            entry = space.entry(key)
            if not entry.contains(value):
                raise ConfigError(
                    f"sweep.enqueue[{i}].{key} must be {entry.describe()} (search_space.{key}) "
                    f"but got {value!r}."
                )
            kept[key] = value
        train.replace(kept)  # every value allowed, or ConfigError naming it
        if kept:
            enqueue.append(kept)
    sweep = replace(sweep, enqueue=tuple(enqueue))
    device = str(plain.get("device", "auto"))
    if device not in ("auto", "cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps but got {device!r}.")
    if not isinstance(plain.get("quiet", False), bool):
        raise ConfigError(f"quiet must be true or false but got {plain.get('quiet')!r}.")
    seed = plain.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0 but got {seed!r}.")
    # The objective checks its own data and model nodes (files, task names, model paths)
    # without loading anything; storage and tracking are checked by connecting, next.
    checker = getattr(load_objective(str(plain.get("objective"))), "check_config", None)
    if checker is not None:
        checker(data=plain["data"], model=plain["model"])
    check_storage_config(plain["storage"])
    build_pruner(plain["pruner"])
    build_sampler(plain["sampler"], seed=seed, space=space)
    return Checked(
        cfg={str(k): v for k, v in plain.items()},
        sweep=sweep,
        space=space,
        train=train,
        results_dir=Path(plain["results_dir"]),
        device=device,
        notes=tuple(notes),
    )


def check_schedules(checked: Checked, *, num_examples: int) -> None:
    """Build the schedule of the fixed settings, each queued trial and each corner of the space.

    Some settings are only wrong with the data size (``warmup_steps`` past the last step of the
    shortest trial, a ``decay_ratio`` with no room after warmup); found here, before training,
    they fail once with the draw named instead of failing every trial that samples them.
    """
    for params in ({}, *checked.sweep.enqueue, *checked.space.corners()):
        try:
            checked.train.replace(params).check_schedule(num_examples)
        except ConfigError as err:
            if not params:
                raise
            draw = " ".join(f"{key}={value}" for key, value in params.items())
            raise ConfigError(
                f"{str(err).rstrip('.')} (with {draw}, {num_examples} training examples)."
            ) from None


__all__ = [
    "OBJECTIVES",
    "Checked",
    "SweepSettings",
    "check",
    "check_schedules",
]
