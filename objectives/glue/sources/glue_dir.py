"""``data.source=glue_dir``: a GLUE task from a local folder in the original glue_data/ layout."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from objectives.glue.examples import TaskData
from objectives.glue.sources.base import Source, check_glue, glue_data
from objectives.glue.tasks import Task
from objectives.glue.tsv import glue_files, load_glue_dir
from sweeper.errors import ConfigError, DataError


def check(cfg: Mapping[str, Any]) -> tuple[Task, Path]:
    """The task, and its folder with the task's files (none of them opened)."""
    task = check_glue(cfg)
    glue_dir = cfg.get("glue_dir")
    if not glue_dir:
        raise ConfigError(
            "data.source=glue_dir needs data.glue_dir (or the GLUE_DIR environment variable) "
            "but got null."
        )
    # str(): a number given on the command line arrives as an int.
    folder = Path(str(glue_dir)).expanduser()
    if not folder.is_dir():
        raise DataError(f"{glue_dir}: data.glue_dir is not a folder.")
    glue_files(task, folder)  # the task's folder and files, before anything is opened
    return task, folder


def load(cfg: Mapping[str, Any], checked: tuple[Task, Path], *, seed: int) -> TaskData:
    task, folder = checked
    notes: list[str] = []
    train, evals = load_glue_dir(task, folder, notes=notes)
    origin = str(folder.resolve() / task.folder)
    return glue_data(task, source="glue_dir", origin=origin, train=train, evals=evals, notes=notes)


SOURCE = Source(name="glue_dir", preset="glue", check=check, load=load)
