"""The only two uses of Optuna's private API, each in one function, checked against Optuna 5.0.

tests/test_optuna_private.py fails loudly when either changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def trial_id(trial: optuna.Trial | FrozenTrial) -> int:
    """The storage id of ``trial`` (Optuna keeps it private as ``_trial_id``).

    Needed to call the public storage API on a running trial (its system attributes, putting it
    back in the queue); Optuna offers no public accessor.
    """
    return int(trial._trial_id)


def heartbeat_interface() -> type:
    """Optuna's heartbeat interface (``optuna.storages._heartbeat.BaseHeartbeat``).

    Implementing it lets Optuna's own heartbeat thread and ``fail_stale_trials`` run on a journal
    file, which Optuna gives heartbeats only for RDB storages. Its four methods:
    ``record_heartbeat``, ``_get_stale_trial_ids``, ``get_heartbeat_interval``,
    ``get_heartbeat_stale_trial_callback``.
    """
    from optuna.storages._heartbeat import BaseHeartbeat

    return BaseHeartbeat
