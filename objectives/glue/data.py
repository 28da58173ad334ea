"""Which examples a run trains on: the config check, and loading from the configured source.

Two kinds of data, one path. ``preset: glue`` (``data=glue``, the default) is a GLUE task from a
local GLUE folder, the hub or the built-in demo task: the task table supplies columns, labels and
metrics. ``preset: null`` (``data=files``, ``data=hub``) is the user's own data: columns named in
the config, labels and task type read from train. Each source is one module of
:mod:`objectives.glue.sources` (a ``check`` and a ``load``); all end in the same
:class:`TaskData`, and the same subsets and validation split (:mod:`objectives.glue.subsets`)
apply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from objectives.glue.examples import TaskData
from objectives.glue.sources import Source, source_of
from objectives.glue.subsets import apply_validation
from sweeper.errors import ConfigError
from sweeper.rules import Range, Rule, check_node

VALIDATION_MODES = ("dev", "from_train")

# One declarative rule per numeric key of the data node (data.builtin's: sources/base.py).
DATA_RULES: dict[str, Rule] = {
    "max_train_samples": Range(1, integer=True, nullable=True),
    "max_eval_samples": Range(1, integer=True, nullable=True),
    "max_seq_length": Range(8, integer=True),
}


def check_config(cfg: Mapping[str, Any]) -> None:
    """Check the data config before anything loads: the keys every source shares, then the
    source's own (files found, the GLUE folder laid out, columns named)."""
    _checked(cfg)


def _checked(cfg: Mapping[str, Any]) -> tuple[Source, Any]:
    source = source_of(cfg)
    _check_common(cfg)
    return source, source.check(cfg)


def _check_common(cfg: Mapping[str, Any]) -> None:
    """Keys every source shares: validation mode, subsets, sequence length."""
    if cfg.get("validation", "dev") not in VALIDATION_MODES:
        raise ConfigError(
            f"data.validation must be one of {list(VALIDATION_MODES)} but got "
            f"{cfg.get('validation')!r}."
        )
    check_node("data", {"max_seq_length": 128, **cfg}, DATA_RULES)
    size = cfg.get("validation_size", 0.1)
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        raise ConfigError(
            f"data.validation_size must be a fraction in (0, 1) or a count >= 1 but got {size!r}."
        )


def load_task_data(cfg: Mapping[str, Any], *, seed: int) -> TaskData:
    """Load the configured task from its source, with subsets and the validation split applied.

    Args:
        cfg: The ``data`` config node (plain mapping).
        seed: Seed of the subsets, held-out split and built-in generator.
    """
    source, checked = _checked(cfg)
    data = source.load(cfg, checked, seed=seed)
    train, evals = apply_validation(
        cfg,
        regression=data.task.is_regression,
        train=data.train,
        evals=data.evals,
        seed=seed,
        notes=data.notes,
    )
    return replace(data, train=train, evals=evals)
