"""Banks recorded in chunks joined into one: a grid recorded one seed (or one slice) at a time,
each chunk its own study, is replayed as the one bank it is a part of.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from sweeper.bank.file import Bank

# What the chunks must share to be one experiment: the bank's own fields, and the data and
# model its provenance records (a different data size or model is a different bank).
_SHARED_FIELDS = ("task", "monitor", "direction", "metric", "evals_per_epoch", "train")
_SHARED_PROVENANCE = ("data", "model", "task_info")
# Settings that choose among a run's evaluations and do not change how it trains: a chunk
# recorded before one existed is still the same experiment (the merged bank leaves them out).
_SELECTION_ONLY = ("select_window",)


def merge(banks: Sequence[Bank]) -> Bank:
    """One bank holding every run of ``banks``, which must be chunks of one experiment.

    The grid is each entry's values in the order first seen; the provenance keeps the first
    chunk's data, model and task and every chunk's own provenance under ``chunks``. A
    ``ValueError`` names the field where two chunks differ, or the run recorded twice.
    """
    if len(banks) < 2:
        raise ValueError(f"merge needs at least 2 banks but got {len(banks)}.")
    first = banks[0]
    # Chance levels where two chunks both record one must agree; a level only some chunks
    # recorded (an older sweeper recorded fewer) is kept: the data is the same.
    levels: dict[str, float] = {}
    for bank in banks:
        for name, level in _chance(bank).items():
            if levels.setdefault(name, level) != level:
                raise ValueError(
                    f"banks to merge must share the chance level of {name} but got "
                    f"{levels[name]!r} and {level!r}."
                )
    for other in banks[1:]:
        for name in _SHARED_FIELDS:
            mine, theirs = getattr(first, name), getattr(other, name)
            if name == "train":
                mine, theirs = _training(mine), _training(theirs)
            if mine != theirs:
                raise ValueError(
                    f"banks to merge must share {name} but got {mine!r} and {theirs!r}."
                )
        for name in _SHARED_PROVENANCE:
            mine, theirs = first.provenance.get(name), other.provenance.get(name)
            if name == "task_info":
                mine, theirs = _task_part(mine), _task_part(theirs)
            if mine != theirs:
                raise ValueError(
                    f"banks to merge must share provenance.{name} but got {mine!r} and {theirs!r}."
                )
        if set(other.grid) != set(first.grid):
            raise ValueError(
                f"banks to merge must have the same grid entries but got {sorted(first.grid)} "
                f"and {sorted(other.grid)}."
            )
    grid: dict[str, list[Any]] = {name: [] for name in first.grid}
    for bank in banks:
        for name, values in bank.grid.items():
            grid[name] += [v for v in values if v not in grid[name]]
    seen: set[str] = set()
    curves = []
    for bank in banks:
        for curve in bank.curves:
            key = json.dumps(curve.params, sort_keys=True)
            if key in seen:
                raise ValueError(f"a run must be in one bank only but got {curve.params} twice.")
            seen.add(key)
            curves.append(curve)
    provenance = {k: first.provenance[k] for k in _SHARED_PROVENANCE if k in first.provenance}
    if "task_info" in provenance:
        provenance["task_info"] = {**provenance["task_info"], "chance": levels}
    provenance["chunks"] = [bank.provenance for bank in banks]
    return dataclasses.replace(
        first,
        train=_training(first.train),
        grid=grid,
        provenance=provenance,
        curves=tuple(curves),
    )


def _training(train: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in train.items() if k not in _SELECTION_ONLY}


def _task_part(info: Any) -> Any:
    """What of a recorded ``task_info`` makes two chunks one task: the data (its sizes and
    content hash) and the metric, not how this run found them (cache hits). Chance levels are
    compared apart (:func:`_chance`)."""
    if not isinstance(info, dict):
        return info
    kept = ("task", "metric", "num_train", "num_eval", "eval_splits", "content")
    return {k: v for k, v in info.items() if k in kept}


def _chance(bank: Bank) -> dict[str, float]:
    """The chance levels ``bank`` recorded (an older sweeper recorded fewer of them)."""
    return dict((bank.provenance.get("task_info") or {}).get("chance") or {})
