"""MLflow: one parent run per study, one nested child run per trial, curves in batched calls.

Everything goes through ``MlflowClient`` with explicit run ids (no global active run), so several
workers, threads and re-runs never step on each other. Curves are buffered per trial and written
with ``log_batch`` at every evaluation and at trial end, never one call per point.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import shlex
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sweeper.errors import DiskError, StorageError
from sweeper.secrets import redact
from sweeper.spool import (
    PENDING,
    SYNC_COMMAND,
    Spool,
    Writer,
    bound_http,
    default_spool_dir,
    new_key,
    spool_name,
)
from sweeper.spool import reason as _reason

log = logging.getLogger(__name__)

# MLflow's limits per log_batch call.
_MAX_METRICS, _MAX_PARAMS, _MAX_TAGS = 1000, 100, 100
_PARAM_CHARS = 6000
STATUS_BY_STATE = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
ROLE, STUDY, STORAGE = "sweeper.role", "sweeper.study", "sweeper.storage"
# Workers that start together may each create a parent run; after this many seconds every such
# run is visible to all of them, so they agree on one (see Tracker.attach).
SETTLE_S = 1.0
# A parent younger than this (by start time) may still have a twin being created elsewhere.
_FRESH_S = 120.0


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _param_value(value: Any) -> str:
    return redact(str(value))[:_PARAM_CHARS]


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock beside an MLflow SQLite store while it is opened.

    Opening creates or upgrades the database (Alembic migrations); two workers starting at
    the same moment on one machine would run them together and one would crash. Other stores
    (a tracking server) migrate once, on their own.
    """
    path = uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else ""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; workers there share a server instead
        path = ""
    if not path or path.startswith(":memory:"):
        yield
        return
    lock = Path(f"{path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Seconds start_trial waits for its run to be created (for the trial's mlflow_run_id) while the
# store answers; a store that is down is not waited for (the run is created when it is back).
_ID_WAIT_S = 10.0
# Seconds the end of a sweep waits for queued records to reach a store that answers.
_DRAIN_S = 120.0


class NullRun:
    """A trial run that records nothing (``tracking=none``)."""

    run_id: str | None = None

    def add(self, key: str, value: float, step: int) -> None:
        pass

    def flush(self) -> None:
        pass

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        pass


class TrialRun:
    """The child run of one trial. Metrics, params and tags are buffered and queued together,
    in as few ``log_batch`` records as MLflow's limits allow, at each :meth:`flush`; the
    background writer (:class:`sweeper.spool.Writer`) sends them. Nothing here waits for the
    store or raises: a trial's outcome never depends on tracking.

    Args:
        writer: The study's writer.
        key: The run's key in the spool (its id, or a pending key until the writer creates it).
    """

    def __init__(self, writer: Writer, key: str) -> None:
        self.writer = writer
        self.key = key
        self.run_id: str | None = None if key.startswith(PENDING) else key
        self._metrics: list[list[Any]] = []
        self._params: list[list[str]] = []
        self._tags: list[list[str]] = []
        self._broken = False
        self.calls = 0  # records queued (for the overhead benchmark)

    def add(self, key: str, value: float, step: int) -> None:
        self._metrics.append([key, float(value), int(time.time() * 1000), int(step)])
        if len(self._metrics) >= _MAX_METRICS:  # memory stays bounded between evaluations
            self.flush()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Buffer params; they go out with the next :meth:`flush`."""
        self._params += [[k, _param_value(v)] for k, v in params.items()]

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Buffer tags; they go out with the next :meth:`flush`."""
        self._tags += [[k, redact(str(v))] for k, v in tags.items()]

    def _put(self, record: dict[str, Any]) -> None:
        if self._broken:
            return
        try:
            self.writer.put(record)
            self.calls += 1
        except Exception as err:  # the spool cannot be written (disk full...): drop, go on
            self._broken = True
            log.warning(
                "tracking: cannot write %s (%s); this run's further records are dropped",
                self.writer.spool.path,
                _reason(err),
            )

    def flush(self) -> None:
        while self._metrics or self._params or self._tags:
            params, self._params = self._params[:_MAX_PARAMS], self._params[_MAX_PARAMS:]
            tags, self._tags = self._tags[:_MAX_TAGS], self._tags[_MAX_TAGS:]
            room = _MAX_METRICS - len(params) - len(tags)  # 1,000 entities per call in all
            metrics, self._metrics = self._metrics[:room], self._metrics[room:]
            self._put({"op": "batch", "run": self.key, "m": metrics, "p": params, "t": tags})

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        """Record the final figures and tags with what is buffered, and end the run (queued
        after them, so a run's status comes last).

        Args:
            state: The Optuna state (COMPLETE, PRUNED, FAIL): FINISHED, KILLED, FAILED.
            summary: Final single values (best_val_loss, best_epoch...) logged as metrics.
            tags: Extra tags (reasons).
            status: An MLflow status overriding the one ``state`` maps to.
        """
        now = int(time.time() * 1000)
        for key, value in summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._metrics.append([key, float(value), now, 0])
        self.set_tags({**tags, "optuna.state": state})
        self.flush()
        end = status or STATUS_BY_STATE.get(state, "FAILED")
        self._put({"op": "end", "run": self.key, "status": end, "end_time": now})


class Tracker:
    """MLflow for one study: the parent run, child runs, and closing runs left open.

    The store is contacted directly at start (a wrong URI fails at once, before training) and
    to find the study's parent run; every later write goes through a spool and a background
    writer (:mod:`sweeper.spool`), so training never waits for the store.

    Args:
        uri: Tracking URI (``sqlite:///...`` or ``http://host:port``).
        experiment: MLflow experiment name.
        artifact_location: Artifact folder for an experiment this store creates.
        study_name: The Optuna study's name (the parent run's name).
        storage_id: A redacted identity of the Optuna storage, so equal study names in
            different storages get different parents.
        spool_dir: Where the spool file goes (``results_dir/tracking-spool`` in a sweep);
            default: a folder in the system's temporary directory.
    """

    def __init__(
        self,
        *,
        uri: str,
        experiment: str,
        artifact_location: str | None,
        study_name: str,
        storage_id: str,
        spool_dir: Path | None = None,
    ) -> None:
        from mlflow import MlflowClient

        self.uri = uri
        self.study_name = study_name
        self.storage_id = hashlib.sha256(redact(storage_id).encode()).hexdigest()[:16]
        if not uri.strip() or uri == "None":
            # MLflow would quietly fall back to a store in the working directory.
            raise StorageError(
                f"tracking.uri must be an MLflow store URI (http://HOST:PORT of a server, "
                f"sqlite:///PATH) or tracking=none but got {uri!r}."
            )
        bound_http()
        try:
            with _store_lock(uri):
                self.client = MlflowClient(tracking_uri=uri)
            self.experiment_id = self._experiment(experiment, artifact_location)
        except Exception as err:
            raise StorageError(
                f"tracking.uri={redact(uri)}: cannot reach the MLflow store ({_reason(err)}); "
                "allowed: a running MLflow server (http://HOST:PORT), a database URI such as "
                "sqlite:///PATH, or tracking=none."
            ) from None
        self.parent_run_id: str | None = None
        folder = spool_dir or Path(tempfile.gettempdir()) / "sweeper-tracking-spool"
        try:
            spool = Spool(
                folder / spool_name(study_name),
                header={"uri": redact(uri), "experiment_id": self.experiment_id},
            )
        except OSError as err:
            raise DiskError(
                f"{folder}: cannot write the tracking spool there ({_reason(err)}); results_dir "
                "must be a writable folder with free space."
            ) from None
        self.writer = Writer(self.client, spool, uri=uri)
        self.unsent = 0
        # A sweep that ends on an error (a full disk, a lost database) still sends what it
        # queued, or says where it is kept, before the interpreter stops the writer's thread.
        atexit.register(self.close)

    @classmethod
    def from_config(
        cls, cfg: Mapping[str, Any], *, study_name: str, storage_id: str, results_dir: Path
    ) -> Tracker | None:
        """The tracker the ``tracking`` node of the resolved ``cfg`` asks for; None when off.

        The one place a config becomes a :class:`Tracker` (the sweep, ``sweeper.train`` and
        ``sweeper.recommend`` all build theirs here).
        """
        tracking = cfg["tracking"]
        if not tracking.get("enabled", True):
            return None
        return cls(
            uri=str(tracking["uri"]),
            experiment=str(tracking.get("experiment") or cfg.get("experiment_name")),
            artifact_location=tracking.get("artifact_location"),
            study_name=study_name,
            storage_id=storage_id,
            spool_dir=default_spool_dir(results_dir),
        )

    def _experiment(self, name: str, artifact_location: str | None) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = Path(artifact_location).resolve().as_uri() if artifact_location else None
        try:
            return str(
                self.client.create_experiment(
                    name,
                    artifact_location=location,
                    # MLflow 3 opens experiments of unknown kind in its GenAI view; these are
                    # training runs.
                    tags={"mlflow.experimentKind": "custom_model_development"},
                )
            )
        except Exception:
            found = self.client.get_experiment_by_name(name)  # another worker created it
            if found is None:
                raise
            return str(found.experiment_id)

    def _study_runs(self) -> list[Any]:
        return list(
            self.client.search_runs(
                [self.experiment_id],
                filter_string=(
                    f"tags.`{ROLE}` = 'study' and tags.`{STUDY}` = '{self.study_name}' "
                    f"and tags.`{STORAGE}` = '{self.storage_id}'"
                ),
                order_by=["attributes.start_time ASC"],
                max_results=50,
            )
        )

    def attach(self, *, tags: Mapping[str, Any], params: Mapping[str, Any]) -> str:
        """Find the study's parent run (by tag) or create it; returns its id.

        Raises:
            StorageError: the store stopped answering since it was first contacted.
        """
        try:
            return self._attach(tags=tags, params=params)
        except Exception as err:
            raise StorageError(
                f"tracking.uri={redact(self.uri)}: the MLflow store stopped answering while "
                f"the study's run was set up ({_reason(err)}); run the same command again once "
                "it is reachable, or use tracking=none."
            ) from None

    def _attach(self, *, tags: Mapping[str, Any], params: Mapping[str, Any]) -> str:
        """The parent run, found or created (see :meth:`attach`).

        Workers starting at the same moment may each create one; all then keep the oldest
        (start time, then run id) and delete their own extra, so children nest under one parent.
        A worker that created a parent, or found one created moments ago, looks again after
        :data:`SETTLE_S` seconds, when a twin created at the same moment has become visible:
        then every worker sees the same runs and keeps the same one.
        """
        from mlflow.entities import Param, RunTag

        runs = self._study_runs()
        created = None
        if not runs:
            created = self.client.create_run(
                self.experiment_id,
                run_name=self.study_name,
                tags={ROLE: "study", STUDY: self.study_name, STORAGE: self.storage_id},
            ).info.run_id
        now_ms = time.time() * 1000
        if created is not None or any(now_ms - r.info.start_time < _FRESH_S * 1000 for r in runs):
            time.sleep(SETTLE_S)
            runs = self._study_runs()
        runs.sort(key=lambda r: (r.info.start_time, r.info.run_id))
        parent = runs[0].info.run_id
        if created is not None and created != parent:
            self.client.delete_run(created)
        elif created is not None:
            items = [Param(k, _param_value(v)) for k, v in params.items()]
            for chunk in _chunks(items, _MAX_PARAMS):
                self.client.log_batch(parent, params=chunk, synchronous=True)
        self.client.update_run(parent, status="RUNNING")
        tag_items = [RunTag(k, redact(str(v))) for k, v in tags.items()]
        for chunk in _chunks(tag_items, _MAX_TAGS):
            self.client.log_batch(parent, tags=chunk, synchronous=True)
        self.parent_run_id = str(parent)
        return self.parent_run_id

    def _start(self, *, name: str, tags: Mapping[str, Any], params: Mapping[str, Any]) -> TrialRun:
        key = new_key()
        run = TrialRun(self.writer, key)
        run._put(
            {
                "op": "create",
                "run": key,
                "experiment_id": self.experiment_id,
                "run_name": name,
                "tags": {k: redact(str(v)) for k, v in tags.items()},
                "start_time": int(time.time() * 1000),
            }
        )
        run.log_params(params)
        run.flush()  # params visible in the UI as the run starts
        run.run_id = self.writer.resolve(key, wait_s=_ID_WAIT_S)
        return run

    def start_trial(
        self, number: int, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> TrialRun:
        """A child run ``trial-NNNN`` under the parent, with the trial's params.

        Its ``run_id`` is ``None`` when the store did not answer in time (it is created later).
        """
        assert self.parent_run_id is not None, "attach() first"
        return self._start(
            name=f"trial-{number:04d}",
            tags={
                "mlflow.parentRunId": self.parent_run_id,
                ROLE: "trial",
                STUDY: self.study_name,
                STORAGE: self.storage_id,
                "optuna.trial_number": str(number),
                **tags,
            },
            params=params,
        )

    def start_single(
        self, name: str, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> TrialRun:
        """A top-level run for one training outside a sweep (``python -m sweeper.train``)."""
        return self._start(name=name, tags={ROLE: "train", **tags}, params=params)

    def close_open_runs(self, states: Mapping[int, tuple[str, str]]) -> int:
        """End child runs still RUNNING whose trial has finished (a worker died mid-trial).

        Skipped (0) while the store is unreachable: a later run of the sweep closes them.

        Args:
            states: Trial number -> (Optuna state name, reason) for every finished trial.

        Returns:
            How many runs were closed.
        """
        assert self.parent_run_id is not None
        if not self.writer.drain(wait_s=_DRAIN_S):
            return 0
        try:
            open_runs = self.client.search_runs(
                [self.experiment_id],
                filter_string=(
                    f"tags.`mlflow.parentRunId` = '{self.parent_run_id}' and "
                    "attributes.status = 'RUNNING'"
                ),
                max_results=1000,
            )
        except Exception as err:
            log.debug("tracking: cannot list open runs (%s)", _reason(err))
            return 0
        closed = 0
        for found in open_runs:
            number = int(found.data.tags.get("optuna.trial_number", -1))
            if number not in states:
                continue
            state, why = states[number]
            run = TrialRun(self.writer, found.info.run_id)
            run.finish(state, summary={}, tags={"sweeper.reason": why} if why else {})
            closed += 1
        return closed

    def finish_study(self, *, files: Iterable[Path], tags: Mapping[str, Any], status: str) -> None:
        """Attach files (plots, config, report) and summary tags to the parent; end it with
        ``status``, or leave it RUNNING (``status="RUNNING"``) while other workers train.
        Then send what is queued (:meth:`close`)."""
        assert self.parent_run_id is not None
        parent = TrialRun(self.writer, self.parent_run_id)
        for path in files:
            parent._put({"op": "artifact", "run": self.parent_run_id, "path": str(path)})
        parent.set_tags(tags)
        parent.flush()
        if status != "RUNNING":
            parent._put(
                {
                    "op": "end",
                    "run": self.parent_run_id,
                    "status": status,
                    "end_time": int(time.time() * 1000),
                }
            )
        self.close()

    def log_to_run(
        self,
        run_id: str,
        *,
        files: Iterable[Path] = (),
        folder: str | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Files (under artifact ``folder``) and metrics on an existing run, e.g. a study's
        parent that a later command (``sweeper.recommend``) reports to; through the spool."""
        run = TrialRun(self.writer, run_id)
        for path in files:
            run._put({"op": "artifact", "run": run_id, "path": str(path), "dir": folder})
        for key, value in (metrics or {}).items():
            run.add(key, float(value), 0)
        run.flush()

    def log_text(self, text: str, name: str) -> None:
        """A text file ``name`` among the parent's artifacts (kept beside the spool until sent)."""
        assert self.parent_run_id is not None
        folder = self.writer.spool.files_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(redact(text))
        TrialRun(self.writer, self.parent_run_id)._put(
            {"op": "artifact", "run": self.parent_run_id, "path": str(folder / name)}
        )

    def close(self) -> int:
        """Send what is queued (waiting up to two minutes for a store that answers), stop the
        writer; says how to send what is left. Returns how many records are left."""
        if self.writer.closed:
            return self.unsent
        self.unsent = self.writer.close(wait_s=_DRAIN_S)
        notice = self.unsent_notice()
        if notice:
            log.warning("%s", notice)
        return self.unsent

    def unsent_notice(self) -> str | None:
        """After :meth:`close`: the records not sent and the command that sends them; ``None``
        when everything was sent."""
        if not self.unsent:
            return None
        return (
            f"tracking: {self.unsent} record(s) not sent to {redact(self.uri)}; they are kept in "
            f"{self.writer.spool.path}. Send them once it is reachable: {SYNC_COMMAND} "
            f"{shlex.quote(str(self.writer.spool.path))}"
        )
