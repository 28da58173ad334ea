"""Opening the study's storage: SQLite, a journal file, PostgreSQL, memory.

Every worker runs the same command against one storage; Optuna's storage is the only
coordinator. Stale trials (a worker killed mid-trial) are found by Optuna's heartbeat mechanism
(RDB storages natively; the journal file through :class:`HeartbeatJournalStorage`) and retried
with their parameters by ``RetryHeartbeatStaleTrialCallback``. PostgreSQL outlives a server
that goes away for a while (:func:`_tolerant_rdb_class`, :class:`sweeper.outages.Outage`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from sweeper.errors import ConfigError, StorageError
from sweeper.outages import Outage, check_sqlite_writable
from sweeper.rules import Range, Rule, check_node
from sweeper.secrets import redact, register_url
from sweeper.study.private import heartbeat_interface, trial_id
from sweeper.trial_record import STALE_KEY, STALE_REASON

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial, TrialState

log = logging.getLogger(__name__)

STORAGE_KINDS = ("sqlite", "journal", "postgres", "memory")
HEARTBEAT_ATTR = "sweeper:heartbeat"
# Called with (study, stale trial) after a stale trial is failed; set by the run (to close the
# trial's tracking run) before the first trial starts.
StaleHook = Callable[["optuna.Study", "FrozenTrial"], None]
T = TypeVar("T")
_SCHEMA_ATTEMPTS = 6


def _make_heartbeat_journal(base: type) -> type:
    """A JournalStorage that also implements Optuna's heartbeat interface.

    Optuna's own machinery then runs it: a heartbeat thread per trial writes a timestamp into
    the trial's system attributes, and ``fail_stale_trials`` fails RUNNING trials whose newest
    timestamp is older than ``grace_period`` and calls the stale-trial callback.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    class HeartbeatJournalStorage(base, heartbeat_interface()):  # type: ignore[misc]
        def __init__(
            self,
            backend: Any,
            *,
            heartbeat_interval: int,
            grace_period: int,
            stale_callback: StaleHook | None,
        ) -> None:
            super().__init__(backend)
            self._heartbeat_interval = heartbeat_interval
            self._grace_period = grace_period
            self._stale_callback = stale_callback

        def record_heartbeat(self, trial_id: int) -> None:
            # Another worker may have failed it as stale already; its owner finds out at tell.
            with contextlib.suppress(UpdateFinishedTrialError):
                self.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

        # Part of Optuna's (private) heartbeat interface: see heartbeat_interface().
        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            now = time.time()
            stale = []
            for trial in self.get_all_trials(
                study_id, deepcopy=False, states=(TrialState.RUNNING,)
            ):
                # The newest sign of life: a heartbeat, or the start itself. A retried trial
                # inherits the failed one's system attributes (its old heartbeat included), so
                # the start must count too, or a retry would look stale before its first beat.
                beats = [float(trial.system_attrs.get(HEARTBEAT_ATTR, 0.0))]
                if trial.datetime_start is not None:
                    beats.append(trial.datetime_start.timestamp())
                if now - max(beats) > self._grace_period:
                    stale.append(trial_id(trial))
            return stale

        def get_heartbeat_interval(self) -> int | None:
            return self._heartbeat_interval

        def get_heartbeat_stale_trial_callback(self) -> StaleHook | None:
            return self._stale_callback

    return HeartbeatJournalStorage


def storage_identity(cfg: Mapping[str, Any]) -> str:
    """A printable, password-free name of the configured storage."""
    kind = cfg.get("kind")
    if kind == "journal":
        return f"journal:{cfg.get('path')}"
    if kind == "memory":
        return "memory"
    return redact(str(cfg.get("url")))


# One declarative rule per numeric key of the storage node (seconds and counts).
STORAGE_RULES: dict[str, Rule] = {
    "heartbeat_interval": Range(1, integer=True, nullable=True),
    "grace_period": Range(1, integer=True, nullable=True),
    "outage_s": Range(0, nullable=True),
    "max_retry": Range(0, integer=True, nullable=True),
}


def check_storage_config(cfg: Mapping[str, Any]) -> None:
    """Check the storage config before anything connects."""
    kind = cfg.get("kind")
    if kind not in STORAGE_KINDS:
        raise ConfigError(f"storage.kind must be one of {list(STORAGE_KINDS)} but got {kind!r}.")
    if kind in ("sqlite", "postgres") and not cfg.get("url"):
        hint = (
            " (export SWEEPER_STORAGE_URL=postgresql+psycopg://USER:PASSWORD@HOST/DB)"
            if kind == "postgres"
            else ""
        )
        raise ConfigError(f"storage.url must be set for storage={kind} but got null{hint}.")
    if kind == "journal" and not cfg.get("path"):
        raise ConfigError("storage.path must be set for storage=journal but got null.")
    check_node("storage", cfg, STORAGE_RULES)
    interval, grace = cfg.get("heartbeat_interval"), cfg.get("grace_period")
    if interval and grace and grace <= interval:
        raise ConfigError(
            f"storage.grace_period must exceed storage.heartbeat_interval ({interval}) "
            f"but got {grace}."
        )
    url = str(cfg.get("url") or "")
    if kind == "sqlite" and not url.startswith("sqlite:"):
        raise ConfigError(
            f"storage.url must start with sqlite: for storage=sqlite but got {redact(url)!r}."
        )
    if kind == "postgres" and not url.startswith("postgresql"):
        raise ConfigError(
            f"storage.url must start with postgresql for storage=postgres but got {redact(url)!r}."
        )


class _StaleRetry:
    """Runs the run's stale hook (close tracking runs), then Optuna's retry callback."""

    def __init__(self, max_retry: int | None) -> None:
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        self.retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        self.hook: StaleHook | None = None

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        log.warning(
            "trial %d: its worker stopped sending heartbeats; marked failed, retrying", trial.number
        )
        study.set_user_attr(STALE_KEY.format(trial.number), STALE_REASON)
        if self.hook is not None:
            self.hook(study, trial)
        self.retry(study, trial)


def _schema_race(err: BaseException) -> bool:
    """Whether ``err`` is another worker creating Optuna's tables at the same moment."""
    import sqlalchemy.exc

    # Optuna wraps some SQLAlchemy errors in its own (StorageInternalError from ...).
    for cause in (err, err.__cause__):
        if isinstance(cause, sqlalchemy.exc.IntegrityError):
            return True  # PostgreSQL: duplicate key in pg_type (CREATE raced) or version_info
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and "already exists" in str(cause):
            return True  # SQLite: table ... already exists
    return False


def _with_schema_retry(make: Callable[[], T]) -> T:
    """``make()``, retried while workers started together race to create the schema.

    ``RDBStorage`` creates its tables on first use, and concurrent ``CREATE TABLE`` on a fresh
    database fails in all but one worker; a moment later the tables exist and it succeeds.
    """
    import random

    for attempt in range(_SCHEMA_ATTEMPTS):
        try:
            return make()
        except Exception as err:
            if attempt == _SCHEMA_ATTEMPTS - 1 or not _schema_race(err):
                raise
            time.sleep(0.2 * (attempt + 1) + random.random() * 0.3)
    raise AssertionError("unreachable")


# Storage calls that are safe to make again when the connection died under them (the server
# stopped mid-call): reads, and writes that set a value (the same value set twice is one).
# Creating a trial is not among them (a commit whose answer was lost would make two). The one
# private name, Optuna's _CachedStorage reading trials through it, is pinned by
# tests/test_faults.py::test_the_storage_calls_made_again_exist.
RETRIED_CALLS = (
    "get_trial",
    "get_all_trials",
    "_get_trials",
    "get_study_user_attrs",
    "get_study_system_attrs",
    "set_study_user_attr",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
    "set_trial_system_attr",
)


def _disconnected(err: BaseException) -> bool:
    """Whether a storage call failed because its connection died (not on its data)."""
    import sqlalchemy.exc

    cause = err.__cause__ if err.__cause__ is not None else err
    if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
        return True
    return isinstance(cause, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError)


def _again(name: str) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        method = getattr(super(self._tolerant, self), name)
        try:
            return method(*args, **kwargs)
        except Exception as err:
            if not _disconnected(err):
                raise
            log.debug("storage call %s lost its connection; made again", name)
            return method(*args, **kwargs)  # its new connection waits for the server

    call.__name__ = name
    return call


def _tolerant_rdb_class() -> type:
    """RDBStorage that outlives a database server going away for a while.

    New connections wait for the server (:class:`sweeper.outages.Outage`); a call whose
    connection died under it is made again when it is safe to (:data:`RETRIED_CALLS`, and a
    trial's final state: recorded once, whichever attempt reached the server); Optuna's
    heartbeat thread, which ends with a traceback on the first failed beat, skips the beats
    the outage costs.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages import RDBStorage

    class TolerantRDBStorage(RDBStorage):
        def record_heartbeat(self, trial_id: int) -> None:
            try:
                super().record_heartbeat(trial_id)
            except Exception as err:  # the server is away (or the trial ended elsewhere)
                log.debug("heartbeat of trial id %d not recorded: %s", trial_id, err)

        def set_trial_state_values(
            self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
        ) -> bool:
            try:
                return bool(super().set_trial_state_values(trial_id, state, values))
            except UpdateFinishedTrialError:
                raise
            except Exception as err:
                if not _disconnected(err) or not state.is_finished():
                    raise
            try:
                return bool(super().set_trial_state_values(trial_id, state, values))
            except UpdateFinishedTrialError:
                if self.get_trial(trial_id).state == state:
                    return True  # the first attempt was committed; its answer was lost
                raise

    TolerantRDBStorage._tolerant = TolerantRDBStorage  # type: ignore[attr-defined]
    for name in RETRIED_CALLS:
        setattr(TolerantRDBStorage, name, _again(name))
    return TolerantRDBStorage


def open_storage(cfg: Mapping[str, Any]) -> tuple[optuna.storages.BaseStorage, _StaleRetry | None]:
    """Connect to the configured storage now, failing fast with a password-free message.

    Returns:
        The storage and its stale-trial callback (``None`` where heartbeats are off).
    """
    import optuna
    from optuna.storages import JournalStorage, RDBStorage
    from optuna.storages.journal import JournalFileBackend

    check_storage_config(cfg)
    kind = cfg["kind"]
    if kind == "memory":
        return optuna.storages.InMemoryStorage(), None
    interval, grace = cfg.get("heartbeat_interval"), cfg.get("grace_period")
    stale = _StaleRetry(cfg.get("max_retry")) if interval else None
    try:
        if kind == "journal":
            from pathlib import Path

            path = Path(str(cfg["path"]))
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = JournalFileBackend(str(path))
            if interval:
                cls = _make_heartbeat_journal(JournalStorage)
                return cls(
                    backend,
                    heartbeat_interval=interval,
                    grace_period=grace or 2 * interval,
                    stale_callback=stale,
                ), stale
            return JournalStorage(backend), None
        url = str(cfg["url"])
        register_url(url)
        engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if kind == "sqlite":
            from pathlib import Path

            db = url.split("sqlite:///", 1)[-1]
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            # Several processes may share the file: wait for its lock instead of failing.
            engine_kwargs["connect_args"] = {"timeout": 60}
        else:
            engine_kwargs["connect_args"] = {"connect_timeout": 10}
        outage = Outage(what=storage_identity(cfg), limit_s=float(cfg.get("outage_s") or 0))
        if kind == "sqlite":
            check_sqlite_writable(url)
        rdb = RDBStorage if kind == "sqlite" else _tolerant_rdb_class()
        storage = _with_schema_retry(
            lambda: rdb(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=interval,
                grace_period=grace,
                heartbeat_stale_trial_callback=stale,
            )
        )
        # Close the pooled connections when the storage goes (a sweep run in-process: tests,
        # notebooks), instead of leaving each to the garbage collector, which psycopg reports
        # as a leak (ResourceWarning).
        weakref.finalize(storage, storage.engine.dispose)
        if kind == "postgres":
            # From now on (not while first connecting: a wrong URL fails at once), a new
            # connection waits for a server that went away (see Outage).
            from sqlalchemy import event

            event.listen(storage.engine, "do_connect", outage.connect)
        return storage, stale
    except StorageError:
        raise
    except Exception as err:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise StorageError(
            f"storage={kind}: cannot open {storage_identity(cfg)} ({redact(detail)})."
        ) from None
