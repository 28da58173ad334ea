"""Optuna plumbing: storage, sampler, pruner, heartbeats and resuming a study.

Every worker runs the same command against one storage; Optuna's storage is the only
coordinator. Stale trials (a worker killed mid-trial) are found by Optuna's heartbeat mechanism
(RDB storages natively; the journal file through :class:`HeartbeatJournalStorage`) and retried
with their parameters by ``RetryHeartbeatStaleTrialCallback``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from sweeper.errors import ConfigError, StorageError, StudyError
from sweeper.outages import Outage, check_sqlite_writable
from sweeper.reporting import pruner_step
from sweeper.results import FINAL_STEP_KEY, STALE_KEY, STALE_REASON
from sweeper.secrets import redact, register_url
from sweeper.settings import Range, Rule, check_node

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.trial import FrozenTrial, TrialState

    from sweeper.objective import TaskInfo
    from sweeper.settings import TrainSettings
    from sweeper.space import SearchSpace

log = logging.getLogger(__name__)

STORAGE_KINDS = ("sqlite", "journal", "postgres", "memory")
HEARTBEAT_ATTR = "sweeper:heartbeat"
# Called with (study, stale trial) after a stale trial is failed; set by the run (to close the
# trial's MLflow run) before the first trial starts.
StaleHook = Callable[["optuna.Study", "FrozenTrial"], None]
T = TypeVar("T")
_SCHEMA_ATTEMPTS = 6


# ----------------------------------------------------------------------------- storage


# ----------------------------------------------------------------------------- Optuna private API
# The only two uses of Optuna's private API, each in one function, checked against Optuna 5.0;
# tests/test_optuna_private.py fails loudly when either changes.


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
    """Runs the run's stale hook (close MLflow runs), then Optuna's retry callback."""

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


# ----------------------------------------------------------------------------- sampler


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number``: distinct per trial, equal across runs."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _per_trial_sampler_class() -> type:
    from optuna.samplers import BaseSampler

    class TrialSeededSampler(BaseSampler):
        """Delegates each trial to a fresh sampler seeded by :func:`trial_seed`.

        Optuna's samplers keep their random state in the process, so a seeded sampler repeats
        its first draws on every re-run of a study and on every parallel worker. Seeding per
        trial number (unique in the storage) makes draws reproducible and never repeated; the
        samplers used this way keep their real state in the storage, not the process.
        """

        def __init__(self, make: Callable[[int], BaseSampler], seed: int) -> None:
            self._make = make
            self._seed = seed
            self._samplers: dict[int, BaseSampler] = {}
            self._default = make(seed)

        def __str__(self) -> str:
            return f"{type(self._default).__name__}(seed per trial from {self._seed})"

        def _for(self, trial: FrozenTrial) -> BaseSampler:
            return self._samplers.get(trial.number, self._default)

        def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
            sampler = self._make(trial_seed(self._seed, trial.number))
            self._samplers[trial.number] = sampler
            sampler.before_trial(study, trial)

        def infer_relative_search_space(
            self, study: optuna.Study, trial: FrozenTrial
        ) -> dict[str, BaseDistribution]:
            return self._for(trial).infer_relative_search_space(study, trial)

        def sample_relative(
            self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
        ) -> dict[str, Any]:
            return self._for(trial).sample_relative(study, trial, search_space)

        def sample_independent(
            self,
            study: optuna.Study,
            trial: FrozenTrial,
            param_name: str,
            param_distribution: BaseDistribution,
        ) -> Any:
            return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

        def after_trial(
            self,
            study: optuna.Study,
            trial: FrozenTrial,
            state: TrialState,
            values: Sequence[float] | None,
        ) -> None:
            self._for(trial).after_trial(study, trial, state, values)
            self._samplers.pop(trial.number, None)

        def reseed_rng(self) -> None:
            pass  # seeds come from trial numbers

    return TrialSeededSampler


# Samplers whose draws follow a sequence over trials rather than a random state: seeded once.
# The grid sampler keeps which points are taken in the storage, but rebuilt per trial it was
# seen to draw a point twice and skip another (tests/test_space.py).
_SEQUENCE_SAMPLERS = ("optuna.samplers.QMCSampler", "optuna.samplers.GridSampler")


def _check_targets(node: Any, *, group: str, allowed: str | tuple[str, ...]) -> None:
    """Only Optuna's (and sweeper's own) classes may be built from config: a ``_target_`` is a
    call."""
    if isinstance(node, Mapping):
        target = node.get("_target_")
        if target is not None and not str(target).startswith(allowed):
            where = " or ".join(
                f"{a}*" for a in ((allowed,) if isinstance(allowed, str) else allowed)
            )
            raise ConfigError(f"{group}._target_ must be a class in {where} but got {target!r}.")
        for value in node.values():
            _check_targets(value, group=group, allowed=allowed)


def build_sampler(
    cfg: Mapping[str, Any], *, seed: int, space: SearchSpace
) -> optuna.samplers.BaseSampler:
    """The configured sampler (``_target_`` + arguments), seeded per trial from ``seed``."""
    from hydra.utils import instantiate

    _check_targets(cfg, group="sampler", allowed="optuna.samplers.")
    target = str(cfg.get("_target_", ""))
    kwargs = {k: v for k, v in cfg.items() if k != "seed"}
    if target.endswith("GridSampler"):
        kwargs["search_space"] = space.grid()

    # Hydra's instantiate costs ~20 ms (it builds a config object), paid for every trial here;
    # a node of plain arguments is built by calling its class directly, once Hydra built it once.
    plain = not any(isinstance(v, Mapping | list) for v in kwargs.values())
    direct: list[Any] = []

    def make(sampler_seed: int) -> Any:
        try:
            if direct:
                return direct[0](
                    **{k: v for k, v in kwargs.items() if k != "_target_"}, seed=sampler_seed
                )
            sampler = instantiate(kwargs, seed=sampler_seed)
            if plain:
                direct.append(type(sampler))
            return sampler
        except Exception as err:
            cause = err.__cause__ or err
            raise ConfigError(f"sampler ({target}): {cause}.") from None

    if target in _SEQUENCE_SAMPLERS:
        return make(seed)  # type: ignore[no-any-return]
    sampler: optuna.samplers.BaseSampler = _per_trial_sampler_class()(make, seed)
    return sampler


def build_pruner(cfg: Mapping[str, Any]) -> optuna.pruners.BasePruner:
    """The configured pruner (``_target_`` + arguments); its steps are evaluation indices."""
    from hydra.utils import instantiate

    _check_targets(
        cfg, group="pruner", allowed=("optuna.pruners.", "sweeper.pruners.", "sweeper.pruners_")
    )
    try:
        pruner: optuna.pruners.BasePruner = instantiate(dict(cfg))
    except Exception as err:
        cause = err.__cause__ or err
        raise ConfigError(f"pruner ({cfg.get('_target_')}): {cause}.") from None
    return pruner


# ----------------------------------------------------------------------------- the study


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
    if study.direction.name.lower() != direction:
        raise StudyError(
            f"study {name!r} optimizes {study.direction.name.lower()} but sweep.objective asks to "
            f"{direction}; choose another sweep.study_name."
        )
    recorded = study.user_attrs.get("fingerprint")
    if recorded is None:
        study.set_user_attr("fingerprint", dict(fingerprint))
    else:
        check_fingerprint(name, recorded, fingerprint)
    return study


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
        raise StudyError(
            f"study {name!r} was run with other settings: {shown}{more}; run it unchanged to "
            "resume, or set a new sweep.study_name."
        )


def prune_hook(
    trial: optuna.Trial, *, settings: TrainSettings | None = None
) -> Callable[[float, int, bool], bool]:
    """The reporter's prune hook for ``trial``: report the value at the step, ask the pruner.

    The one place a live sweep (and a replay, :mod:`sweeper.replay`) talks to Optuna's pruner.
    At the last evaluation the answer is not needed (the trial has finished training).
    With the trial's ``settings``, the pruner step of its schedule's end is recorded on the
    trial for pruners that weigh how much of a schedule is left
    (:class:`sweeper.pruners.CurvePruner`).
    """
    if settings is not None:
        final = pruner_step(settings.num_epochs, settings.evals_per_epoch)
        trial.set_user_attr(FINAL_STEP_KEY, final)

    def hook(value: float, step: int, last: bool) -> bool:
        trial.report(value, step)
        return not last and trial.should_prune()

    return hook


# A queued set whose trial raised this many times is not queued again: it fails as configured.
REQUEUE_LIMIT = 2


def requeue(study: optuna.Study, queued: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Queue each parameter set of ``sweep.enqueue`` that has no finished trial yet.

    Run on every start, not only when the study is new: a queued trial that was interrupted
    (Ctrl-C, SIGTERM: recorded FAIL) or failed must run when the sweep resumes. A set already
    waiting or running (another worker has it) is not queued twice, nor one whose trial raised
    :data:`REQUEUE_LIMIT` times (interruptions and lost workers do not count): it would fail on
    every start. Returns the sets queued.
    """
    from optuna.trial import TrialState

    def matches(trial: FrozenTrial, params: Mapping[str, Any]) -> bool:
        have = trial.system_attrs.get("fixed_params") or trial.params
        return all(k in have and have[k] == v for k, v in params.items())

    stale = study.user_attrs

    def raised(trial: FrozenTrial) -> bool:  # the objective raised: not a stop from outside
        reason = str(trial.user_attrs.get("reason") or "")
        return (
            bool(reason)
            and not reason.startswith("interrupted")
            and (STALE_KEY.format(trial.number) not in stale)
        )

    live = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.WAITING, TrialState.RUNNING)
    trials = study.get_trials(deepcopy=False)
    alive = [t for t in trials if t.state in live]
    failed = [t for t in trials if t.state == TrialState.FAIL and raised(t)]
    added: list[dict[str, Any]] = []
    for params in queued:
        if params in added or any(matches(t, params) for t in alive):
            continue
        failures = [t for t in failed if matches(t, params)]
        if len(failures) >= REQUEUE_LIMIT:
            log.warning(
                "warning: queued trial %s failed %d times (last, trial %d: %s); not queued "
                "again: fix it or remove it from sweep.enqueue",
                dict(params),
                len(failures),
                failures[-1].number,
                failures[-1].user_attrs.get("reason") or "no reason recorded",
            )
            continue
        study.enqueue_trial(dict(params))
        added.append(dict(params))
    return added


def retry_interrupted(trial: optuna.Trial) -> int | None:
    """Queue the parameters of ``trial``, interrupted (Ctrl-C, SIGTERM), to run again.

    An interruption is not a verdict on the settings: like a trial whose worker was killed
    (:class:`_StaleRetry`), it is retried with the same parameters by the next trial to start,
    here or in another worker, as a WAITING trial whose ``failed_trial`` system attribute names
    the original (the run records it as ``retry_of``). The interrupted trial itself stays FAIL.
    A trial interrupted before it had any parameter has nothing to retry.

    Called while the interruption propagates, it never raises: a storage that fails here is
    logged (the interruption must still stop the sweep), and the settings are not retried.

    Returns:
        The number of the trial it retries (the original, for a retry of a retry), or ``None``.
    """
    import optuna
    from optuna.trial import TrialState

    try:
        frozen = trial.storage.get_trial(trial_id(trial))
        if not frozen.params:
            return None
        original = int(frozen.system_attrs.get("failed_trial", frozen.number))
        trial.study.add_trial(
            optuna.create_trial(
                state=TrialState.WAITING,
                params=frozen.params,
                distributions=frozen.distributions,
                system_attrs={**frozen.system_attrs, "failed_trial": original},
            )
        )
    except Exception as err:
        log.warning("trial %d: its settings are not queued again (%s)", trial.number, err)
        return None
    return original


@dataclass(frozen=True)
class Counts:
    complete: int
    pruned: int
    failed: int
    running: int

    @property
    def finished(self) -> int:
        """Trials that count towards ``sweep.n_trials``."""
        return self.complete + self.pruned


def count_trials(study: optuna.Study) -> Counts:
    from optuna.trial import TrialState

    states = Counter(t.state for t in study.get_trials(deepcopy=False))
    return Counts(
        complete=states[TrialState.COMPLETE],
        pruned=states[TrialState.PRUNED],
        failed=states[TrialState.FAIL],
        running=states[TrialState.RUNNING],
    )


def claims_a_slot(trial: optuna.Trial, n_trials: int) -> bool:
    """Whether ``trial`` (just started) is among the first ``n_trials`` counted trials.

    Workers check the study's counts and then start a trial; two workers can both see one
    slot left and both start. Trial numbers are handed out atomically by the storage, so every
    worker agrees which trials came first: a trial with ``n_trials`` finished or running
    trials numbered before it is one too many.
    """
    from optuna.trial import TrialState

    counted = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    ahead = sum(
        1 for t in trial.study.get_trials(deepcopy=False, states=counted) if t.number < trial.number
    )
    return ahead < n_trials


def release_trial(trial: optuna.Trial) -> None:
    """Put a trial that is not needed back in the queue (WAITING) instead of running it.

    It keeps its number and is the first one a later run with a larger ``sweep.n_trials`` (or
    a retry of a failed trial) picks up; it never counts as finished or failed.
    """
    from optuna.trial import TrialState

    trial.storage.set_trial_state_values(trial_id(trial), state=TrialState.WAITING)


def fail_stale_trials(study: optuna.Study) -> None:
    """Fail (and queue for retry) trials whose worker stopped sending heartbeats."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


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
