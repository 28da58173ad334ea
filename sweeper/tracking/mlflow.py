"""The MLflow tracking backend: one parent run per study, one nested child run per trial, curves
in batched calls (``tracking=mlflow``; the seam is :mod:`sweeper.tracking`).

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
from sweeper.tracking import Tracker
from sweeper.tracking.mlflow_run import MAX_PARAMS, MAX_TAGS, MlflowRun, chunks, param_value
from sweeper.tracking.spool import (
    SYNC_COMMAND,
    Spool,
    Writer,
    bound_http,
    default_spool_dir,
    new_key,
    spool_name,
)
from sweeper.tracking.spool import reason as _reason

log = logging.getLogger(__name__)

ROLE, STUDY, STORAGE = "sweeper.role", "sweeper.study", "sweeper.storage"
# Workers that start together may each create a parent run; after this many seconds every such
# run is visible to all of them, so they agree on one (see MlflowTracker.attach).
SETTLE_S = 1.0
# A parent younger than this (by start time) may still have a twin being created elsewhere.
_FRESH_S = 120.0


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


# Seconds start_trial waits for its run to be created (for the trial's tracking_run_id) while the
# store answers; a store that is down is not waited for (the run is created when it is back).
_ID_WAIT_S = 10.0
# Seconds the end of a sweep waits for queued records to reach a store that answers.
_DRAIN_S = 120.0


class MlflowTracker:
    """MLflow for one study: the parent run, child runs, and closing runs left open.

    The store is contacted directly at start (a wrong URI fails at once, before training) and
    to find the study's parent run; every later write goes through a spool and a background
    writer (:mod:`sweeper.tracking.spool`), so training never waits for the store.

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
            items = [Param(k, param_value(v)) for k, v in params.items()]
            for chunk in chunks(items, MAX_PARAMS):
                self.client.log_batch(parent, params=chunk, synchronous=True)
        self.client.update_run(parent, status="RUNNING")
        tag_items = [RunTag(k, redact(str(v))) for k, v in tags.items()]
        for chunk in chunks(tag_items, MAX_TAGS):
            self.client.log_batch(parent, tags=chunk, synchronous=True)
        self.parent_run_id = str(parent)
        return self.parent_run_id

    def _start(self, *, name: str, tags: Mapping[str, Any], params: Mapping[str, Any]) -> MlflowRun:
        key = new_key()
        run = MlflowRun(self.writer, key)
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
    ) -> MlflowRun:
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
    ) -> MlflowRun:
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
            run = MlflowRun(self.writer, found.info.run_id)
            run.finish(state, summary={}, tags={"sweeper.reason": why} if why else {})
            closed += 1
        return closed

    def finish_study(self, *, files: Iterable[Path], tags: Mapping[str, Any], status: str) -> None:
        """Attach files (plots, config, report) and summary tags to the parent; end it with
        ``status``, or leave it RUNNING (``status="RUNNING"``) while other workers train.
        Then send what is queued (:meth:`close`)."""
        assert self.parent_run_id is not None
        parent = MlflowRun(self.writer, self.parent_run_id)
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
        run = MlflowRun(self.writer, run_id)
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
        MlflowRun(self.writer, self.parent_run_id)._put(
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

    def describe(self, *, full: bool = True) -> str:
        """``mlflow: URI (experiment id N, parent run ID)``; ``full=False``: without the
        experiment."""
        experiment = f"experiment id {self.experiment_id}, " if full else ""
        return f"mlflow: {redact(self.uri)} ({experiment}parent run {self.parent_run_id})"

    def open_commands(self) -> list[tuple[str, str]]:
        """The MLflow UI on the experiment's runs page: a URL to open for a tracking server,
        else the command that starts the UI on the store."""
        return open_commands(self.uri, experiment_id=self.experiment_id)

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


def open_commands(uri: str, *, experiment_id: str | None) -> list[tuple[str, str]]:
    """(command or URL, what it does) that opens the MLflow UI on ``uri``'s experiment, quoted
    to paste into a POSIX shell (a password in the URI redacted)."""
    # The experiment's runs table: expand the study's run for its trials, chart view to compare.
    page = f"#/experiments/{experiment_id}/runs" if experiment_id else ""
    if uri.startswith(("http://", "https://")):
        # A server is already running: its page is the thing to open.
        return [(f"{redact(uri).rstrip('/')}/{page}", "MLflow UI: open in a browser")]
    return [
        (
            f"python -m sweeper.ui --backend-store-uri {shlex.quote(redact(uri))}",
            f"MLflow UI; then open http://127.0.0.1:5000/{page}",
        )
    ]


def connect(
    cfg: Mapping[str, Any], *, study_name: str, storage_id: str, results_dir: Path
) -> Tracker:
    """The backend's entry (see :func:`sweeper.tracking.open_tracker`): an
    :class:`MlflowTracker` on ``tracking.uri``, experiment ``tracking.experiment`` (default:
    ``experiment_name``), its spool under ``results_dir``."""
    tracking = cfg["tracking"]
    return MlflowTracker(
        uri=str(tracking["uri"]),
        experiment=str(tracking.get("experiment") or cfg.get("experiment_name")),
        artifact_location=tracking.get("artifact_location"),
        study_name=study_name,
        storage_id=storage_id,
        spool_dir=default_spool_dir(results_dir),
    )
