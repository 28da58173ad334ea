"""``data.source=hub``: a Hugging Face hub dataset (or a local folder laid out like one), read by
:func:`objectives.glue.hub.load_hub_splits`. Two sources of one name: :data:`GLUE` (a GLUE task
from ``nyu-mll/glue``, columns from the task table) and :data:`OWN` (``data=hub``: any dataset,
columns named in the config)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.glue.columns import take_columns
from objectives.glue.examples import Split, TaskData
from objectives.glue.hub import load_hub_splits
from objectives.glue.sources.base import (
    Columns,
    Source,
    check_glue,
    check_own,
    check_own_splits,
    glue_data,
    own_data,
)
from objectives.glue.tasks import Task
from sweeper.errors import ConfigError, DataError

# ----------------------------------------------------------------------------- a GLUE task


def load_glue(cfg: Mapping[str, Any], task: Task, *, seed: int) -> TaskData:
    """Train and eval splits of a GLUE task via ``datasets.load_dataset(hub_id, task)``.

    Raises:
        HubUnavailable: the hub (and its cache) cannot serve the task.
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
    origin = f"{hub_id} ({task.hub_config})"
    return glue_data(task, source="hub", origin=origin, train=train, evals=out, notes=[])


def _glue_label_ok(value: Any, task: Task) -> bool:
    if task.is_regression:
        return isinstance(value, int | float) and 0.0 <= value <= 5.0
    return isinstance(value, int) and 0 <= value < task.num_labels


GLUE = Source(name="hub", preset="glue", check=check_glue, load=load_glue)

# ----------------------------------------------------------------------------- a user's dataset


def check_own_hub(cfg: Mapping[str, Any]) -> tuple[Columns, dict[str, str]]:
    """The columns, the dataset id and the hub split of each split (by name, ``train`` first)."""
    columns = check_own(cfg)
    hub_id = cfg.get("hub_id")
    if not isinstance(hub_id, str) or not hub_id:
        raise ConfigError(f"data.hub_id must be a hub dataset id or a folder but got {hub_id!r}.")
    for key in ("train_split", "validation_split", "test_split"):
        value = cfg.get(key)
        optional = key != "train_split"
        if not (isinstance(value, str) and value) and not (optional and value is None):
            allowed = "a split name or null" if optional else "a split name"
            raise ConfigError(f"data.{key} must be {allowed} but got {value!r}.")
    splits = {
        name: str(cfg[f"{name}_split"])
        for name in ("train", "validation", "test")
        if cfg.get(f"{name}_split")
    }
    check_own_splits(cfg, set(splits), key="split")
    return columns, splits


def load_own(
    cfg: Mapping[str, Any], checked: tuple[Columns, dict[str, str]], *, seed: int
) -> TaskData:
    columns, splits = checked
    hub_id, config = str(cfg["hub_id"]), cfg.get("hub_config")
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
    return own_data(
        cfg,
        columns,
        tables=tables,
        where={name: f"{label}, split {hub!r}" for name, hub in splits.items()},
        source="hub",
        origin=label,
    )


OWN = Source(name="hub", preset=None, check=check_own_hub, load=load_own)
