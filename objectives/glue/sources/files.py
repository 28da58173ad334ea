"""``data.source=files`` (``data=files``): a user's CSV, TSV, JSON(L) or Parquet files, one per
split, read by :mod:`objectives.glue.files`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from objectives.glue.examples import TaskData
from objectives.glue.files import file_format, load_file, split_files
from objectives.glue.sources.base import Columns, Source, check_own, check_own_splits, own_data


def check(cfg: Mapping[str, Any]) -> tuple[Columns, dict[str, Path]]:
    """The columns, and each split's file (found, readable, of a known format; not opened)."""
    columns = check_own(cfg)
    files = split_files(cfg)
    check_own_splits(cfg, set(files), key="file")
    return columns, files


def load(
    cfg: Mapping[str, Any], checked: tuple[Columns, dict[str, Path]], *, seed: int
) -> TaskData:
    columns, files = checked
    cache = cfg.get("cache_dir")
    tables = {
        name: load_file(
            path,
            fmt=file_format(str(path), cfg.get("format"), key=f"{name}_file"),
            text_columns=columns.text,
            cache_dir=str(Path(str(cache)) / "datasets") if cache else None,
        )
        for name, path in files.items()
    }
    return own_data(
        cfg,
        columns,
        tables=tables,
        where={name: str(path) for name, path in files.items()},
        source="files",
        origin=str(files["train"].resolve()),
    )


SOURCE = Source(name="files", preset=None, check=check, load=load)
