"""MLflow: one parent run per study, one nested child run per trial, curves in batched calls.

Everything goes through ``MlflowClient`` with explicit run ids (no global active run), so several
workers, threads and re-runs never step on each other. Curves are buffered per trial and written
with ``log_batch`` at every evaluation and at trial end, never one call per point.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Mapping
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


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _param_value(value: Any) -> str:
    return redact(str(value))[:_PARAM_CHARS]


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
    """The child run of one trial; points are buffered until :meth:`flush`."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id: str | None = run_id
        self._buffer: list[Any] = []
        self.calls = 0  # tracking calls made (for the overhead benchmark)

    def add(self, key: str, value: float, step: int) -> None:
        from mlflow.entities import Metric

        self._buffer.append(Metric(key, float(value), int(time.time() * 1000), int(step)))

    def flush(self) -> None:
        assert self.run_id is not None
        points, self._buffer = self._buffer, []
        for chunk in _chunks(points, _MAX_METRICS):
            self.client.log_batch(self.run_id, metrics=chunk, synchronous=True)
            self.calls += 1

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        assert self.run_id is not None
        items = [Param(k, _param_value(v)) for k, v in params.items()]
        for chunk in _chunks(items, _MAX_PARAMS):
            self.client.log_batch(self.run_id, params=chunk, synchronous=True)
            self.calls += 1

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        """Flush, record the final figures and tags, and end the run.

        Args:
            state: The Optuna state (COMPLETE, PRUNED, FAIL): FINISHED, KILLED, FAILED.
            summary: Final single values (best_val_loss, best_epoch...) logged as metrics.
            tags: Extra tags (reasons).
            status: An MLflow status overriding the one ``state`` maps to.
        """
        from mlflow.entities import Metric, RunTag

        assert self.run_id is not None
        now = int(time.time() * 1000)
        for key, value in summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self._buffer.append(Metric(key, float(value), now, 0))
        self.flush()
        tag_items = [RunTag(k, redact(str(v))) for k, v in {**tags, "optuna.state": state}.items()]
        for chunk in _chunks(tag_items, _MAX_TAGS):
            self.client.log_batch(self.run_id, tags=chunk, synchronous=True)
        self.client.set_terminated(self.run_id, status or STATUS_BY_STATE.get(state, "FAILED"))
        self.calls += 2


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
        self.client = MlflowClient(tracking_uri=uri)
        try:
            self.experiment_id = self._experiment(experiment, artifact_location)
        except Exception as err:
            raise StorageError(
                f"tracking.uri={redact(uri)}: cannot reach the MLflow store "
                f"({redact(str(err).splitlines()[0] if str(err) else type(err).__name__)})."
            ) from None
        self.parent_run_id: str | None = None

    def _experiment(self, name: str, artifact_location: str | None) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = Path(artifact_location).resolve().as_uri() if artifact_location else None
        try:
            return str(self.client.create_experiment(name, artifact_location=location))
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
        """Attach files (plots, config, report) and summary tags to the parent; end it."""
        assert self.parent_run_id is not None
        from mlflow.entities import RunTag

        for path in files:
            self.client.log_artifact(self.parent_run_id, str(path))
        tag_items = [RunTag(k, redact(str(v))) for k, v in tags.items()]
        for chunk in _chunks(tag_items, _MAX_TAGS):
            self.client.log_batch(self.parent_run_id, tags=chunk, synchronous=True)
        self.client.set_terminated(self.parent_run_id, status)

    def log_text(self, text: str, name: str) -> None:
        assert self.parent_run_id is not None
        self.client.log_text(self.parent_run_id, redact(text), name)
