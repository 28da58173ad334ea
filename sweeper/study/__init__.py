"""Optuna plumbing: storage, samplers and pruners, the fingerprint, trials, the prune hook.

One concept per module, all re-exported here (``from sweeper.study import X``):

- :mod:`~sweeper.study.storage`: opening the storage (SQLite, journal file, PostgreSQL,
  memory), heartbeats on a journal file, a PostgreSQL that outlives a server outage,
  ``STORAGE_RULES``;
- :mod:`~sweeper.study.samplers`: ``build_sampler`` (seeded per trial), ``build_pruner``;
- :mod:`~sweeper.study.fingerprint`: what defines a study, and refusing to mix results;
- :mod:`~sweeper.study.resume`: creating a study, or loading it to resume;
- :mod:`~sweeper.study.trials`: queued sets and retries, counts, slots, stale trials;
- :mod:`~sweeper.study.prune`: the prune hook a live sweep and a replay share;
- :mod:`~sweeper.study.private`: the two uses of Optuna's private API.
"""

from __future__ import annotations

from sweeper.study.fingerprint import check_fingerprint, data_fingerprint, study_fingerprint
from sweeper.study.private import heartbeat_interface, trial_id
from sweeper.study.prune import prune_hook
from sweeper.study.resume import load_existing_study, open_study
from sweeper.study.samplers import build_pruner, build_sampler, trial_seed
from sweeper.study.storage import (
    HEARTBEAT_ATTR,
    RETRIED_CALLS,
    STORAGE_KINDS,
    STORAGE_RULES,
    StaleHook,
    check_storage_config,
    open_storage,
    storage_identity,
)
from sweeper.study.trials import (
    REQUEUE_LIMIT,
    Counts,
    claims_a_slot,
    count_trials,
    fail_stale_trials,
    release_trial,
    requeue,
    retry_interrupted,
)

__all__ = [
    "HEARTBEAT_ATTR",
    "REQUEUE_LIMIT",
    "RETRIED_CALLS",
    "STORAGE_KINDS",
    "STORAGE_RULES",
    "Counts",
    "StaleHook",
    "build_pruner",
    "build_sampler",
    "check_fingerprint",
    "check_storage_config",
    "claims_a_slot",
    "count_trials",
    "data_fingerprint",
    "fail_stale_trials",
    "heartbeat_interface",
    "load_existing_study",
    "open_storage",
    "open_study",
    "prune_hook",
    "release_trial",
    "requeue",
    "retry_interrupted",
    "storage_identity",
    "study_fingerprint",
    "trial_id",
    "trial_seed",
]
