"""Hugging Face hub access: is it reachable, offline mode, and loading a dataset's splits.

Offline (no route to the hub, or ``HF_HUB_OFFLINE``), ``datasets`` still serves what its cache
holds; a local folder laid out like a hub dataset repository loads the same way, cached under a
digest of its files: ``datasets`` keys a folder whose README lists configs by the folder's name
and the README alone, so a file edited in place (or another folder of the same name) would be
served from the old cache without a word.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from sweeper.errors import DataError

if TYPE_CHECKING:
    import datasets


class HubUnavailable(DataError):
    """The hub (and the local ``datasets`` cache) could not give the dataset.

    ``failure`` says why, without the advice the message adds for the caller's case.
    """

    def __init__(self, message: str, *, failure: str) -> None:
        super().__init__(message)
        self.failure = failure


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
    if "huggingface_hub" in sys.modules:
        import huggingface_hub.constants as hub_constants

        hub_constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        import datasets.config as datasets_config

        datasets_config.HF_HUB_OFFLINE = True


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(err)
    return text.splitlines()[0] if text else type(err).__name__


def folder_digest(folder: Path) -> str:
    """A digest of the files under ``folder`` (path, size, modification time; hidden ones
    skipped, ``.git`` among them): another when a file is added, removed or rewritten."""
    h = hashlib.sha256(str(folder.resolve()).encode())
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        stat = path.stat()
        h.update(f"\x1e{relative.as_posix()}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_hub_splits(
    hub_id: str,
    config: str | None,
    *,
    splits: Mapping[str, str],
    revision: str | None,
    cache_dir: str | None,
    key: str,
    advice: str,
) -> dict[str, datasets.Dataset]:
    """The hub splits named in ``splits`` (our name -> the dataset's split name).

    Args:
        hub_id: A hub dataset id, or a local folder laid out like the hub repository.
        config: The dataset's configuration (subset) name; None for its default.
        splits: Our split name ("train", "validation", ...) -> the dataset's split name.
        revision: A git revision of the dataset repository; None for the default branch.
        cache_dir: The ``datasets`` cache; None for its own (``HF_HOME``). A local folder is
            cached in ``local/<digest of its files>`` there.
        key: The setting the message starts with (``data.source=hub``, ``data.hub_id=...``).
        advice: What to do instead, appended to the message when the dataset cannot load.

    Raises:
        HubUnavailable: the dataset does not load (unreachable and not cached, unknown id).
        DataError: a named split is not in the dataset (listing those that are).
    """
    folder = Path(hub_id).is_dir()
    online, why = (True, "") if folder else hub_reachable()
    if not online:
        go_offline()  # the datasets cache may still hold it
    import datasets

    datasets.disable_progress_bars()
    if folder:
        root = Path(cache_dir) if cache_dir else Path(datasets.config.HF_DATASETS_CACHE)
        cache_dir = str(root / "local" / folder_digest(Path(hub_id)))
    label = f"{hub_id} ({config})" if config else hub_id
    try:
        loaded = datasets.load_dataset(hub_id, config, revision=revision, cache_dir=cache_dir)
    except Exception as err:
        extra = f"; {why}" if why else ""
        failure = f"cannot load {label}: {first_line(err)}{extra}"
        raise HubUnavailable(f"{key}: {failure}. {advice}", failure=failure) from None
    missing = [hub for hub in splits.values() if hub not in loaded]
    if missing:
        raise DataError(f"{label} has no split {missing[0]!r}; it has {list(loaded)}.")
    return {name: loaded[hub] for name, hub in splits.items()}
