"""The GLUE tasks: file layouts, hub columns, labels and metrics, one table row per task."""

from __future__ import annotations

from dataclasses import dataclass

from sweeper.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class TsvLayout:
    """Where the fields sit in a task's original GLUE TSV files.

    Columns are header names, or 0-based positions for header-less files (CoLA).
    """

    header: bool
    text_a: str | int
    text_b: str | int | None
    label: str | int


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """What training and evaluation need to know of a task, whatever its data source.

    A GLUE task (:class:`Task`) is one preset; a user's files or hub dataset get one built from
    their label column (:func:`objectives.glue.columns.infer_task`).
    """

    name: str
    # String label -> class id (in this order); None: labels are integers already (or a float
    # score for regression).
    label_names: tuple[str, ...] | None
    num_labels: int  # 1: regression (MSE loss)
    metrics: tuple[str, ...]  # the first is the task's main metric

    @property
    def is_regression(self) -> bool:
        return self.num_labels == 1

    @property
    def main_metric(self) -> str:
        return self.metrics[0]


@dataclass(frozen=True, kw_only=True)
class Task(TaskSpec):
    """One GLUE task: where its files and hub columns are, on top of its labels and metrics."""

    folder: str  # folder in glue_data/
    layout: TsvLayout
    hub_config: str
    hub_text_a: str
    hub_text_b: str | None
    # Split name -> (TSV file, hub split). "validation" drives the sweep; the others are
    # reported next to it (MNLI mismatched).
    eval_splits: dict[str, tuple[str, str]]
    # Skip TSV rows with a wrong field count instead of refusing the file (QQP's train.tsv has
    # such rows).
    skip_malformed_rows: bool = False

    @property
    def is_pair(self) -> bool:
        return self.layout.text_b is not None


_HEADERED_PAIR = TsvLayout(header=True, text_a="sentence1", text_b="sentence2", label="label")
_ENTAILMENT = ("entailment", "not_entailment")

TASKS: dict[str, Task] = {
    t.name: t
    for t in (
        Task(
            name="cola",
            folder="CoLA",
            layout=TsvLayout(header=False, text_a=3, text_b=None, label=1),
            hub_config="cola",
            hub_text_a="sentence",
            hub_text_b=None,
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=None,
            num_labels=2,
            metrics=("matthews_corr", "accuracy"),
        ),
        Task(
            name="sst2",
            folder="SST-2",
            layout=TsvLayout(header=True, text_a="sentence", text_b=None, label="label"),
            hub_config="sst2",
            hub_text_a="sentence",
            hub_text_b=None,
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=None,
            num_labels=2,
            metrics=("accuracy",),
        ),
        Task(
            name="mrpc",
            folder="MRPC",
            layout=TsvLayout(header=True, text_a="#1 String", text_b="#2 String", label="Quality"),
            hub_config="mrpc",
            hub_text_a="sentence1",
            hub_text_b="sentence2",
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=None,
            num_labels=2,
            metrics=("f1", "accuracy"),
        ),
        Task(
            name="stsb",
            folder="STS-B",
            layout=TsvLayout(header=True, text_a="sentence1", text_b="sentence2", label="score"),
            hub_config="stsb",
            hub_text_a="sentence1",
            hub_text_b="sentence2",
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=None,
            num_labels=1,
            metrics=("pearson", "spearman"),
        ),
        Task(
            name="qqp",
            folder="QQP",
            layout=TsvLayout(
                header=True, text_a="question1", text_b="question2", label="is_duplicate"
            ),
            hub_config="qqp",
            hub_text_a="question1",
            hub_text_b="question2",
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=None,
            num_labels=2,
            metrics=("f1", "accuracy"),
            skip_malformed_rows=True,
        ),
        Task(
            name="mnli",
            folder="MNLI",
            layout=TsvLayout(
                header=True, text_a="sentence1", text_b="sentence2", label="gold_label"
            ),
            hub_config="mnli",
            hub_text_a="premise",
            hub_text_b="hypothesis",
            eval_splits={
                "validation": ("dev_matched.tsv", "validation_matched"),
                "mismatched": ("dev_mismatched.tsv", "validation_mismatched"),
            },
            label_names=("entailment", "neutral", "contradiction"),
            num_labels=3,
            metrics=("accuracy",),
        ),
        Task(
            name="qnli",
            folder="QNLI",
            layout=TsvLayout(header=True, text_a="question", text_b="sentence", label="label"),
            hub_config="qnli",
            hub_text_a="question",
            hub_text_b="sentence",
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=_ENTAILMENT,
            num_labels=2,
            metrics=("accuracy",),
        ),
        Task(
            name="rte",
            folder="RTE",
            layout=_HEADERED_PAIR,
            hub_config="rte",
            hub_text_a="sentence1",
            hub_text_b="sentence2",
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=_ENTAILMENT,
            num_labels=2,
            metrics=("accuracy",),
        ),
        Task(
            name="wnli",
            folder="WNLI",
            layout=_HEADERED_PAIR,
            hub_config="wnli",
            hub_text_a="sentence1",
            hub_text_b="sentence2",
            eval_splits={"validation": ("dev.tsv", "validation")},
            label_names=None,
            num_labels=2,
            metrics=("accuracy",),
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called ``name`` (case-insensitive; ``sst-2`` and ``sts-b`` spellings too)."""
    key = str(name).lower().replace("-", "")
    if key not in TASKS:
        raise ConfigError(f"data.task must be one of {sorted(TASKS)} but got {name!r}.")
    return TASKS[key]
