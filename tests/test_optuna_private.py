"""Optuna's private API that sweeper uses (sweeper.study.private): fail loudly when it changes.

Each use is isolated in one function of sweeper/study/private.py; if a test here fails after an
Optuna upgrade, that function is the one place to fix.
"""

from __future__ import annotations

import optuna

from sweeper.study import heartbeat_interface, trial_id


def test_trial_id_is_the_storage_id_of_a_running_and_a_finished_trial() -> None:
    study = optuna.create_study()
    study.ask()  # trial 0, so that the id and the number could differ by storage
    trial = study.ask()
    running = trial_id(trial)
    assert trial.storage.get_trial(running).number == trial.number
    study.tell(trial, 1.0)
    frozen = study.trials[-1]
    assert trial_id(frozen) == running


def test_the_heartbeat_interface_has_the_four_methods_sweeper_implements() -> None:
    base = heartbeat_interface()
    assert base.__module__ == "optuna.storages._heartbeat"
    assert set(base.__abstractmethods__) == {
        "record_heartbeat",
        "_get_stale_trial_ids",
        "get_heartbeat_interval",
        "get_heartbeat_stale_trial_callback",
    }
    # Optuna runs the heartbeat machinery for any storage that is an instance of it.
    from optuna.storages._heartbeat import is_heartbeat_enabled

    assert callable(is_heartbeat_enabled)
