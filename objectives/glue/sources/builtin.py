"""``data.source=builtin``: the generated sentiment task (:mod:`objectives.glue.builtin`), which
stands in for sst2; no download."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from objectives.glue import builtin
from objectives.glue.examples import Split, TaskData
from objectives.glue.sources.base import Source, check_glue
from objectives.glue.tasks import Task, get_task

# The one task the built-in demo data stands in for (data.source=auto falls back to it).
DEMO_TASK = "sst2"


def load(
    cfg: Mapping[str, Any], task: Task, *, seed: int, notes: list[str] | None = None
) -> TaskData:
    """The generated task (deterministic from ``seed``), noted when ``task`` is not sst2."""
    notes = [] if notes is None else notes
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


SOURCE = Source(name="builtin", preset="glue", check=check_glue, load=load)
