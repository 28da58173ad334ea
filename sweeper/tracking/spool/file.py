"""The spool file: one process's MLflow writes as JSON lines, in order, and its record of what
was sent (:class:`Spool`); where spools live and what they are named.

Separate from sending: ``python -m sweeper.sync`` reads the same files with no writer thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from sweeper.errors import SweeperError

SPOOL_SUFFIX = ".spool.jsonl"
SENT_SUFFIX = ".sent.jsonl"
PENDING = "pending:"  # run keys of runs created by the writer (their id is not known yet)
SYNC_COMMAND = "python -m sweeper.sync"


def new_key() -> str:
    """A key for a run the writer will create."""
    return f"{PENDING}{uuid.uuid4().hex}"


class SpoolBusy(SweeperError):
    """The spool belongs to a process that is still running."""


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
