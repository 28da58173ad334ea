"""``data.source=auto`` (the default of ``data=glue``): the GLUE folder when one is set, else the
hub, else (task sst2 only) the built-in demo task; any other task without data is an error."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.glue.examples import TaskData
from objectives.glue.hub import HubUnavailable
from objectives.glue.sources import builtin, glue_dir, hub
from objectives.glue.sources.base import Source, check_glue
from sweeper.errors import DataError


def check(cfg: Mapping[str, Any]) -> tuple[Source, Any]:
    """The source ``auto`` stands for (glue_dir when data.glue_dir is set, else hub), checked."""
    source = glue_dir.SOURCE if cfg.get("glue_dir") else hub.GLUE
    return source, source.check(cfg)


def load(cfg: Mapping[str, Any], checked: tuple[Source, Any], *, seed: int) -> TaskData:
    source, inner = checked
    if source is not hub.GLUE:
        return source.load(cfg, inner, seed=seed)
    try:
        return source.load(cfg, inner, seed=seed)
    except HubUnavailable as err:
        task = check_glue(cfg)
        if task.name != builtin.DEMO_TASK:
            # The demo task is a sentiment task: standing in for anything else would train (and
            # report) a task nobody asked for.
            raise DataError(
                f"data.task={task.name}: no data: data.glue_dir (GLUE_DIR) is not set and "
                f"the hub failed ({err.failure}). Set GLUE_DIR or data.glue_dir to a GLUE "
                f"folder, or data.source=builtin for the demo sentiment task (not "
                f"{task.name})."
            ) from None
        return builtin.load(cfg, task, seed=seed, notes=[f"hub unavailable: {err}"])


SOURCE = Source(name="auto", preset="glue", check=check, load=load)
