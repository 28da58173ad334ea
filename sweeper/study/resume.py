"""Creating a study, or loading it to resume it under the same fingerprint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from sweeper.errors import StudyError
from sweeper.study.fingerprint import check_fingerprint

if TYPE_CHECKING:
    import optuna


def open_study(
    *,
    name: str,
    storage: optuna.storages.BaseStorage,
    direction: Literal["minimize", "maximize"],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    fingerprint: Mapping[str, Any],
) -> optuna.Study:
    """Create the study, or load it to resume: same name, same storage, same settings.

    Args:
        fingerprint: What defines the study (search space, fixed training settings, data,
            model, objective); a study created with different values is refused, naming the
            first differing key, so results never mix.
    """
    import optuna

    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=direction,
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    # The fingerprint first: it names what changed (the objective, where the direction did).
    recorded = study.user_attrs.get("fingerprint")
    if recorded is not None:
        check_fingerprint(name, recorded, fingerprint)
    if study.direction.name.lower() != direction:
        raise StudyError(
            f"study {name!r} optimizes {study.direction.name.lower()} but sweep.objective asks to "
            f"{direction}; choose another sweep.study_name."
        )
    if recorded is None:
        study.set_user_attr("fingerprint", dict(fingerprint))
    return study


def load_existing_study(name: str, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """An existing study, or :class:`StudyError` listing the studies that do exist."""
    import optuna

    names = [
        s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)
    ]
    if name not in names:
        raise StudyError(
            f"sweep.study_name={name!r}: no such study in this storage; it has "
            f"{sorted(names) or 'no studies'}."
        )
    return optuna.load_study(study_name=name, storage=storage)
