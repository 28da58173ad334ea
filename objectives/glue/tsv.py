"""GLUE folders in the original ``glue_data/`` TSV layout (what the GLUE download script writes).

TSV files are parsed with a tab delimiter and no quote handling: default CSV quoting silently
merges rows (MRPC train drops from 3,668 to 3,571 rows).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from objectives.glue.examples import Split
from objectives.glue.tasks import Task
from sweeper.errors import DataError

log = logging.getLogger(__name__)


def read_tsv(path: Path, task: Task, *, notes: list[str] | None = None) -> Split:
    """Read one split of a task in the original GLUE TSV layout; strict about its shape.

    QQP alone is lenient: its original ``train.tsv`` holds rows with a wrong field count (a
    question cut by a stray newline); they are skipped, as the hub's GLUE loader skips them,
    and ``notes`` gets how many.

    Raises:
        DataError: naming the file, the line and what is wrong.
    """
    if not path.is_file():
        raise DataError(f"{path}: file not found (GLUE task {task.name} reads {task.folder}/).")
    layout = task.layout
    text_a: list[str] = []
    text_b: list[str] = []
    labels: list[Any] = []
    skipped = 0
    # utf-8-sig drops the byte-order mark MRPC starts with.
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror or err}).") from None
    with handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        try:
            first = next(reader)
        except StopIteration:
            raise DataError(f"{path}: file is empty.") from None
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{path}:1: unreadable ({err}).") from None
        if layout.header:
            width = len(first)
            columns = {name: i for i, name in enumerate(first)}
            wanted = [layout.text_a, layout.text_b, layout.label]
            missing = [c for c in wanted if c is not None and c not in columns]
            if missing:
                raise DataError(f"{path}:1: missing column {missing[0]!r}; the header has {first}.")
            ia, ib, il = (
                columns[layout.text_a],  # type: ignore[index]
                None if layout.text_b is None else columns[layout.text_b],  # type: ignore[index]
                columns[layout.label],  # type: ignore[index]
            )
            rows: Any = reader
            start = 2
        else:
            width = 4  # CoLA: source, label, original mark, sentence
            ia, ib, il = int(layout.text_a), None, int(layout.label)
            rows = _chain([first], reader)
            start = 1
        try:
            for line, row in enumerate(rows, start=start):
                if not row:
                    continue  # a blank line (a trailing newline) carries no example
                if len(row) != width and task.skip_malformed_rows:
                    skipped += 1
                    continue
                if len(row) != width:
                    raise DataError(
                        f"{path}:{line}: expected {width} tab-separated fields but got {len(row)}."
                    )
                text_a.append(row[ia])
                if ib is not None:
                    text_b.append(row[ib])
                labels.append(parse_label(row[il], task, where=f"{path}:{line}"))
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataError(f"{path}: unreadable ({err}).") from None
    if not labels:
        raise DataError(f"{path}: no examples (only a header).")
    if skipped:
        message = (
            f"{path}: skipped {skipped} malformed row(s) (not {width} tab-separated fields), "
            f"as the hub's GLUE loader does for {task.name}."
        )
        if notes is not None:
            notes.append(message)  # shown at start with the other data notes
        else:
            log.warning("%s", message)
    return Split(text_a=text_a, text_b=text_b if ib is not None else None, labels=labels)


def _chain(first: list[list[str]], rest: Any) -> Any:
    yield from first
    yield from rest


def parse_label(text: str, task: Task, *, where: str) -> Any:
    """A class id (or float score) from its TSV text; :class:`DataError` names ``where``."""
    value = text.strip()
    if task.is_regression:
        try:
            score = float(value)
        except ValueError:
            score = float("nan")
        if not 0.0 <= score <= 5.0:
            raise DataError(f"{where}: label {text!r} is not a score in [0, 5].")
        return score
    if task.label_names is not None:
        if value not in task.label_names:
            raise DataError(f"{where}: label {text!r} is not one of {list(task.label_names)}.")
        return task.label_names.index(value)
    if value not in {str(i) for i in range(task.num_labels)}:
        raise DataError(
            f"{where}: label {text!r} is not one of {[str(i) for i in range(task.num_labels)]}."
        )
    return int(value)


def glue_files(task: Task, glue_dir: Path) -> dict[str, Path]:
    """The TSV file of each split ``task`` reads from ``glue_dir`` (``train`` first).

    Cheap (no file is read), so the config check runs it before anything is opened.

    Raises:
        DataError: naming the task's folder or the first of its files that is missing.
    """
    folder = glue_dir / task.folder
    if not folder.is_dir():
        raise DataError(
            f"{folder}: folder not found (data.glue_dir={glue_dir} has no {task.folder}/ for "
            f"task {task.name})."
        )
    files = {"train": folder / "train.tsv"}
    files.update({name: folder / file for name, (file, _) in task.eval_splits.items()})
    for path in files.values():
        if not path.is_file():
            raise DataError(
                f"{path}: file not found (GLUE task {task.name} needs "
                f"{sorted(p.name for p in files.values())} in {folder})."
            )
    return files


def load_glue_dir(
    task: Task, glue_dir: Path, *, notes: list[str] | None = None
) -> tuple[Split, dict[str, Split]]:
    """Train and eval splits of ``task`` from a folder in the original ``glue_data/`` layout."""
    files = glue_files(task, glue_dir)
    train = read_tsv(files.pop("train"), task, notes=notes)
    return train, {name: read_tsv(path, task, notes=notes) for name, path in files.items()}
