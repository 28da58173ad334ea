"""Which examples a run trains on: the config check, and loading from the configured source.

Two kinds of data, one path. ``preset: glue`` (``data=glue``, the default) is a GLUE task from a
local GLUE folder, the hub or the built-in demo task: the task table supplies columns, labels and
metrics. ``preset: null`` (``data=files``, ``data=hub``) is the user's own data: columns named in
the config, labels and task type read from train. Both end in the same :class:`TaskData`, and
the same subsets and validation split (:mod:`objectives.glue.subsets`) apply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from objectives.glue import builtin
from objectives.glue.columns import (
    TASK_TYPES,
    check_columns,
    infer_task,
    take_columns,
    to_float,
    to_ids,
)
from objectives.glue.examples import Split, TaskData
from objectives.glue.files import file_format, load_file, split_files
from objectives.glue.hub import HubUnavailable, load_hub_splits
from objectives.glue.subsets import apply_validation
from objectives.glue.tasks import Task, TaskSpec, get_task
from objectives.glue.tsv import glue_files, load_glue_dir
from sweeper.errors import ConfigError, DataError
from sweeper.settings import Range, Rule, check_node

PRESETS = ("glue", None)
SOURCES = ("auto", "glue_dir", "hub", "builtin")  # preset glue
USER_SOURCES = ("files", "hub")  # preset null
VALIDATION_MODES = ("dev", "from_train")
# The one task the built-in demo data may stand in for when data.source=auto finds nothing.
DEMO_TASK = "sst2"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


# ----------------------------------------------------------------------------- config check


def resolve_source(cfg: Mapping[str, Any]) -> str:
    """``auto`` -> glue_dir when one is configured, else hub; explicit sources stay."""
    source = cfg.get("source", "auto")
    if cfg.get("preset", "glue") is None:
        if source not in USER_SOURCES:
            raise ConfigError(
                f"data.source must be one of {list(USER_SOURCES)} for your own data "
                f"(data.preset=null) but got {source!r}."
            )
        return str(source)
    if source not in SOURCES:
        raise ConfigError(f"data.source must be one of {list(SOURCES)} but got {source!r}.")
    if source != "auto":
        return str(source)
    return "glue_dir" if cfg.get("glue_dir") else "hub"


def check_config(cfg: Mapping[str, Any]) -> TaskSpec | None:
    """Check the data config before anything loads.

    Returns:
        The GLUE task (``preset: glue``); None for a user's data, whose task is read from train.
    """
    preset = cfg.get("preset", "glue")
    if preset not in PRESETS:
        raise ConfigError(f"data.preset must be one of {list(PRESETS)} but got {preset!r}.")
    source = resolve_source(cfg)
    _check_common(cfg)
    if preset is None:
        _check_user_data(cfg, source)
        return None
    task = get_task(cfg.get("task", ""))
    _check_builtin(cfg.get("builtin"))
    if cfg.get("source") == "glue_dir" and not cfg.get("glue_dir"):
        raise ConfigError(
            "data.source=glue_dir needs data.glue_dir (or the GLUE_DIR environment variable) "
            "but got null."
        )
    glue_dir = cfg.get("glue_dir")
    if glue_dir and source == "glue_dir":
        # str(): a number given on the command line arrives as an int. expanduser as the loader.
        folder = Path(str(glue_dir)).expanduser()
        if not folder.is_dir():
            raise DataError(f"{glue_dir}: data.glue_dir is not a folder.")
        glue_files(task, folder)  # the task's folder and files, before anything is opened
    return task


# One declarative rule per numeric key of the data node, and of its data.builtin node.
DATA_RULES: dict[str, Rule] = {
    "max_train_samples": Range(1, integer=True, nullable=True),
    "max_eval_samples": Range(1, integer=True, nullable=True),
    "max_seq_length": Range(8, integer=True),
}
BUILTIN_RULES: dict[str, Rule] = {
    "num_train": Range(1, integer=True),
    "num_eval": Range(1, integer=True),
    "label_noise": Range(0, 0.5, high_open=True),
}


def _check_common(cfg: Mapping[str, Any]) -> None:
    """Keys every source shares: validation mode, subsets, sequence length."""
    if cfg.get("validation", "dev") not in VALIDATION_MODES:
        raise ConfigError(
            f"data.validation must be one of {list(VALIDATION_MODES)} but got "
            f"{cfg.get('validation')!r}."
        )
    check_node("data", {"max_seq_length": 128, **cfg}, DATA_RULES)
    size = cfg.get("validation_size", 0.1)
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        raise ConfigError(
            f"data.validation_size must be a fraction in (0, 1) or a count >= 1 but got {size!r}."
        )


def _check_user_data(cfg: Mapping[str, Any], source: str) -> None:
    """``data=files`` / ``data=hub``: name, columns, task type, files or hub splits."""
    name = cfg.get("task")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            "data.task must name your task (letters, digits, '_', '.', '-'; it names the "
            f"study) but got {name!r}."
        )
    check_columns(cfg.get("text_columns"), cfg.get("label_column"))
    if cfg.get("task_type", "auto") not in TASK_TYPES:
        raise ConfigError(
            f"data.task_type must be one of {list(TASK_TYPES)} but got {cfg.get('task_type')!r}."
        )
    if source == "files":
        splits = set(split_files(cfg))
    else:
        hub_id = cfg.get("hub_id")
        if not isinstance(hub_id, str) or not hub_id:
            raise ConfigError(
                f"data.hub_id must be a hub dataset id or a folder but got {hub_id!r}."
            )
        for key in ("train_split", "validation_split", "test_split"):
            value = cfg.get(key)
            optional = key != "train_split"
            if not (isinstance(value, str) and value) and not (optional and value is None):
                allowed = "a split name or null" if optional else "a split name"
                raise ConfigError(f"data.{key} must be {allowed} but got {value!r}.")
        splits = {k for k in ("validation", "test") if cfg.get(f"{k}_split")}
    from_train = cfg.get("validation", "dev") == "from_train"
    what = "data.validation_file" if source == "files" else "data.validation_split"
    if "validation" not in splits and not from_train:
        raise ConfigError(
            f"{what} must be set with data.validation=dev (or set data.validation=from_train to "
            "hold validation out of train) but got null."
        )
    if from_train and {"validation", "test"} <= splits:
        raise ConfigError(
            f"data.validation=from_train makes {what} the test set; a second test set "
            f"({what.replace('validation', 'test')}) must be null but got "
            f"{cfg.get('test_file' if source == 'files' else 'test_split')!r}."
        )


def _check_builtin(spec: Any) -> None:
    """The ``data.builtin`` node (checked for every GLUE source: ``auto`` may fall back to it)."""
    if spec is None:
        return
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"data.builtin must be a mapping {{num_train, num_eval, label_noise}} but got {spec!r}."
        )
    check_node(
        "data.builtin", {"num_train": 1, "num_eval": 1, "label_noise": 0.0, **spec}, BUILTIN_RULES
    )


# ----------------------------------------------------------------------------- loading


def load_task_data(cfg: Mapping[str, Any], *, seed: int) -> TaskData:
    """Load the configured task from its source, with subsets and the validation split applied.

    Args:
        cfg: The ``data`` config node (plain mapping).
        seed: Seed of the subsets, held-out split and built-in generator.
    """
    task = check_config(cfg)
    data = _load_glue(cfg, task, seed=seed) if isinstance(task, Task) else _load_user(cfg)
    train, evals = apply_validation(
        cfg,
        regression=data.task.is_regression,
        train=data.train,
        evals=data.evals,
        seed=seed,
        notes=data.notes,
    )
    return replace(data, train=train, evals=evals)


def _load_glue(cfg: Mapping[str, Any], task: Task, *, seed: int) -> TaskData:
    """A GLUE task from its folder, the hub, or (sst2, or when asked) the built-in demo task."""
    source = resolve_source(cfg)
    notes: list[str] = []
    if source == "glue_dir":
        glue_dir = Path(str(cfg["glue_dir"])).expanduser()
        train, evals = load_glue_dir(task, glue_dir, notes=notes)
        return _glue_data(
            task, "glue_dir", str(glue_dir.resolve() / task.folder), train, evals, notes
        )
    if source == "hub":
        try:
            train, evals = _load_glue_hub(task, cfg)
            return _glue_data(
                task, "hub", f"{cfg['hub_id']} ({task.hub_config})", train, evals, notes
            )
        except HubUnavailable as err:
            if cfg.get("source") == "hub":
                raise
            if task.name != DEMO_TASK:
                # The demo task is a sentiment task: standing in for anything else would
                # train (and report) a task nobody asked for.
                raise DataError(
                    f"data.task={task.name}: no data: data.glue_dir (GLUE_DIR) is not set and "
                    f"the hub failed ({err.failure}). Set GLUE_DIR or data.glue_dir to a GLUE "
                    f"folder, or data.source=builtin for the demo sentiment task (not "
                    f"{task.name})."
                ) from None
            notes.append(f"hub unavailable: {err}")
    spec = dict(cfg.get("builtin") or {})
    gen = builtin.generate(
        num_train=int(spec.get("num_train", 4000)),
        num_eval=int(spec.get("num_eval", 800)),
        label_noise=float(spec.get("label_noise", 0.08)),
        seed=seed,
    )
    if task.name != DEMO_TASK:
        notes.append(
            f"data.task={task.name}: the built-in task stands in for sst2 only (single "
            f"sentences, binary sentiment); nothing here is about {task.name}"
        )
    return TaskData(
        task=get_task(DEMO_TASK),  # a single-sentence binary task, metric accuracy
        source="builtin",
        origin=f"builtin sentiment task v{builtin.VERSION} (seed={seed})",
        train=Split(text_a=gen.train_texts, text_b=None, labels=gen.train_labels),
        evals={"validation": Split(text_a=gen.eval_texts, text_b=None, labels=gen.eval_labels)},
        label_names=("negative", "positive"),
        notes=notes,
    )


def _glue_data(
    task: Task, source: str, origin: str, train: Split, evals: dict[str, Split], notes: list[str]
) -> TaskData:
    return TaskData(
        task=task,
        source=source,
        origin=origin,
        train=train,
        evals=evals,
        label_names=task.label_names,
        notes=notes,
    )


def _load_glue_hub(task: Task, cfg: Mapping[str, Any]) -> tuple[Split, dict[str, Split]]:
    """Train and eval splits of a GLUE task via ``datasets.load_dataset(hub_id, task)``.

    ``hub_id`` may also be a local folder laid out like the hub repository (a config folder per
    task holding its parquet files, described in the repository's README).
    """
    hub_id = str(cfg["hub_id"])
    splits = {"train": "train", **{name: hub for name, (_, hub) in task.eval_splits.items()}}
    loaded = load_hub_splits(
        hub_id,
        task.hub_config,
        splits=splits,
        revision=cfg.get("hub_revision"),
        cache_dir=cfg.get("hub_cache_dir"),
        key="data.source=hub",
        advice="Set data.glue_dir (or GLUE_DIR) to a local GLUE folder, or data.source=builtin.",
    )
    columns = [task.hub_text_a] + ([task.hub_text_b] if task.hub_text_b else [])
    out: dict[str, Split] = {}
    for name, ds in loaded.items():
        where = f"{hub_id} ({task.hub_config}, {splits[name]})"
        text_a, text_b, labels = take_columns(
            ds, text_columns=columns, label_column="label", where=where
        )
        bad = next((x for x in labels if not _glue_label_ok(x, task)), None)
        if bad is not None:
            raise DataError(f"{where}: label {bad!r} is not valid.")
        out[name] = Split(text_a=text_a, text_b=text_b, labels=labels)
    train = out.pop("train")
    return train, out


def _glue_label_ok(value: Any, task: Task) -> bool:
    if task.is_regression:
        return isinstance(value, int | float) and 0.0 <= value <= 5.0
    return isinstance(value, int) and 0 <= value < task.num_labels


def _load_user(cfg: Mapping[str, Any]) -> TaskData:
    """A user's files or hub dataset: columns from the config, labels and task from train."""
    text_columns, label_column = check_columns(cfg.get("text_columns"), cfg.get("label_column"))
    if resolve_source(cfg) == "files":
        files = split_files(cfg)
        cache = cfg.get("cache_dir")
        tables = {
            name: load_file(
                path,
                fmt=file_format(str(path), cfg.get("format"), key=f"{name}_file"),
                text_columns=text_columns,
                cache_dir=str(Path(str(cache)) / "datasets") if cache else None,
            )
            for name, path in files.items()
        }
        where = {name: str(path) for name, path in files.items()}
        source, origin = "files", str(files["train"].resolve())
    else:
        hub_id, config = str(cfg["hub_id"]), cfg.get("hub_config")
        splits = {
            name: str(cfg[f"{name}_split"])
            for name in ("train", "validation", "test")
            if cfg.get(f"{name}_split")
        }
        label = f"{hub_id} ({config})" if config else hub_id
        tables = load_hub_splits(
            hub_id,
            config,
            splits=splits,
            revision=cfg.get("hub_revision"),
            cache_dir=cfg.get("hub_cache_dir"),
            key=f"data.hub_id={hub_id}",
            advice="Check the id and data.hub_config, or reach the hub once to fill the cache.",
        )
        where = {name: f"{label}, split {hub!r}" for name, hub in splits.items()}
        source, origin = "hub", label
    raw = {
        name: take_columns(
            table, text_columns=text_columns, label_column=label_column, where=where[name]
        )
        for name, table in tables.items()
    }
    task, classes, description = infer_task(
        name=str(cfg["task"]),
        labels=raw["train"][2],
        feature=tables["train"].features[label_column],
        task_type=str(cfg.get("task_type", "auto")),
        label_column=label_column,
        where=where["train"],
    )
    splits_out: dict[str, Split] = {}
    for name, (text_a, text_b, labels) in raw.items():
        if task.is_regression:
            ids: list[Any] = to_float(labels, where=where[name], column=label_column)
        else:
            ids = to_ids(labels, classes, where=where[name])
        splits_out[name] = Split(text_a=text_a, text_b=text_b, labels=ids)
    train = splits_out.pop("train")
    return TaskData(
        task=task,
        source=source,
        origin=origin,
        train=train,
        evals=splits_out,
        label_names=task.label_names,
        description=description,
    )
