"""``auto`` bounds fitted to the data size: ``num_epochs.high: auto`` (the longest schedule sees
about :data:`FIT_EXAMPLES` examples) and ``batch_size.choices: auto`` (:data:`FIT_BATCH_CHOICES`
below :data:`FIT_BATCH_EXAMPLES` examples, ``train.batch_size`` above).

Separate from parsing: the config checks fit the raw node again once the data size is known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sweeper.errors import ConfigError
from sweeper.rules import is_finite_number
from sweeper.settings import shown_key

AUTO = "auto"
# num_epochs.high=auto: the longest schedule sees about this many training examples, within
# [FIT_MIN_EPOCHS, FIT_MAX_EPOCHS] epochs. 30k examples keep the usual 3 epochs from 10k
# examples up (SST-2 subsets, the full SST-2, MNLI) and give small sets the longer schedules
# they need (MRPC's 3.7k examples: 9 epochs; Mosbach et al. 2021 train small sets 20 epochs).
FIT_EXAMPLES = 30_000
FIT_MIN_EPOCHS = 3
FIT_MAX_EPOCHS = 20


# batch_size.choices=auto: the published small-data recipes train at batch 16-32 (BERT 32,
# RoBERTa {16, 32}, Mosbach et al. 16); on small data a larger fixed batch (the glue
# experiment's 64, chosen for CPU throughput) leaves few updates per epoch. Searched below the
# size where the fitted epoch range stops growing (FIT_EXAMPLES / FIT_MIN_EPOCHS = 10k
# examples), where per-example speed matters more and train.batch_size stays as set.
FIT_BATCH_CHOICES = (16, 32)
FIT_BATCH_EXAMPLES = FIT_EXAMPLES // FIT_MIN_EPOCHS


def fitted_batch_sizes(num_train: int | None) -> list[int] | None:
    """The ``batch_size.choices=auto`` value for ``num_train`` examples: ``None`` (not
    searched) from :data:`FIT_BATCH_EXAMPLES` up; the choices below, or while unknown."""
    if num_train and num_train >= FIT_BATCH_EXAMPLES:
        return None
    return list(FIT_BATCH_CHOICES)


def fitted_epochs(num_train: int | None) -> int:
    """The ``num_epochs.high=auto`` value for ``num_train`` examples (widest when unknown)."""
    if not num_train or num_train < 1:
        return FIT_MAX_EPOCHS
    return min(FIT_MAX_EPOCHS, max(FIT_MIN_EPOCHS, math.ceil(FIT_EXAMPLES / num_train)))


def fit_space(
    raw: Mapping[str, Any] | None, *, num_train: int | None
) -> tuple[dict[str, Any] | None, list[str]]:
    """Replace ``auto`` bounds with values fitted to the data size; a plain space dict after.

    Args:
        raw: The plain ``search_space`` node (``auto`` allowed in ``num_epochs.high`` and
            ``batch_size.choices`` only).
        num_train: Training examples; ``None`` before the data is loaded (the widest range).

    Returns:
        The resolved node (``raw`` itself when nothing is ``auto``) and one line per fitted
        bound, saying what it became and why, for the start-up lines.
    """
    if not isinstance(raw, Mapping):
        return (None if raw is None else raw), []
    out: dict[str, Any] = {}
    lines: list[str] = []
    for name, entry in raw.items():
        if isinstance(entry, Mapping):
            for field in ("low", "high", "step", "choices"):
                value = entry.get(field)
                if value == AUTO and (name, field) not in (
                    ("num_epochs", "high"),
                    ("batch_size", "choices"),
                ):
                    raise ConfigError(
                        f"search_space.{shown_key(str(name))}.{field}: auto is allowed only in "
                        "search_space.num_epochs.high and search_space.batch_size.choices "
                        f"(fitted to the training-set size) but got {value!r}."
                    )
            if name == "batch_size" and entry.get("choices") == AUTO:
                choices = fitted_batch_sizes(num_train)
                if num_train:
                    where = (
                        f"fitted to {num_train:,} training examples (search_space.batch_size."
                        f"choices=auto: {list(FIT_BATCH_CHOICES)} below "
                        f"{FIT_BATCH_EXAMPLES:,} examples, train.batch_size from there; set "
                        "search_space.batch_size=null to fix it)"
                    )
                    lines.append(
                        f"batch_size in {choices}: {where}"
                        if choices
                        else f"batch_size not searched (train.batch_size): {where}"
                    )
                out[str(name)] = None if choices is None else {**entry, "choices": choices}
                continue
            if name == "num_epochs" and entry.get("high") == AUTO:
                high = fitted_epochs(num_train)
                low = entry.get("low")
                if is_finite_number(low) and low > high:
                    high = int(low)  # an explicit low wins over the fitted high
                entry = {**entry, "high": high}
                if num_train:
                    lines.append(
                        f"num_epochs in [{low}, {high}]: fitted to {num_train:,} training "
                        f"examples (search_space.num_epochs.high=auto: about {FIT_EXAMPLES:,} "
                        f"examples at the longest schedule, {FIT_MIN_EPOCHS}-{FIT_MAX_EPOCHS} "
                        "epochs; set search_space.num_epochs.high=N to fix it)"
                    )
        out[str(name)] = entry
    return out, lines
