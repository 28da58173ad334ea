"""MLflow: one parent run per study, one nested child run per trial, curves in batched calls.

Everything goes through ``MlflowClient`` with explicit run ids (no global active run), so several
workers, threads and re-runs never step on each other. Curves are buffered per trial and written
with ``log_batch`` at every evaluation and at trial end, never one call per point.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.errors import StorageError
from sweeper.secrets import redact

if TYPE_CHECKING:
    from mlflow import MlflowClient

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


# MLflow's HTTP client retries an unreachable server 7 times with exponential backoff (about
# four minutes before it gives up); the start-up check gets one quick retry and a 10 s timeout
# instead, so a wrong tracking.uri fails at once. Variables the user set are left as they are.
_CONNECT_CHECK_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


@contextmanager
def _fail_fast() -> Iterator[None]:
    """MLflow's HTTP retry budget bounded while the store is first contacted."""
    added = [key for key in _CONNECT_CHECK_ENV if key not in os.environ]
    for key in added:
        os.environ[key] = _CONNECT_CHECK_ENV[key]
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _reason(err: BaseException) -> str:
    """Why contacting the store failed, on one line: the innermost OS error where there is one
    (``Connection refused``, a name that does not resolve), else the error's first line."""
    inner: BaseException | None = err
    seen: set[int] = set()
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, OSError) and inner.strerror:
            return redact(inner.strerror)
        inner = inner.__cause__ or inner.__context__
    return redact(str(err).splitlines()[0] if str(err) else type(err).__name__)


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
    """The child run of one trial. Metrics, params and tags are buffered and written together,
    in as few ``log_batch`` calls as MLflow's limits allow, at each :meth:`flush`."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id: str | None = run_id
        self._metrics: list[Any] = []
        self._params: list[Any] = []
        self._tags: list[Any] = []
        self.calls = 0  # tracking calls made (for the overhead benchmark)

    def add(self, key: str, value: float, step: int) -> None:
        from mlflow.entities import Metric

        self._metrics.append(Metric(key, float(value), int(time.time() * 1000), int(step)))

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Buffer params; they go out with the next :meth:`flush`."""
        from mlflow.entities import Param

        self._params += [Param(k, _param_value(v)) for k, v in params.items()]

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Buffer tags; they go out with the next :meth:`flush`."""
        from mlflow.entities import RunTag

        self._tags += [RunTag(k, redact(str(v))) for k, v in tags.items()]

    def flush(self) -> None:
        assert self.run_id is not None
        while self._metrics or self._params or self._tags:
            params, self._params = self._params[:_MAX_PARAMS], self._params[_MAX_PARAMS:]
            tags, self._tags = self._tags[:_MAX_TAGS], self._tags[_MAX_TAGS:]
            room = _MAX_METRICS - len(params) - len(tags)  # 1,000 entities per call in all
            metrics, self._metrics = self._metrics[:room], self._metrics[room:]
            self.client.log_batch(
                self.run_id, metrics=metrics, params=params, tags=tags, synchronous=True
            )
            self.calls += 1

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        """Record the final figures and tags with what is buffered, and end the run.

        Args:
            state: The Optuna state (COMPLETE, PRUNED, FAIL): FINISHED, KILLED, FAILED.
            summary: Final single values (best_val_loss, best_epoch...) logged as metrics.
            tags: Extra tags (reasons).
            status: An MLflow status overriding the one ``state`` maps to.
        """
        from mlflow.entities import Metric

        assert self.run_id is not None
        now = int(time.time() * 1000)
        for key, value in summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._metrics.append(Metric(key, float(value), now, 0))
        self.set_tags({**tags, "optuna.state": state})
        self.flush()
        self.client.set_terminated(self.run_id, status or STATUS_BY_STATE.get(state, "FAILED"))
        self.calls += 1


class Tracker:
    """MLflow for one study: the parent run, child runs, and closing runs left open.

    Args:
        uri: Tracking URI (``sqlite:///...`` or ``http://host:port``).
        experiment: MLflow experiment name.
        artifact_location: Artifact folder for an experiment this store creates.
        study_name: The Optuna study's name (the parent run's name).
        storage_id: A redacted identity of the Optuna storage, so equal study names in
            different storages get different parents.
    """

    def __init__(
        self,
        *,
        uri: str,
        experiment: str,
        artifact_location: str | None,
        study_name: str,
        storage_id: str,
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
        try:
            with _store_lock(uri):
                self.client = MlflowClient(tracking_uri=uri)
            with _fail_fast():
                self.experiment_id = self._experiment(experiment, artifact_location)
        except Exception as err:
            raise StorageError(
                f"tracking.uri={redact(uri)}: cannot reach the MLflow store ({_reason(err)}); "
                "allowed: a running MLflow server (http://HOST:PORT), a database URI such as "
                "sqlite:///PATH, or tracking=none."
            ) from None
        self.parent_run_id: str | None = None

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

    def start_trial(
        self, number: int, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> TrialRun:
        """A child run ``trial-NNNN`` under the parent, with the trial's params."""
        assert self.parent_run_id is not None, "attach() first"
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"trial-{number:04d}",
            tags={
                "mlflow.parentRunId": self.parent_run_id,
                ROLE: "trial",
                STUDY: self.study_name,
                STORAGE: self.storage_id,
                "optuna.trial_number": str(number),
                **{k: redact(str(v)) for k, v in tags.items()},
            },
        )
        trial_run = TrialRun(self.client, run.info.run_id)
        trial_run.log_params(params)
        trial_run.flush()  # params visible in the UI as the trial starts
        return trial_run

    def start_single(
        self, name: str, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> TrialRun:
        """A top-level run for one training outside a sweep (``python -m sweeper.train``)."""
        run = self.client.create_run(
            self.experiment_id,
            run_name=name,
            tags={ROLE: "train", **{k: redact(str(v)) for k, v in tags.items()}},
        )
        single = TrialRun(self.client, run.info.run_id)
        single.log_params(params)
        single.flush()
        return single

    def close_open_runs(self, states: Mapping[int, tuple[str, str]]) -> int:
        """End child runs still RUNNING whose trial has finished (a worker died mid-trial).

        Args:
            states: Trial number -> (Optuna state name, reason) for every finished trial.

        Returns:
            How many runs were closed.
        """
        assert self.parent_run_id is not None
        from mlflow.entities import RunTag

        open_runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=(
                f"tags.`mlflow.parentRunId` = '{self.parent_run_id}' and "
                "attributes.status = 'RUNNING'"
            ),
            max_results=1000,
        )
        closed = 0
        for run in open_runs:
            number = int(run.data.tags.get("optuna.trial_number", -1))
            if number not in states:
                continue
            state, reason = states[number]
            tags = [RunTag("optuna.state", state)]
            if reason:
                tags.append(RunTag("sweeper.reason", redact(reason)))
            self.client.log_batch(run.info.run_id, tags=tags, synchronous=True)
            self.client.set_terminated(run.info.run_id, STATUS_BY_STATE.get(state, "FAILED"))
            closed += 1
        return closed

    def finish_study(self, *, files: Iterable[Path], tags: Mapping[str, Any], status: str) -> None:
        """Attach files (plots, config, report) and summary tags to the parent; end it with
        ``status``, or leave it RUNNING (``status="RUNNING"``) while other workers train."""
        assert self.parent_run_id is not None
        from mlflow.entities import RunTag

        for path in files:
            self.client.log_artifact(self.parent_run_id, str(path))
        tag_items = [RunTag(k, redact(str(v))) for k, v in tags.items()]
        for chunk in _chunks(tag_items, _MAX_TAGS):
            self.client.log_batch(self.parent_run_id, tags=chunk, synchronous=True)
        if status != "RUNNING":
            self.client.set_terminated(self.parent_run_id, status)

    def log_text(self, text: str, name: str) -> None:
        assert self.parent_run_id is not None
        self.client.log_text(self.parent_run_id, redact(text), name)
