"""What defines a study: results made under a different fingerprint never mix."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sweeper.errors import StudyError

if TYPE_CHECKING:
    from sweeper.objective import TaskInfo
    from sweeper.settings import TrainSettings


def study_fingerprint(
    *,
    search_space: Mapping[str, Any] | None,
    train: TrainSettings,
    data: Mapping[str, Any],
    model: Mapping[str, Any],
    objective: str,
) -> dict[str, str]:
    """What defines a study: results made under a different fingerprint must not mix.

    Args:
        search_space: The raw ``search_space`` node.
        train: The fixed training settings: every one that can change a trial, scheduler
            parameters included even where the base scheduler does not take them (a searched
            ``scheduler`` may pick one that does).
        data: The data as loaded (task, source, sizes, validation mode, sequence length).
        model: The ``model`` node.
        objective: ``<objective>:<monitored value>``.
    """
    flat = train.as_params()
    for key, value in _ADDED_SETTINGS.items():
        if flat.get(key) == value:
            del flat[key]  # as before the setting existed: studies recorded then still resume
    for key, value in train.scheduler_kwargs.items():
        if value is not None:
            flat[f"scheduler_kwargs.{key}"] = value
    return {
        "search_space": json.dumps(search_space or {}, sort_keys=True),
        "train": json.dumps(flat, sort_keys=True),
        "data": json.dumps(dict(data), sort_keys=True),
        "model": json.dumps(dict(model), sort_keys=True),
        "objective": objective,
    }


# Fingerprint keys added after studies were first recorded: a study without one still resumes.
_ADDED_KEYS = frozenset({"data.content"})
# Train settings added after studies were first recorded, with the value that behaves as before
# they existed: left out of the fingerprint at that value, so an older study resumes with it.
_ADDED_SETTINGS: dict[str, Any] = {"select_window": 0}


def _fingerprint_changes(
    recorded: Mapping[str, Any], current: Mapping[str, Any]
) -> list[tuple[str, Any, Any]]:
    """``(key, old, new)`` for each differing fingerprint entry, down to single settings."""
    out: list[tuple[str, Any, Any]] = []
    for section in sorted(set(recorded) | set(current)):
        old, new = recorded.get(section), current.get(section)
        if old == new:
            continue
        old_d = new_d = None
        if isinstance(old, str) and isinstance(new, str):
            with contextlib.suppress(ValueError):
                old_d, new_d = json.loads(old), json.loads(new)
        if isinstance(old_d, dict) and isinstance(new_d, dict):
            for key in sorted(set(old_d) | set(new_d)):
                if f"{section}.{key}" in _ADDED_KEYS and key not in old_d:
                    continue  # recorded by a sweeper that did not have this key yet
                if old_d.get(key) != new_d.get(key):
                    out.append((f"{section}.{key}", old_d.get(key), new_d.get(key)))
        else:
            out.append((section, old, new))
    return out


def check_fingerprint(name: str, recorded: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Refuse to use study ``name`` with a config that differs from the one it was run with.

    Raises:
        StudyError: naming each changed key with its old and new value.
    """
    changes = _fingerprint_changes(recorded, current)
    if changes:
        shown = "; ".join(f"{key}={old!r} -> {new!r}" for key, old, new in changes[:5])
        more = f" (and {len(changes) - 5} more)" if len(changes) > 5 else ""
        how = "run it unchanged to resume"
        objective = next((old for key, old, _ in changes if key == "objective"), None)
        if isinstance(objective, str) and ":" in objective:
            # "<objective>:<monitored value>": the sweep.objective that monitors it again.
            monitor = objective.rsplit(":", 1)[1]
            how = (
                "set sweep.objective=val_loss"
                if monitor == "val_loss"
                else f"set the sweep.objective that monitored {monitor} (auto or metric)"
            )
            how += " to resume it" if len(changes) == 1 else " and the rest as it was to resume it"
        as_before = {f"train.{name}": value for name, value in _ADDED_SETTINGS.items()}
        added = [
            f"{key}={as_before[key]}" for key, old, _ in changes if old is None and key in as_before
        ]
        if added:  # recorded before the setting existed: its old behaviour resumes it
            how = f"set {' '.join(added)} (as it behaved when the study was recorded) to resume it"
        raise StudyError(
            f"study {name!r} was run with other settings: {shown}{more}; {how}, or set a new "
            "sweep.study_name."
        )


def data_fingerprint(data: Mapping[str, Any], info: TaskInfo) -> dict[str, Any]:
    """The data part of the study fingerprint: the data as loaded, not only as configured."""
    out = {
        "task": info.task,
        "source": info.source,
        "num_train": info.num_train,
        "num_eval": info.num_eval,
        "validation": data.get("validation"),
        "max_seq_length": data.get("max_seq_length"),
    }
    if info.details.get("content") is not None:  # a digest of the examples, where offered
        out["content"] = info.details["content"]
    return out
