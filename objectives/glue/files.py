"""A user's data files (CSV, TSV, JSON/JSONL, Parquet), read with ``datasets.load_dataset``.

Each file is one split and is loaded on its own, so an error names the file it is about. Only an
empty field counts as missing (pandas would also read texts such as "NA" or "null" as missing).

TSV is read with no quote handling, as the GLUE reader does: with CSV quoting, a text that starts
with ``"`` swallows the lines up to the next quote and rows merge silently. A CSV is scanned for
broken quoting first (an unterminated quote, or text after a closing quote), which pandas would
also merge or mangle without a word.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from objectives.glue.hub import first_line
from sweeper.errors import ConfigError, DataError

if TYPE_CHECKING:
    import datasets

# data.format -> (datasets builder, its options)
FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "csv": ("csv", {"keep_default_na": False, "na_values": [""]}),
    "tsv": (
        "csv",
        {
            "delimiter": "\t",
            "quoting": csv.QUOTE_NONE,
            "keep_default_na": False,
            "na_values": [""],
        },
    ),
    "json": ("json", {}),  # a JSON array of objects, or JSON lines
    "jsonl": ("json", {}),
    "parquet": ("parquet", {}),
}
SPLIT_FILES = {"train": "train_file", "validation": "validation_file", "test": "test_file"}


def file_format(path: str, fmt: str | None, *, key: str) -> str:
    """The format of ``path``: ``fmt`` when given, else from the extension (``.csv``, ...).

    Raises:
        ConfigError: neither names a format in :data:`FORMATS`.
    """
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(
                f"data.format must be one of {list(FORMATS)} or null but got {fmt!r}."
            )
        return fmt
    suffixes = [s.lower().lstrip(".") for s in Path(path).suffixes]
    # "train.jsonl.gz" and "train.csv.gz" read as their inner format (datasets decompresses).
    for suffix in reversed(suffixes):
        if suffix in FORMATS:
            return suffix
    raise ConfigError(
        f"data.{key}={path}: unknown format {Path(path).suffix or '(no extension)'!r}; the "
        f"extension must be one of {['.' + f for f in FORMATS]}, or set data.format."
    )


def check_file(path: str, *, key: str) -> Path:
    """``path`` (``~`` expanded) when it is a readable file; nothing is read.

    Raises:
        DataError: naming the path and the key that gave it.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise DataError(f"{path}: file not found (data.{key}).")
    if not file.is_file():
        raise DataError(f"{path}: not a file (data.{key}).")
    if not os.access(file, os.R_OK):
        raise DataError(f"{path}: cannot read the file (data.{key}: permission denied).")
    return file


def split_files(cfg: Any) -> dict[str, Path]:
    """The files of ``data=files`` by split (``train`` first), each checked, formats checked.

    Raises:
        ConfigError: no train file, or a format that is not known.
        DataError: a file that is missing or unreadable.
    """
    if not cfg.get("train_file"):
        raise ConfigError(
            "data.train_file must be a CSV, TSV, JSON(L) or Parquet file but got null."
        )
    files: dict[str, Path] = {}
    for split, key in SPLIT_FILES.items():
        value = cfg.get(key)
        if value is None or value == "":
            continue
        files[split] = check_file(str(value), key=key)
        file_format(str(value), cfg.get("format"), key=key)
    return files


def load_file(
    path: Path, *, fmt: str, text_columns: list[str], cache_dir: str | None
) -> datasets.Dataset:
    """All rows of one file as a ``datasets.Dataset``; ``text_columns`` as written (strings).

    Raises:
        DataError: the file is empty or does not parse as ``fmt`` (naming the file).
    """
    import datasets

    datasets.disable_progress_bars()
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty.")
    if fmt == "csv":
        check_quoting(path)
    builder, options = FORMATS[fmt]
    if builder == "csv":
        # pandas would read a text column of numbers as numbers: "007", "1.50" and "1e3" would
        # come back as "7", "1.5" and "1000.0". A converter gets the field as written.
        options = {**options, "converters": dict.fromkeys(text_columns, str)}
    # datasets logs a parse failure at ERROR before raising it; the DataError below says it once.
    datasets_log = logging.getLogger("datasets")
    level = datasets_log.level
    datasets_log.setLevel(logging.CRITICAL)
    try:
        return datasets.load_dataset(
            builder, data_files=str(path), split="train", cache_dir=cache_dir, **options
        )
    except Exception as err:
        # datasets wraps the parser's error; the innermost one says what is wrong.
        cause: BaseException = err
        while cause.__cause__ is not None:
            cause = cause.__cause__
        if "corresponds to no data" in str(cause):  # datasets cannot hold a split of 0 rows
            raise DataError(f"{path}: no examples (the split is empty).") from None
        raise DataError(f"{path}: cannot read it as {fmt} ({first_line(cause)}).") from None
    finally:
        datasets_log.setLevel(level)


def check_quoting(path: Path) -> None:
    """Refuse a CSV whose quoting is broken, naming the line, before pandas merges its rows.

    Python's ``csv`` reader in strict mode fails where pandas goes on: a quote never closed (the
    rest of the file would be one text), or a closing quote followed by more text (``"a" b``,
    whose quotes vanish, or a stray quote that swallowed lines up to the next one).

    Raises:
        DataError: ``path:line: ...``, the line where the broken record starts.
    """
    import fsspec

    limit = csv.field_size_limit()
    # A long text is no error here; only the quoting is checked (restored below: it is global).
    csv.field_size_limit(2**31 - 1)
    start = 1
    try:
        with fsspec.open(
            str(path), "rt", compression="infer", encoding="utf-8-sig", newline=""
        ) as handle:
            reader = csv.reader(handle, strict=True)
            try:
                for _ in reader:
                    start = reader.line_num + 1
            except csv.Error as err:
                if "end of data" in str(err):
                    what = "a quote opened in the record starting here is never closed"
                else:
                    what = (
                        "broken quoting in the record starting here (line "
                        f"{reader.line_num}: {err})"
                    )
                raise DataError(
                    f"{path}:{start}: {what}; read as is, its quotes would vanish or its lines "
                    "merge into one row. Quote a whole field, doubling the quotes inside it "
                    '("a ""b"" c"), or use TSV.'
                ) from None
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{start}: not UTF-8 text ({err.reason}).") from None
    finally:
        csv.field_size_limit(limit)
