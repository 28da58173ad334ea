"""Tokenization, once per sweep: cached on disk (Arrow, via ``datasets``) and reused by every
trial and every re-run with the same examples, tokenizer and max length."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from objectives.glue.examples import Split

if TYPE_CHECKING:
    import datasets
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)
CACHE_VERSION = 1


@dataclass(frozen=True)
class Encoded:
    """A tokenized split: a ``datasets.Dataset`` (input ids, masks, labels) and token lengths."""

    dataset: datasets.Dataset
    lengths: list[int]
    cache_hit: bool
    path: Path

    def __len__(self) -> int:
        return len(self.lengths)


def tokenizer_identity(tokenizer: PreTrainedTokenizerBase) -> str:
    """What makes two tokenizers tokenize alike: their full serialized state.

    A fast tokenizer serializes everything that maps text to ids (normalizer, e.g. lowercasing
    and accent stripping; pre-tokenizer; model and vocabulary; post-processor; added tokens)
    with ``backend_tokenizer.to_str()``. A slow one has no such form: its class, init options
    (``do_lower_case`` and the like), vocabulary and special tokens stand in for it.
    """
    parts = [type(tokenizer).__name__, str(tokenizer.model_max_length)]
    backend = getattr(tokenizer, "backend_tokenizer", None) if tokenizer.is_fast else None
    if backend is not None:
        state = json.loads(backend.to_str())
        # Truncation and padding are per-call settings the last call left behind, not part of
        # how text maps to ids (encode passes its own).
        state.pop("truncation", None)
        state.pop("padding", None)
        parts.append(json.dumps(state, sort_keys=True))
    else:
        options = {k: v for k, v in tokenizer.init_kwargs.items() if not k.endswith("_file")}
        parts += [
            json.dumps(options, sort_keys=True, default=str),
            json.dumps(tokenizer.special_tokens_map, sort_keys=True, default=str),
            json.dumps(sorted(tokenizer.get_vocab().items())),
        ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def cache_key(split: Split, *, tokenizer_id: str, max_length: int) -> str:
    """A content hash: the examples themselves, the tokenizer and the max length."""
    h = hashlib.sha256()
    h.update(f"v{CACHE_VERSION}|{tokenizer_id}|{max_length}|".encode())
    split.update(h)
    return h.hexdigest()[:24]


_CHECKSUMS = "sweeper-checksums.json"


def _checksums(path: Path) -> dict[str, str]:
    """SHA-256 of each data file of a saved cache (a truncated or overwritten file shows)."""
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(path.glob("*.arrow"))
    }


def _recorded(path: Path) -> dict[str, str] | None:
    try:
        recorded: dict[str, str] = json.loads((path / _CHECKSUMS).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # the checksum file itself is damaged: rebuild
    return recorded


def encode(
    split: Split,
    tokenizer: PreTrainedTokenizerBase,
    *,
    max_length: int,
    cache_dir: Path,
    tokenizer_id: str | None = None,
) -> Encoded:
    """Tokenize ``split`` (truncating to ``max_length``), or load it from the cache.

    Args:
        split: The examples.
        tokenizer: The model's tokenizer.
        max_length: Longest input in tokens.
        cache_dir: Folder of the cache (one subfolder per content hash).
        tokenizer_id: :func:`tokenizer_identity` of ``tokenizer`` when already known.
    """
    import datasets

    datasets.disable_progress_bars()
    key = cache_key(
        split, tokenizer_id=tokenizer_id or tokenizer_identity(tokenizer), max_length=max_length
    )
    path = cache_dir / f"tokenized-{key}"
    if (path / "dataset_info.json").is_file():
        recorded = _recorded(path)
        if recorded is None or _checksums(path) == recorded:  # None: cached before checksums
            ds = datasets.load_from_disk(str(path))
            return Encoded(dataset=ds, lengths=list(ds["length"]), cache_hit=True, path=path)
        log.warning("note: tokenization cache %s is damaged (checksum mismatch); rebuilt", path)
        shutil.rmtree(path, ignore_errors=True)
    started = time.perf_counter()
    enc = tokenizer(
        split.text_a,
        split.text_b,
        truncation=True,
        max_length=max_length,
        return_attention_mask=False,  # rebuilt when padding each batch
    )
    columns: dict[str, Any] = dict(enc.items())
    columns["labels"] = list(split.labels)
    columns["length"] = [len(ids) for ids in enc["input_ids"]]
    ds = datasets.Dataset.from_dict(columns)
    # Written aside, then renamed: a concurrent worker never sees half a cache, and when two
    # write the same one, the first rename wins and the other copy is dropped.
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    ds.save_to_disk(str(tmp))
    (tmp / _CHECKSUMS).write_text(json.dumps(_checksums(tmp), sort_keys=True))
    try:
        tmp.rename(path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    log.debug(
        "tokenized %d examples in %.1fs -> %s", len(split), time.perf_counter() - started, path
    )
    return Encoded(dataset=ds, lengths=columns["length"], cache_hit=False, path=path)
