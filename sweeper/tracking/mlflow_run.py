"""One MLflow run's records: params, tags and curve points buffered, then queued to the spool in
as few ``log_batch`` records as MLflow's limits allow (:class:`MlflowRun`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sweeper.secrets import redact
from sweeper.tracking.spool import PENDING, Writer
from sweeper.tracking.spool import reason as _reason

log = logging.getLogger(__name__)

# MLflow's limits per log_batch call.
MAX_METRICS, MAX_PARAMS, MAX_TAGS = 1000, 100, 100
_PARAM_CHARS = 6000
STATUS_BY_STATE = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


def chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    """``items`` in lists of ``size`` (one ``log_batch`` call each)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def param_value(value: Any) -> str:
    """A param as MLflow keeps it: a string, redacted, cut to its length limit."""
    return redact(str(value))[:_PARAM_CHARS]


class MlflowRun:
    """The child run of one trial. Metrics, params and tags are buffered and queued together,
    in as few ``log_batch`` records as MLflow's limits allow, at each :meth:`flush`; the
    background writer (:class:`sweeper.tracking.spool.Writer`) sends them. Nothing here waits
    for the store or raises: a trial's outcome never depends on tracking.

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
        if len(self._metrics) >= MAX_METRICS:  # memory stays bounded between evaluations
            self.flush()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Buffer params; they go out with the next :meth:`flush`."""
        self._params += [[k, param_value(v)] for k, v in params.items()]

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
            params, self._params = self._params[:MAX_PARAMS], self._params[MAX_PARAMS:]
            tags, self._tags = self._tags[:MAX_TAGS], self._tags[MAX_TAGS:]
            room = MAX_METRICS - len(params) - len(tags)  # 1,000 entities per call in all
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
