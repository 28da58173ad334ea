"""One spool record carried out on the MLflow store (:func:`send`), whether a failure is worth
another try (:func:`permanent`) and why it failed (:func:`reason`), and MLflow's HTTP retries
bounded (:func:`bound_http`).

Shared by the background writer (:mod:`sweeper.tracking.spool.writer`) and
``python -m sweeper.sync``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sweeper.secrets import redact
from sweeper.tracking.spool.file import PENDING

if TYPE_CHECKING:
    from mlflow import MlflowClient


# The tag that names a run created from the spool, so a create whose answer was lost (a
# timeout) is found again instead of being created twice.
SPOOL_KEY_TAG = "sweeper.spool_key"


# MLflow's HTTP client retries an unreachable server 7 times with exponential backoff (about
# four minutes before it gives up), printing urllib3's "Retrying" line each time. Sweeper's own
# writer (this module) keeps records while the server is away and tries again itself, so each
# request gets one quick retry and a short timeout instead; the start-up check then fails at once
# on a wrong tracking.uri, and a dead server never holds training or the writer for long.
# Variables the user set are left as they are.
HTTP_ENV = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def bound_http() -> None:
    """MLflow's HTTP retry budget bounded for this process (see :data:`HTTP_ENV`)."""
    for key, value in HTTP_ENV.items():
        os.environ.setdefault(key, value)


def permanent(err: BaseException) -> bool:
    """Whether sending again cannot help: the store refused the request itself (a 4xx answer:
    a run that was deleted, a value MLflow does not accept), as opposed to a store that could
    not be reached or failed (connection refused, timeout, 5xx, a locked database)."""
    from mlflow.exceptions import MlflowException

    if isinstance(err, MlflowException):
        status = int(err.get_http_status_code())  # type: ignore[no-untyped-call]
        return 400 <= status < 500 and status not in (408, 429)
    return isinstance(err, FileNotFoundError | ValueError | TypeError | KeyError | NoRun)


def reason(err: BaseException) -> str:
    """Why a write failed, on one line: the innermost OS error where there is one
    (``Connection refused``), else the error's first line."""
    inner: BaseException | None = err
    seen: set[int] = set()
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, OSError) and inner.strerror:
            return redact(inner.strerror)
        inner = inner.__cause__ or inner.__context__
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if "Max retries exceeded" in text or "Connection refused" in text:
        return "connection refused" if "refused" in text.lower() else "unreachable"
    return redact(text[:200])


class NoRun(LookupError):
    """A record of a run that was never created (the store refused its create): permanent."""


def send(client: MlflowClient, record: Mapping[str, Any], runs: Mapping[str, str]) -> str | None:
    """Carry out one record on the MLflow store; the id of the run it created, if any.

    Raises:
        NoRun: the record's run was never created (its create was refused): there is nowhere
            to put it.
    """
    op = record["op"]
    if op == "header":
        return None
    if op == "create":
        key = str(record["run"])
        if record.get("retry"):
            found = client.search_runs(
                [str(record["experiment_id"])],
                filter_string=f"tags.`{SPOOL_KEY_TAG}` = '{key}'",
                max_results=1,
            )
            if found:
                return str(found[0].info.run_id)
        run = client.create_run(
            str(record["experiment_id"]),
            start_time=record.get("start_time"),
            tags={**record.get("tags", {}), SPOOL_KEY_TAG: key},
            run_name=record.get("run_name"),
        )
        return str(run.info.run_id)
    key = str(record["run"])
    run_id = runs.get(key) or (None if key.startswith(PENDING) else key)
    if run_id is None:
        raise NoRun(f"its run {key} was never created (the store refused its create)")
    if op == "batch":
        from mlflow.entities import Metric, Param, RunTag

        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), int(ts), int(step)) for k, v, ts, step in record["m"]],
            params=[Param(k, v) for k, v in record["p"]],
            tags=[RunTag(k, v) for k, v in record["t"]],
            synchronous=True,
        )
    elif op == "end":
        client.set_terminated(run_id, str(record["status"]), end_time=record.get("end_time"))
    elif op == "artifact":
        client.log_artifact(run_id, str(record["path"]), record.get("dir"))
    else:
        raise ValueError(f"unknown spool record {op!r}")
    return None
