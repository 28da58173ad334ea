"""The data model every source ends in: text pairs and labels per split, and the task they are.

GLUE folders, the hub, a user's files and the built-in demo task all produce a :class:`TaskData`,
so everything downstream (subsets, tokenization, training, metrics) runs one code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from objectives.glue.tasks import TaskSpec


@dataclass(frozen=True)
class Split:
    """Examples of one split: first texts, second texts (pair tasks) and labels."""

    text_a: list[str]
    text_b: list[str] | None
    labels: list[Any]  # int class ids, or float scores for regression

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, indices: Sequence[int]) -> Split:
        return Split(
            text_a=[self.text_a[i] for i in indices],
            text_b=None if self.text_b is None else [self.text_b[i] for i in indices],
            labels=[self.labels[i] for i in indices],
        )


@dataclass(frozen=True, kw_only=True)
class TaskData:
    """A task's examples, ready for tokenization."""

    task: TaskSpec
    source: str  # glue_dir | hub | builtin | files
    origin: str
    train: Split
    evals: dict[str, Split]  # "validation" first; "mismatched" (MNLI), "test"
    label_names: tuple[str, ...] | None
    notes: list[str] = field(default_factory=list)
    # What the task is, said at start: "classification, 3 classes [...] (inferred from ...)".
    description: str = ""
