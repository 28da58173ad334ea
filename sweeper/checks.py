"""The config, checked: typed, validated values before anything is opened or trained.

Every check that can fail on user input for the sweep, ``sweeper.train`` and
``sweeper.recommend`` runs here (one-line :class:`~sweeper.errors.ConfigError`, exit code 2),
so those commands share one entry: :func:`check`. Checks that need the data size
(:func:`check_schedules`) run once the objective has prepared its data, still before training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.config import CONF_DIR, resolve
from sweeper.direction import OBJECTIVES, monitored
from sweeper.errors import ConfigError
from sweeper.objective import load_objective
from sweeper.portfolio import PORTFOLIOS, Recipe, Start, fit, recipes_for, start
from sweeper.rules import Choice, Flag, Range, Rule, Text, check_node
from sweeper.settings import TrainSettings, check_value
from sweeper.space import SearchSpace, fit_space, parse_space
from sweeper.study import (
    build_pruner,
    build_sampler,
    check_storage_config,
    data_fingerprint,
    study_fingerprint,
)

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from sweeper.objective import TaskInfo


# One declarative rule per key of each checked node (the train node's are settings.RULES).
SWEEP_RULES: dict[str, Rule] = {
    "n_trials": Range(1, integer=True),
    "study_name": Text(),
    "objective": Choice(OBJECTIVES),
    "timeout_s": Range(0, low_open=True, nullable=True),  # seconds
    "max_failure_rate": Range(0, 1),
    "portfolio": Choice(PORTFOLIOS),
}
TOP_RULES: dict[str, Rule] = {"seed": Range(0, integer=True), "quiet": Flag()}
RECOMMEND_RULES: dict[str, Rule] = {
    "top_k": Range(1, integer=True),
    "confirm_seeds": Range(0, integer=True),
}


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    """The ``sweep`` node, checked."""

    n_trials: int
    study_name: str
    objective: str
    timeout_s: float | None
    max_failure_rate: float
    enqueue: tuple[dict[str, Any], ...] = ()
    portfolio: str = "recipes"

    @classmethod
    def from_mapping(cls, sweep: Mapping[str, Any]) -> SweepSettings:
        sweep = {"objective": "auto", "max_failure_rate": 0.5, "portfolio": "recipes", **sweep}
        check_node("sweep", sweep, SWEEP_RULES)
        n, name, objective = sweep["n_trials"], sweep["study_name"], sweep["objective"]
        timeout, rate = sweep.get("timeout_s"), sweep["max_failure_rate"]
        enqueue = sweep.get("enqueue") or []
        if not isinstance(enqueue, list) or not all(isinstance(p, Mapping) for p in enqueue):
            raise ConfigError(
                f"sweep.enqueue must be a list of {{param: value}} mappings but got {enqueue!r}."
            )
        return cls(
            n_trials=int(n),
            study_name=name,
            objective=objective,
            timeout_s=None if timeout is None else float(timeout),
            max_failure_rate=float(rate),
            enqueue=tuple(dict(p) for p in enqueue),
            portfolio=str(sweep["portfolio"]),
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
    fitted: tuple[str, ...] = ()  # search-space bounds fitted to the data (fit_to_data)
    recipes: tuple[Recipe, ...] = ()  # sweep.portfolio's recipes, as written
    # The queued start: sweep.enqueue, then the recipes fitted to the data (fit_to_data; before
    # it, the user's settings only).
    start: Start = field(default_factory=Start)

    @property
    def queued(self) -> list[dict[str, Any]]:
        """Every parameter set queued when the study starts, in order."""
        return self.start.queued


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
    enqueue, notes = _checked_enqueue(sweep, space=space, train=train)
    sweep = replace(sweep, enqueue=enqueue)
    device = str(plain.get("device", "auto"))
    if device not in ("auto", "cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu, cuda, cuda:N or mps but got {device!r}.")
    check_node("", {"quiet": False, **plain}, TOP_RULES)
    seed = int(plain["seed"])
    # The objective checks its own data and model nodes (files, task names, model paths)
    # without loading anything; storage and tracking are checked by connecting, next.
    checker = getattr(load_objective(str(plain.get("objective"))), "check_config", None)
    if checker is not None:
        checker(data=plain["data"], model=plain["model"])
    check_storage_config(plain["storage"])
    build_pruner(plain["pruner"])
    build_sampler(plain["sampler"], seed=seed, space=space)
    recipes = recipes_for(sweep.portfolio, conf_dir=CONF_DIR)  # a learned file fails now
    return Checked(
        cfg={str(k): v for k, v in plain.items()},
        sweep=sweep,
        space=space,
        train=train,
        results_dir=Path(plain["results_dir"]),
        device=device,
        notes=tuple(notes),
        recipes=recipes,
        start=Start(user=enqueue),
    )


def _checked_enqueue(
    sweep: SweepSettings, *, space: SearchSpace, train: TrainSettings
) -> tuple[tuple[dict[str, Any], ...], list[str]]:
    """The queued trials, each value checked against its entry; notes for unsearched keys."""
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
    return tuple(enqueue), notes


def fit_to_data(checked: Checked, *, num_train: int) -> Checked:
    """The config with its search space fitted to ``num_train`` examples (``auto`` bounds), and
    the queued start: ``sweep.enqueue``, then ``sweep.portfolio``'s recipes fitted to that space.

    The result is a plain search-space dict in ``cfg`` (what the study fingerprint hashes) and
    the parsed space; queued trials are checked again against the fitted range.
    """
    raw = checked.cfg.get("search_space")
    fitted, lines = fit_space(raw, num_train=num_train or None)
    if fitted != raw:
        space = parse_space(fitted)
        enqueue, _ = _checked_enqueue(checked.sweep, space=space, train=checked.train)
        checked = replace(
            checked,
            cfg={**checked.cfg, "search_space": fitted},
            space=space,
            sweep=replace(checked.sweep, enqueue=enqueue),
            fitted=tuple(lines),
        )
    recipes, notes = fit(
        checked.recipes, space=checked.space, num_train=num_train, train=checked.train
    )
    return replace(
        checked,
        start=start(checked.sweep.enqueue, recipes, n_trials=checked.sweep.n_trials),
        notes=(*checked.notes, *notes),
    )


def check_schedules(checked: Checked, *, num_examples: int) -> None:
    """Build the schedule of the fixed settings, each queued trial and each corner of the space.

    Some settings are only wrong with the data size (``warmup_steps`` past the last step of the
    shortest trial, a ``decay_ratio`` with no room after warmup); found here, before training,
    they fail once with the draw named instead of failing every trial that samples them.
    """
    for params in ({}, *checked.queued, *checked.space.corners()):
        try:
            checked.train.replace(params).check_schedule(num_examples)
        except ConfigError as err:
            if not params:
                raise
            draw = " ".join(f"{key}={value}" for key, value in params.items())
            raise ConfigError(
                f"{str(err).rstrip('.')} (with {draw}, {num_examples} training examples)."
            ) from None


def monitor_of(checked: Checked, info: TaskInfo) -> str:
    """What the trials of ``checked`` optimize on the data ``info`` describes (sweep.objective,
    with ``auto`` decided by the task type: :func:`sweeper.direction.monitored`)."""
    return monitored(
        checked.sweep.objective,
        metric=info.metric,
        is_regression=info.is_regression,
        reported=info.metrics,
    )


def fingerprint_of(checked: Checked, *, info: TaskInfo, monitor: str) -> dict[str, str]:
    """The study fingerprint of ``checked`` on the data ``info`` describes, optimizing
    ``monitor``: what the sweep records on its study and what resuming or recommending compares.
    """
    cfg = checked.cfg
    fingerprint = study_fingerprint(
        search_space=cfg.get("search_space"),
        train=checked.train,
        data=data_fingerprint(cfg["data"], info),
        model=cfg["model"],
        objective=f"{cfg.get('objective')}:{monitor}",
    )
    # The portfolio decides the first trials: a study started from other ones must not be
    # resumed silently. Absent for `none`, so studies recorded before portfolios existed (which
    # started from none) resume with sweep.portfolio=none.
    if checked.sweep.portfolio != "none":
        fingerprint["portfolio"] = checked.sweep.portfolio
    return fingerprint


__all__ = [
    "OBJECTIVES",
    "Checked",
    "SweepSettings",
    "check",
    "check_schedules",
    "fingerprint_of",
    "fit_to_data",
    "monitor_of",
]
