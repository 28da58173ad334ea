"""GLUE examples from a local GLUE folder, the Hugging Face hub, or the built-in demo task.

Every source ends in the same :class:`TaskData` (text pairs and labels per split), so everything
downstream (subsets, tokenization, training) runs one code path. TSV files are parsed with a tab
delimiter and no quote handling: default CSV quoting silently merges rows (MRPC train drops from
3,668 to 3,571 rows).
"""

from __future__ import annotations

import csv
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from objectives.glue import builtin
from objectives.glue.tasks import Task, get_task
from sweeper.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SOURCES = ("auto", "glue_dir", "hub", "builtin")
# The one task the built-in demo data may stand in for when data.source=auto finds nothing.
DEMO_TASK = "sst2"
VALIDATION_MODES = ("dev", "from_train")


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

    task: Task
    source: str  # glue_dir | hub | builtin
    origin: str
    train: Split
    evals: dict[str, Split]  # "validation" first; "mismatched" (MNLI), "test" (from_train)
    label_names: tuple[str, ...] | None
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- TSV files


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


# ----------------------------------------------------------------------------- the hub


def hub_reachable(timeout: float = 3.0) -> tuple[bool, str]:
    """Whether the hub answers a TCP connection within ``timeout`` (and why not)."""
    from_env = os.environ.get("HF_HUB_OFFLINE", "").upper()
    if from_env in {"1", "ON", "YES", "TRUE"}:
        return False, "HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, ""
    except OSError as err:
        return False, f"{host}:{port} unreachable ({err.strerror or err})"


def go_offline() -> None:
    """Make hub libraries use their local caches only, without retrying for minutes.

    They read ``HF_HUB_OFFLINE`` when first imported; modules already imported get the same
    flag set on their config constants.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    import sys

    if "huggingface_hub" in sys.modules:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        import datasets.config as datasets_config

        datasets_config.HF_HUB_OFFLINE = True


class HubUnavailable(DataError):
    """The hub (and the local datasets cache) could not give the dataset; ``failure`` says why."""

    def __init__(self, message: str, *, failure: str) -> None:
        super().__init__(message)
        self.failure = failure


def load_hub(
    task: Task, hub_id: str, revision: str | None, *, cache_dir: str | None = None
) -> tuple[Split, dict[str, Split]]:
    """Train and eval splits of ``task`` via ``datasets.load_dataset(hub_id, task_config)``.

    ``hub_id`` may also be a local folder laid out like the hub repository (a config folder per
    task holding its parquet files, described in the repository's README).
    """
    online, why = (True, "") if Path(hub_id).is_dir() else hub_reachable()
    if not online:
        go_offline()  # the datasets cache may still hold it
    import datasets

    datasets.disable_progress_bars()
    try:
        loaded = datasets.load_dataset(
            hub_id, task.hub_config, revision=revision, cache_dir=cache_dir
        )
    except Exception as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        extra = f"; {why}" if why else ""
        failure = f"cannot load {hub_id} ({task.hub_config}): {reason}{extra}"
        raise HubUnavailable(
            f"data.source=hub: {failure}. "
            "Set data.glue_dir (or GLUE_DIR) to a local GLUE folder, or data.source=builtin.",
            failure=failure,
        ) from None

    def split(name: str) -> Split:
        if name not in loaded:
            raise DataError(
                f"{hub_id} ({task.hub_config}) has no split {name!r}; it has {list(loaded)}."
            )
        ds = loaded[name]
        wanted = [task.hub_text_a, "label"] + ([task.hub_text_b] if task.hub_text_b else [])
        missing = [c for c in wanted if c not in ds.column_names]
        if missing:
            raise DataError(
                f"{hub_id} ({task.hub_config}, {name}): missing column {missing[0]!r}; "
                f"columns are {ds.column_names}."
            )
        labels = list(ds["label"])
        bad = next((x for x in labels if not _label_ok(x, task)), None)
        if bad is not None:
            raise DataError(f"{hub_id} ({task.hub_config}, {name}): label {bad!r} is not valid.")
        return Split(
            text_a=list(ds[task.hub_text_a]),
            text_b=list(ds[task.hub_text_b]) if task.hub_text_b else None,
            labels=labels,
        )

    evals = {name: split(hub_split) for name, (_, hub_split) in task.eval_splits.items()}
    return split("train"), evals


def _label_ok(value: Any, task: Task) -> bool:
    if task.is_regression:
        return isinstance(value, int | float) and 0.0 <= value <= 5.0
    return isinstance(value, int) and 0 <= value < task.num_labels


# ----------------------------------------------------------------------------- choosing


def resolve_source(cfg: Mapping[str, Any]) -> str:
    """``auto`` -> glue_dir when one is configured, else hub; explicit sources stay."""
    source = cfg.get("source", "auto")
    if source not in SOURCES:
        raise ConfigError(f"data.source must be one of {list(SOURCES)} but got {source!r}.")
    if source != "auto":
        return str(source)
    return "glue_dir" if cfg.get("glue_dir") else "hub"


def check_config(cfg: Mapping[str, Any]) -> Task:
    """Check the data config before anything loads; returns the task."""
    task = get_task(cfg.get("task", ""))
    resolve_source(cfg)
    if cfg.get("validation", "dev") not in VALIDATION_MODES:
        raise ConfigError(
            f"data.validation must be one of {list(VALIDATION_MODES)} but got "
            f"{cfg.get('validation')!r}."
        )
    for key in ("max_train_samples", "max_eval_samples"):
        value = cfg.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ConfigError(f"data.{key} must be an integer >= 1 or null but got {value!r}.")
    size = cfg.get("validation_size", 0.1)
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        raise ConfigError(
            f"data.validation_size must be a fraction in (0, 1) or a count >= 1 but got {size!r}."
        )
    max_len = cfg.get("max_seq_length", 128)
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 8:
        raise ConfigError(f"data.max_seq_length must be an integer >= 8 but got {max_len!r}.")
    _check_builtin(cfg.get("builtin"))
    if cfg.get("source") == "glue_dir" and not cfg.get("glue_dir"):
        raise ConfigError(
            "data.source=glue_dir needs data.glue_dir (or the GLUE_DIR environment variable) "
            "but got null."
        )
    glue_dir = cfg.get("glue_dir")
    if glue_dir and resolve_source(cfg) == "glue_dir":
        # str(): a number given on the command line arrives as an int. expanduser as the loader.
        folder = Path(str(glue_dir)).expanduser()
        if not folder.is_dir():
            raise DataError(f"{glue_dir}: data.glue_dir is not a folder.")
        glue_files(task, folder)  # the task's folder and files, before anything is opened
    return task


def _check_builtin(spec: Any) -> None:
    """The ``data.builtin`` node (checked for every source: ``auto`` may fall back to it)."""
    if spec is None:
        return
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"data.builtin must be a mapping {{num_train, num_eval, label_noise}} but got {spec!r}."
        )
    for key in ("num_train", "num_eval"):
        value = spec.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.builtin.{key} must be an integer >= 1 but got {value!r}.")
    noise = spec.get("label_noise", 0.0)
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < 0.5:
        raise ConfigError(f"data.builtin.label_noise must be in [0, 0.5) but got {noise!r}.")


def load_task_data(cfg: Mapping[str, Any], *, seed: int) -> TaskData:
    """Load the configured task from its source, with subsets and the validation split applied.

    Args:
        cfg: The ``data`` config node (plain mapping).
        seed: Seed of the subsets, held-out split and built-in generator.
    """
    task = check_config(cfg)
    source = resolve_source(cfg)
    notes: list[str] = []
    label_names = task.label_names
    if source == "glue_dir":
        glue_dir = Path(str(cfg["glue_dir"])).expanduser()
        train, evals = load_glue_dir(task, glue_dir, notes=notes)
        origin = str(glue_dir.resolve() / task.folder)
    elif source == "hub":
        try:
            train, evals = load_hub(
                task,
                str(cfg["hub_id"]),
                cfg.get("hub_revision"),
                cache_dir=cfg.get("hub_cache_dir"),
            )
            origin = f"{cfg['hub_id']} ({task.hub_config})"
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
            source = "builtin"
    if source == "builtin":
        spec = dict(cfg.get("builtin") or {})
        gen = builtin.generate(
            num_train=int(spec.get("num_train", 4000)),
            num_eval=int(spec.get("num_eval", 800)),
            label_noise=float(spec.get("label_noise", 0.08)),
            seed=seed,
        )
        train = Split(text_a=gen.train_texts, text_b=None, labels=gen.train_labels)
        evals = {"validation": Split(text_a=gen.eval_texts, text_b=None, labels=gen.eval_labels)}
        origin = f"builtin sentiment task v{builtin.VERSION} (seed={seed})"
        if task.name != "sst2":
            notes.append(
                f"data.task={task.name}: the built-in task stands in for sst2 only (single "
                f"sentences, binary sentiment); nothing here is about {task.name}"
            )
        task = get_task("sst2")  # a single-sentence binary task, metric accuracy
        label_names = ("negative", "positive")
    train, evals = _apply_validation(cfg, task, train, evals, seed=seed, notes=notes)
    return TaskData(
        task=task,
        source=source,
        origin=origin,
        train=train,
        evals=evals,
        label_names=label_names,
        notes=notes,
    )


def _apply_validation(
    cfg: Mapping[str, Any],
    task: Task,
    train: Split,
    evals: dict[str, Split],
    *,
    seed: int,
    notes: list[str],
) -> tuple[Split, dict[str, Split]]:
    if cfg.get("validation", "dev") == "from_train":
        size = cfg.get("validation_size", 0.1)
        count = int(size) if size >= 1 else max(1, round(size * len(train)))
        if count >= len(train):
            raise ConfigError(
                f"data.validation_size={size} leaves no training examples of {len(train)}."
            )
        held, kept = stratified_split(train.labels, count, seed=seed, regression=task.is_regression)
        evals = {
            "validation": train.select(held),
            **{f"test{'' if k == 'validation' else '_' + k}": v for k, v in evals.items()},
        }
        train = train.select(kept)
    train = _subset(train, cfg.get("max_train_samples"), "max_train_samples", task, seed, notes)
    evals = {
        name: _subset(split, cfg.get("max_eval_samples"), "max_eval_samples", task, seed, notes)
        for name, split in evals.items()
    }
    return train, evals


def _subset(
    split: Split, limit: int | None, key: str, task: Task, seed: int, notes: list[str]
) -> Split:
    if limit is None:
        return split
    if limit >= len(split):
        if limit > len(split):
            notes.append(
                f"data.{key}={limit} is more than the {len(split)} examples there: using all."
            )
        return split
    chosen, _ = stratified_split(split.labels, limit, seed=seed, regression=task.is_regression)
    return split.select(sorted(chosen))


def stratified_split(
    labels: Sequence[Any], count: int, *, seed: int, regression: bool = False
) -> tuple[list[int], list[int]]:
    """A seeded, label-stratified choice of ``count`` indices, and the rest.

    Regression scores are stratified by their rounded value; where a class is too small to
    stratify, the choice is plain random (still seeded).
    """
    from sklearn.model_selection import train_test_split

    indices = list(range(len(labels)))
    strata = [round(x) for x in labels] if regression else list(labels)
    try:
        chosen, rest = train_test_split(
            indices, train_size=count, stratify=strata, random_state=seed
        )
    except ValueError:
        chosen, rest = train_test_split(indices, train_size=count, random_state=seed)
    return list(chosen), list(rest)
