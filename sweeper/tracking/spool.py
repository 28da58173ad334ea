"""The tracking spool: a sweep's MLflow writes, in order, in a local file, sent by a background
writer, so that a slow or unreachable tracking server never stalls training or fails a trial.

Every write (create a run, a batch of metrics/params/tags, an artifact, a run's end) is one JSON
line appended to ``<name>.spool.jsonl``. The :class:`Writer` thread sends the lines in order and
appends what it sent to ``<name>.sent.jsonl`` (a count, and the id of each run it created). The
file is the queue: memory stays bounded whatever the backlog, an outage only makes the file
longer, and what is left when the process ends is sent later by ``python -m sweeper.sync``
(:func:`sweeper.tracking.sync.sync_one`), which reads the same two files and so never sends a
line twice.

MLflow's own asynchronous logging (``log_batch(synchronous=False)``,
``MLFLOW_ENABLE_ASYNC_LOGGING``) is not used: its queue is unbounded and in memory, a batch that
fails while the server is down is logged as an error and dropped (mlflow/mlflow#14627), run
creation and run status are outside it (so a run's status can overtake its last metrics), and
nothing survives the process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sweeper.errors import SweeperError
from sweeper.secrets import redact

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger("sweeper")

SPOOL_SUFFIX = ".spool.jsonl"
SENT_SUFFIX = ".sent.jsonl"
# The tag that names a run created from the spool, so a create whose answer was lost (a
# timeout) is found again instead of being created twice.
SPOOL_KEY_TAG = "sweeper.spool_key"
PENDING = "pending:"  # run keys of runs created by the writer (their id is not known yet)
SYNC_COMMAND = "python -m sweeper.sync"

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


def new_key() -> str:
    """A key for a run the writer will create."""
    return f"{PENDING}{uuid.uuid4().hex}"


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


class SpoolBusy(SweeperError):
    """The spool belongs to a process that is still running."""


class NoRun(LookupError):
    """A record of a run that was never created (the store refused its create): permanent."""


class Spool:
    """One process's spool file and its record of what was sent.

    Args:
        path: The ``.spool.jsonl`` file (created with a header line when ``header`` is given).
        header: Written first when the file is new: the tracking URI (redacted) and such.
    """

    def __init__(self, path: Path, *, header: Mapping[str, Any] | None = None) -> None:
        self.path = path
        stem = path.name.removesuffix(SPOOL_SUFFIX)
        self.sent_path = path.with_name(stem + SENT_SUFFIX)
        self.files_dir = path.with_name(stem + ".files")  # text artifacts written for it
        new = not path.exists()
        if new and header is None:
            raise FileNotFoundError(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[str] = path.open("a", encoding="utf-8")
        self._lock_held = False
        self._lock()
        self.written = 0
        self.sent = 0
        self.runs: dict[str, str] = {}  # pending key -> MLflow run id
        self._in: IO[str] = path.open("r", encoding="utf-8")
        self._next: dict[str, Any] | None = None
        if new:
            self.append({"op": "header", **(header or {})})
        else:
            self.written = sum(1 for line in self._in if line.endswith("\n"))
            self._in.seek(0)
            self._read_acks()
            for _ in range(self.sent):
                self._in.readline()
        self._acks: IO[str] = self.sent_path.open("a", encoding="utf-8")

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; one process per spool by its name
            return
        try:
            fcntl.flock(self._out, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._out.close()
            raise SpoolBusy(
                f"{self.path}: still in use by a running sweep; run {SYNC_COMMAND} once it ends."
            ) from None
        self._lock_held = True

    def _read_acks(self) -> None:
        if not self.sent_path.exists():
            return
        for line in self.sent_path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                ack = json.loads(line)
                self.sent = max(self.sent, int(ack["n"]))
                if "id" in ack:
                    self.runs[str(ack["run"])] = str(ack["id"])

    @property
    def pending(self) -> int:
        """Records written and not sent yet."""
        return self.written - self.sent

    @property
    def header(self) -> dict[str, Any]:
        with self.path.open(encoding="utf-8") as f:
            first: dict[str, Any] = json.loads(f.readline() or "{}")
        return first

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one record at the end (the caller holds the writer's lock)."""
        self._out.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._out.flush()
        self.written += 1

    def peek(self) -> dict[str, Any]:
        """The oldest unsent record."""
        if self._next is None:
            line = self._in.readline()
            if not line.endswith("\n"):  # appended this instant, or a torn last line
                raise EOFError(self.path)
            self._next = json.loads(line)
        return self._next

    def done(self, *, run: str | None = None, run_id: str | None = None) -> None:
        """The oldest unsent record was sent (or dropped); ``run_id``: the run it created."""
        self.sent += 1
        self._next = None
        ack: dict[str, Any] = {"n": self.sent}
        if run is not None and run_id is not None:
            self.runs[run] = run_id
            ack.update(run=run, id=run_id)
        self._acks.write(json.dumps(ack) + "\n")
        self._acks.flush()

    def close(self, *, remove: bool) -> None:
        """Close the files; ``remove``: delete them (everything was sent)."""
        for handle in (self._in, self._acks, self._out):
            handle.close()
        if remove:
            for path in (self.path, self.sent_path):
                path.unlink(missing_ok=True)
            shutil.rmtree(self.files_dir, ignore_errors=True)


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


@dataclass
class _State:
    down_since: float | None = None
    delayed_from: int = 0  # records sent when it went down
    probed_while_closing: bool = False
    dropped: int = 0


class Writer:
    """Sends a :class:`Spool` to MLflow from a background thread, in order.

    While the store cannot be reached, records wait in the file: one warning line when tracking
    goes down, another when it is back (with how many records were delayed); the writer tries
    again every ``retry_s`` seconds. Requests are bounded (short HTTP timeout, one retry: see
    :func:`bound_http`), so a dead server never holds the thread long either.

    Args:
        client: The MLflow client.
        spool: The spool (this writer owns it).
        uri: The tracking URI, for the messages (redacted there).
        retry_s: Seconds between attempts while the store is down.
    """

    def __init__(self, client: MlflowClient, spool: Spool, *, uri: str, retry_s: float = 5.0):
        self.client = client
        self.spool = spool
        self.uri = uri
        self.retry_s = retry_s
        self._cond = threading.Condition()
        self._state = _State()
        self._closing = False
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="sweeper-tracking", daemon=True)
        self._thread.start()

    @property
    def down(self) -> bool:
        return self._state.down_since is not None

    @property
    def closed(self) -> bool:
        return self._stopped

    def put(self, record: Mapping[str, Any]) -> None:
        """Queue one record (appended to the spool; never waits for the store)."""
        with self._cond:
            self.spool.append(record)
            self._cond.notify_all()

    def resolve(self, key: str, *, wait_s: float) -> str | None:
        """The id of the run created for ``key``; waits up to ``wait_s`` while the store is up."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while key not in self.spool.runs and not self.down and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self.spool.runs.get(key)

    def drain(self, *, wait_s: float) -> bool:
        """Wait up to ``wait_s`` for everything queued to be sent; False if some is left
        (the store is down, or slow)."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while self.spool.pending and not self.down and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return not self.spool.pending

    def close(self, *, wait_s: float) -> int:
        """Send what is queued (up to ``wait_s``; one more try if the store is down), stop the
        thread and close the spool, deleting it when everything was sent. Returns how many
        records are left unsent."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            while self.spool.pending and not self._stopped:
                if self.down and self._state.probed_while_closing:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=max(1.0, deadline - time.monotonic()))
        with self._cond:
            left = self.spool.pending
            if not self._thread.is_alive():  # else it still holds a request; the files stay
                self.spool.close(remove=left == 0)
        return left

    # -- the thread ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self.spool.pending and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                closing = self._closing
            try:
                record = self.spool.peek()
            except EOFError:  # a line being written this instant
                time.sleep(0.01)
                continue
            except ValueError as err:  # a line that is not JSON (a torn write): skip it
                self._dropped({"op": "unreadable"}, err)
                continue
            try:
                created = send(self.client, record, self.spool.runs)
            except Exception as err:
                if permanent(err):
                    self._dropped(record, err)
                    continue
                self._went_down(err)
                if isinstance(record, dict) and record.get("op") == "create":
                    record["retry"] = True  # it may have been created: look before creating
                with self._cond:
                    if closing:
                        self._state.probed_while_closing = True
                        self._cond.notify_all()
                    self._cond.wait(0.0 if self._stopped else self.retry_s)
                continue
            with self._cond:
                self.spool.done(run=record.get("run") if created else None, run_id=created)
                self._came_back()
                self._cond.notify_all()

    def _went_down(self, err: BaseException) -> None:
        log.debug("tracking write failed", exc_info=True)
        if self.down:
            return
        with self._cond:
            self._state.down_since = time.monotonic()
            self._state.delayed_from = self.spool.sent
            self._cond.notify_all()
        log.warning(
            "tracking: %s unreachable (%s); training goes on, records are kept in %s and sent "
            "when it is back",
            redact(self.uri),
            reason(err),
            self.spool.path,
        )

    def _came_back(self) -> None:
        since = self._state.down_since
        if since is None:
            return
        self._state.down_since = None
        delayed = self.spool.written - self._state.delayed_from
        log.warning(
            "tracking: %s is back after %.0fs; sending the %d delayed record(s) in order",
            redact(self.uri),
            time.monotonic() - since,
            delayed,
        )

    def _dropped(self, record: Mapping[str, Any], err: BaseException) -> None:
        self._state.dropped += 1
        if self._state.dropped == 1:
            log.warning(
                "tracking: MLflow refused a %s record (%s); it is skipped (further refusals: "
                "debug log only)",
                record.get("op"),
                reason(err),
            )
        else:
            log.debug("tracking: refused %s record: %s", record.get("op"), reason(err))
        with self._cond:
            self.spool.done()
            self._cond.notify_all()


def default_spool_dir(results_dir: Path) -> Path:
    """Where a sweep with ``results_dir`` keeps its tracking spools."""
    return results_dir / "tracking-spool"


def spool_name(study: str) -> str:
    """A spool file name of its own: study, start time, host, pid and a random part (trackers
    of one process started in the same second, as workers in threads, get different files)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in study)[:80]
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname())[:40]
    unique = f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    return f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}-{unique}{SPOOL_SUFFIX}"
