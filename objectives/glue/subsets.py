"""Seeded, label-stratified subsets and the validation split held out of train.

The same for every source: GLUE, a user's files or hub dataset, the built-in task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from objectives.glue.examples import Split
from sweeper.errors import ConfigError


def apply_validation(
    cfg: Mapping[str, Any],
    *,
    regression: bool,
    train: Split,
    evals: dict[str, Split],
    seed: int,
    notes: list[str],
) -> tuple[Split, dict[str, Split]]:
    """Hold validation out of train (``data.validation=from_train``), then take the subsets.

    With ``from_train`` the dev split becomes ``test`` (other eval splits ``test_<name>``), so
    the chosen defaults are not tuned on the score that is reported.
    """
    if cfg.get("validation", "dev") == "from_train":
        size = cfg.get("validation_size", 0.1)
        count = int(size) if size >= 1 else max(1, round(size * len(train)))
        if count >= len(train):
            raise ConfigError(
                f"data.validation_size={size} leaves no training examples of {len(train)}."
            )
        held, kept = stratified_split(train.labels, count, seed=seed, regression=regression)
        evals = {
            "validation": train.select(held),
            **{_test_name(k): v for k, v in evals.items()},
        }
        train = train.select(kept)
    train = subset(
        train, cfg.get("max_train_samples"), "max_train_samples", regression, seed, notes
    )
    evals = {
        name: subset(
            split, cfg.get("max_eval_samples"), "max_eval_samples", regression, seed, notes
        )
        for name, split in evals.items()
    }
    return train, evals


def _test_name(split: str) -> str:
    """What an eval split is called once validation comes from train."""
    return "test" if split in ("validation", "test") else f"test_{split}"


def subset(
    split: Split, limit: int | None, key: str, regression: bool, seed: int, notes: list[str]
) -> Split:
    """A seeded, stratified ``limit`` examples of ``split`` (all, with a note, when fewer)."""
    if limit is None:
        return split
    if limit >= len(split):
        if limit > len(split):
            notes.append(
                f"data.{key}={limit} is more than the {len(split)} examples there: using all."
            )
        return split
    chosen, _ = stratified_split(split.labels, limit, seed=seed, regression=regression)
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
