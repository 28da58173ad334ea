"""What every data source shares: the :class:`Source` record, and the two presets' common parts.

``preset: glue`` takes its columns, labels and metrics from the GLUE task table
(:func:`check_glue`, :func:`glue_data`); ``preset: null`` is the user's own data, whose columns
are named in the config and whose labels and task type are read from train (:func:`check_own`,
:func:`check_own_splits`, :func:`own_data`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from objectives.glue.columns import (
    TASK_TYPES,
    check_columns,
    infer_task,
    take_columns,
    to_float,
    to_ids,
)
from objectives.glue.examples import Split, TaskData
from objectives.glue.tasks import Task, get_task
from sweeper.errors import ConfigError
from sweeper.rules import Range, Rule, check_node


@dataclass(frozen=True)
class Source:
    """One place examples come from (``data.source``), for one preset.

    Attributes:
        name: The ``data.source`` value that selects it.
        preset: ``"glue"`` (the GLUE task table) or None (the user's own data).
        check: ``check(cfg) -> checked``: every key the source reads, before anything is opened
            (one-line ``ConfigError`` / ``DataError``); what it returns is what ``load`` needs.
        load: ``load(cfg, checked, *, seed) -> TaskData``: the examples, before subsets and the
            validation split (shared by every source) are applied.
    """

    name: str
    preset: str | None
    check: Callable[[Mapping[str, Any]], Any]
    load: Callable[..., TaskData]


# ----------------------------------------------------------------------------- preset glue

# One declarative rule per numeric key of the data.builtin node.
BUILTIN_RULES: dict[str, Rule] = {
    "num_train": Range(1, integer=True),
    "num_eval": Range(1, integer=True),
    "label_noise": Range(0, 0.5, high_open=True),
}


def check_glue(cfg: Mapping[str, Any]) -> Task:
    """The GLUE task named by ``data.task``, and the ``data.builtin`` node (checked for every GLUE
    source: ``auto`` may fall back to it)."""
    task = get_task(cfg.get("task", ""))
    spec = cfg.get("builtin")
    if spec is None:
        return task
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"data.builtin must be a mapping {{num_train, num_eval, label_noise}} but got {spec!r}."
        )
    check_node(
        "data.builtin", {"num_train": 1, "num_eval": 1, "label_noise": 0.0, **spec}, BUILTIN_RULES
    )
    return task


def glue_data(
    task: Task,
    *,
    source: str,
    origin: str,
    train: Split,
    evals: dict[str, Split],
    notes: list[str],
) -> TaskData:
    """A GLUE task's examples, with the task table's label names."""
    return TaskData(
        task=task,
        source=source,
        origin=origin,
        train=train,
        evals=evals,
        label_names=task.label_names,
        notes=notes,
    )


# ----------------------------------------------------------------------------- preset null

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class Columns:
    """The checked columns of a user's data."""

    text: list[str]
    label: str


def check_own(cfg: Mapping[str, Any]) -> Columns:
    """The keys every source of a user's data reads: task name, columns, task type."""
    name = cfg.get("task")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            "data.task must name your task (letters, digits, '_', '.', '-'; it names the "
            f"study) but got {name!r}."
        )
    text, label = check_columns(cfg.get("text_columns"), cfg.get("label_column"))
    if cfg.get("task_type", "auto") not in TASK_TYPES:
        raise ConfigError(
            f"data.task_type must be one of {list(TASK_TYPES)} but got {cfg.get('task_type')!r}."
        )
    return Columns(text=text, label=label)


def check_own_splits(cfg: Mapping[str, Any], splits: set[str], *, key: str) -> None:
    """A validation split, or ``data.validation=from_train`` and no second test set.

    Args:
        splits: The evaluation splits the source was given (``validation``, ``test``).
        key: How the source names them: ``file`` (``data.validation_file``) or ``split``.
    """
    from_train = cfg.get("validation", "dev") == "from_train"
    what = f"data.validation_{key}"
    if "validation" not in splits and not from_train:
        raise ConfigError(
            f"{what} must be set with data.validation=dev (or set data.validation=from_train to "
            "hold validation out of train) but got null."
        )
    if from_train and {"validation", "test"} <= splits:
        raise ConfigError(
            f"data.validation=from_train makes {what} the test set; a second test set "
            f"(data.test_{key}) must be null but got {cfg.get(f'test_{key}')!r}."
        )


def own_data(
    cfg: Mapping[str, Any],
    columns: Columns,
    *,
    tables: Mapping[str, Any],
    where: Mapping[str, str],
    source: str,
    origin: str,
) -> TaskData:
    """A user's tables (``datasets.Dataset`` by split, ``train`` first) as :class:`TaskData`:
    the task type and classes read from train, labels mapped to ids (or floats)."""
    raw = {
        name: take_columns(
            table, text_columns=columns.text, label_column=columns.label, where=where[name]
        )
        for name, table in tables.items()
    }
    task, classes, description = infer_task(
        name=str(cfg["task"]),
        labels=raw["train"][2],
        feature=tables["train"].features[columns.label],
        task_type=str(cfg.get("task_type", "auto")),
        label_column=columns.label,
        where=where["train"],
    )
    splits: dict[str, Split] = {}
    for name, (text_a, text_b, labels) in raw.items():
        if task.is_regression:
            ids: list[Any] = to_float(labels, where=where[name], column=columns.label)
        else:
            ids = to_ids(labels, classes, where=where[name])
        splits[name] = Split(text_a=text_a, text_b=text_b, labels=ids)
    train = splits.pop("train")
    return TaskData(
        task=task,
        source=source,
        origin=origin,
        train=train,
        evals=splits,
        label_names=task.label_names,
        description=description,
    )
