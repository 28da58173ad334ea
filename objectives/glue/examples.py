"""The data model every source ends in: text pairs and labels per split, and the task they are.

GLUE folders, the hub, a user's files and the built-in demo task all produce a :class:`TaskData`,
so everything downstream (subsets, tokenization, training, metrics) runs one code path.
"""

from __future__ import annotations

import hashlib
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

    def update(self, h: hashlib._Hash) -> None:
        """Feed the examples (texts and labels, in order) to the hash ``h``."""
        for i, text in enumerate(self.text_a):
            h.update(text.encode())
            h.update(b"\x1f")
            if self.text_b is not None:
                h.update(self.text_b[i].encode())
            h.update(b"\x1e")
            h.update(repr(self.labels[i]).encode())
            h.update(b"\x1d")

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

    def digest(self) -> str:
        """A hash of every split's examples as loaded (after subsets): a data file edited in
        place, with the same number of rows, gives another digest."""
        h = hashlib.sha256()
        for name, split in (("train", self.train), *self.evals.items()):
            h.update(f"|{name}|".encode())
            split.update(h)
        return h.hexdigest()[:16]
