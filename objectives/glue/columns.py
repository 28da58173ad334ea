"""From a table of rows (a ``datasets.Dataset``) to texts and labels, and the task its labels are.

Used for a user's files and hub datasets alike. Rows with no text or no label (an empty field, or
a class label of -1, the ``datasets`` value for "no label") are refused, not skipped: silently
training on fewer examples than the file holds hides a broken export.
Classification labels (strings, integers, booleans or class labels) become class ids in sorted
order of the labels train holds; regression labels become floats. With ``data.task_type=auto``, a
float label column is regression unless it holds only a few whole numbers (``0.0``/``1.0``, an
export's class ids): those are far more often classes, so it is classification, and the start-up
line says so and how to regress on them instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from objectives.glue.tasks import TaskSpec
from sweeper.errors import ConfigError, DataError

if TYPE_CHECKING:
    import datasets

TASK_TYPES = ("auto", "classification", "regression")
CLASSIFICATION_METRICS = {2: ("accuracy", "f1")}  # binary: F1 of the second class in order
MULTICLASS_METRICS = ("accuracy", "macro_f1")
REGRESSION_METRICS = ("pearson", "spearman")
# A float label column with at most this many distinct values, all whole numbers, is taken as
# class ids under data.task_type=auto (more, and it reads as a score).
MAX_WHOLE_NUMBER_CLASSES = 10


def check_columns(text_columns: Any, label_column: Any) -> tuple[list[str], str]:
    """``data.text_columns`` (one or two names; a single name is accepted) and the label column.

    Raises:
        ConfigError: naming the key and what it must be.
    """
    if isinstance(text_columns, str):
        text_columns = [text_columns]
    if (
        not isinstance(text_columns, Sequence)
        or not 1 <= len(text_columns) <= 2
        or not all(isinstance(c, str) and c for c in text_columns)
    ):
        raise ConfigError(
            "data.text_columns must be a list of one or two column names (a text, or a text "
            f"pair) but got {text_columns!r}."
        )
    if len(set(text_columns)) != len(text_columns):
        raise ConfigError(
            f"data.text_columns must name two different columns but got {text_columns!r}."
        )
    if not isinstance(label_column, str) or not label_column:
        raise ConfigError(f"data.label_column must be a column name but got {label_column!r}.")
    if label_column in text_columns:
        raise ConfigError(
            f"data.label_column must not be one of data.text_columns but got {label_column!r}."
        )
    return list(text_columns), label_column


def take_columns(
    ds: datasets.Dataset, *, text_columns: Sequence[str], label_column: str, where: str
) -> tuple[list[str], list[str] | None, list[Any]]:
    """Texts (and second texts) and raw labels of every row of ``ds``.

    Raises:
        DataError: a named column is absent (listing those there), the split is empty, or rows
            have no text or no label (how many, and the first, 1-based, header not counted;
            a class label of -1 is no label).
    """
    import datasets

    missing = [c for c in (*text_columns, label_column) if c not in ds.column_names]
    if missing:
        raise DataError(f"{where}: no column {missing[0]!r}; the columns are {ds.column_names}.")
    if len(ds) == 0:
        raise DataError(f"{where}: no examples (the split is empty).")
    texts: list[list[str]] = []
    for column in text_columns:
        values = ds[column]
        _refuse_nulls(values, where=where, what=f"no text in column {column!r}")
        texts.append([v if isinstance(v, str) else str(v) for v in values])
    labels = list(ds[label_column])
    _refuse_nulls(labels, where=where, what=f"no label in column {label_column!r}")
    if isinstance(ds.features[label_column], datasets.ClassLabel):
        # -1 is the datasets "no label" value (SNLI's unannotated pairs, GLUE's test splits):
        # a row without a label, not a class.
        _refuse_nulls(
            [None if v == -1 else v for v in labels],
            where=where,
            what=f"label -1 (no label) in column {label_column!r}",
        )
    return texts[0], texts[1] if len(texts) == 2 else None, labels


def _refuse_nulls(values: Sequence[Any], *, where: str, what: str) -> None:
    nulls = [i for i, v in enumerate(values) if v is None]
    if nulls:
        raise DataError(
            f"{where}: {len(nulls)} row(s) with {what} (first: row {nulls[0] + 1}); such rows "
            "are refused, not skipped: fill or drop them."
        )


def infer_task(
    *,
    name: str,
    labels: Sequence[Any],
    feature: Any,
    task_type: str,
    label_column: str,
    where: str,
) -> tuple[TaskSpec, list[Any], str]:
    """The task that train's label column makes, the label set, and how it was decided.

    Args:
        name: The task's name (``data.task``).
        labels: Train's raw labels.
        feature: Train's ``datasets`` feature of the label column.
        task_type: ``classification``, ``regression`` or ``auto`` (from ``feature``: floats are
            regression, unless they are at most :data:`MAX_WHOLE_NUMBER_CLASSES` distinct whole
            numbers; anything else is classification).
        label_column: The column's name (for messages).
        where: Train's file or hub split (for messages).

    Returns:
        The task, the sorted label set (empty for regression) and a sentence saying what the
        task is and why.

    Raises:
        DataError: fewer than 2 classes, or a regression label that is not a number.
    """
    import datasets

    dtype = getattr(feature, "dtype", None)
    kind = type(feature).__name__ if dtype is None else str(dtype).replace("large_", "")
    if isinstance(feature, datasets.ClassLabel):
        kind = "class label"
    elif dtype is None:
        raise DataError(
            f"{where}: column {label_column!r} holds {kind} values; a label must be a string, "
            "an integer, a boolean or a number."
        )
    if task_type == "auto":
        why = f"inferred from label column {label_column!r} of type {kind}"
        task_type = "classification"
        if str(dtype).startswith("float"):
            whole = _whole_numbers(labels)
            if whole is None:
                task_type = "regression"
            else:
                why += (
                    f" holding only the whole numbers {whole}: taken as classes; set "
                    "data.task_type=regression to regress on them"
                )
    else:
        why = f"data.task_type={task_type}"
    if task_type == "regression":
        spec = TaskSpec(name=name, label_names=None, num_labels=1, metrics=REGRESSION_METRICS)
        return spec, [], f"regression, MSE loss ({why})"
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise DataError(
            f"{where}: column {label_column!r} holds {len(classes)} class(es) {classes}; "
            "classification needs at least 2 (or set data.task_type=regression)."
        )
    if isinstance(feature, datasets.ClassLabel):
        names = tuple(feature.names[c] for c in classes)
    else:
        names = tuple(str(c) for c in classes)
    metrics = CLASSIFICATION_METRICS.get(len(classes), MULTICLASS_METRICS)
    spec = TaskSpec(name=name, label_names=names, num_labels=len(classes), metrics=metrics)
    shown = list(names) if len(names) <= 10 else [*names[:10], "..."]
    return spec, classes, f"classification, {len(classes)} classes {shown} ({why})"


def _whole_numbers(labels: Sequence[Any]) -> list[int] | None:
    """The distinct values of ``labels`` as ints when they are few whole numbers, else None."""
    distinct = set(labels)
    if not 2 <= len(distinct) <= MAX_WHOLE_NUMBER_CLASSES:
        return None
    if not all(isinstance(x, float) and x.is_integer() for x in distinct):
        return None
    return sorted(int(x) for x in distinct)


def to_float(labels: Sequence[Any], *, where: str, column: str) -> list[float]:
    """Regression labels as floats.

    Raises:
        DataError: the first label that is not a finite number (its 1-based row).
    """
    out: list[float] = []
    for i, value in enumerate(labels):
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise DataError(
                f"{where}: row {i + 1}: label {value!r} in column {column!r} is not a number "
                "(regression labels must be numbers)."
            )
        out.append(number)
    return out


def to_ids(labels: Sequence[Any], classes: Sequence[Any], *, where: str) -> list[int]:
    """Class ids of ``labels`` (their place in train's sorted label set).

    Raises:
        DataError: labels that train does not have (naming them).
    """
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({x for x in labels if x not in index}, key=str)
    if unknown:
        shown = unknown if len(unknown) <= 5 else [*unknown[:5], "..."]
        raise DataError(
            f"{where}: label(s) {shown} are not in train's labels {list(classes)[:20]}."
        )
    return [index[x] for x in labels]
