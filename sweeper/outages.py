"""Outages of what a sweep writes to: the study's database server, the disk under results_dir.

One line when a database server goes away and one when it is back (the worker waits, bounded);
one-line errors, never tracebacks, for a database or a folder that cannot be written.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from sweeper.errors import DiskError, StorageError
from sweeper.secrets import redact

log = logging.getLogger("sweeper.study")


class Outage:
    """Waits for a database server that went away, up to ``limit_s`` seconds, then gives up.

    Installed as the engine's connect hook (SQLAlchemy's ``do_connect`` event): the pool checks
    each connection before use (``pool_pre_ping``), so a server that was stopped or restarted is
    noticed at the next storage call, whose new connection then waits here. Training stops at
    that call (a report, the trial's end) and goes on when the server is back, without a restart;
    a trial whose worker waited past ``storage.grace_period`` is failed and retried by the stale
    check, as for a worker that died. One line when the wait starts, one when it ends.

    Args:
        what: The storage, for the messages (password-free).
        limit_s: Seconds to wait before :class:`StorageError`; 0: fail at once.
    """

    def __init__(self, *, what: str, limit_s: float) -> None:
        self.what = what
        self.limit_s = limit_s
        self.since: float | None = None
        self.gave_up = False
        self._lock = threading.Lock()

    def connect(self, dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        """The ``do_connect`` hook: a DBAPI connection, waiting while the server is away."""
        while True:
            try:
                connection = dialect.connect(*cargs, **cparams)
            except dialect.loaded_dbapi.OperationalError as err:
                self._waiting(err)
                time.sleep(1.0)
                continue
            self._back()
            return connection

    def _waiting(self, err: BaseException) -> None:
        detail = redact((str(err).strip().splitlines() or [type(err).__name__])[0])
        with self._lock:
            if self.gave_up:
                raise StorageError(self._message(detail))
            if self.since is None and self.limit_s <= 0:  # storage.outage_s=0: no wait at all
                self.gave_up = True
                raise StorageError(self._message(detail))
            if self.since is None:
                self.since = time.monotonic()
                log.warning(
                    "storage: cannot reach %s (%s); waiting up to %ss for it "
                    "(storage.outage_s), then stopping",
                    self.what,
                    detail,
                    f"{self.limit_s:g}",
                )
            elif time.monotonic() - self.since > self.limit_s:
                self.gave_up = True
                raise StorageError(self._message(detail))

    def _message(self, detail: str) -> str:
        return (
            f"storage: {self.what} unreachable for more than storage.outage_s={self.limit_s:g}s "
            f"({detail}); run the same command again once it is back: the study resumes and "
            "the trial that was running is retried."
        )

    def _back(self) -> None:
        with self._lock:
            if self.since is None:
                return
            waited, self.since = time.monotonic() - self.since, None
        log.warning("storage: %s reachable again after %.0fs; going on", self.what, waited)


def storage_failure(err: BaseException) -> StorageError | None:
    """A one-line :class:`StorageError` for a database failure that ended the sweep (a locked or
    read-only SQLite file, a server gone for longer than storage.outage_s), or ``None`` when
    ``err`` is something else."""
    import sqlalchemy.exc
    from optuna.exceptions import StorageInternalError

    inner: BaseException | None = err
    seen: set[int] = set()
    while inner is not None and id(inner) not in seen:
        seen.add(id(inner))
        if isinstance(inner, StorageError):
            return inner
        if isinstance(inner, sqlalchemy.exc.DBAPIError | StorageInternalError):
            cause = inner.__cause__ if isinstance(inner, StorageInternalError) else inner
            text = str(getattr(cause, "orig", None) or cause or inner).strip().splitlines()
            detail = redact(text[0] if text else type(inner).__name__)
            hint = ""
            if "locked" in detail:
                hint = "; another process holds it: use storage=journal or postgres for workers"
            elif "readonly" in detail or "read-only" in detail:
                hint = "; results_dir must be writable"
            return StorageError(f"storage: the database failed ({detail}){hint}.")
        inner = inner.__cause__ or inner.__context__
    return None


def check_sqlite_writable(url: str) -> None:
    """A read-only SQLite file (or folder) fails here, before training, not at the first write."""
    import os
    from pathlib import Path

    db = url.split("sqlite:///", 1)[-1]
    if not db or db.startswith(":memory:"):
        return
    path = Path(db)
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK) or (path.exists() and not os.access(path.parent, os.W_OK)):
        raise StorageError(
            f"storage.url=sqlite:///{db}: {target} is read-only; SQLite needs to write the file "
            "and its folder (results_dir must be writable)."
        )


# Errors that say the disk (not one file) cannot take more: full, read-only, over quota.
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT}
_ERRNO = re.compile(r"\[Errno (\d+)\]")


def check_writable(folder: Path, *, what: str) -> None:
    """Create ``folder`` and write (and remove) a small file in it, before any training.

    Raises:
        DiskError: naming the folder and why (read-only, no space left, no permission).
    """
    probe = folder / f".sweeper-write-check-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as f:
            f.write(b"\0" * 4096)
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as err:
        raise DiskError(
            f"{what}={folder}: cannot write there ({err.strerror or err}); it must be a "
            "writable folder with free space."
        ) from None


def disk_failure(reason: str, *, folder: Path) -> DiskError | None:
    """A :class:`DiskError` that stops the sweep when a trial failed because the disk is full or
    read-only (``reason`` is the trial's one-line failure reason), else ``None``: every
    further trial would fail the same way."""
    found = _ERRNO.search(reason)
    if found is None or int(found.group(1)) not in _DISK_ERRNOS:
        return None
    return DiskError(
        f"results_dir={folder}: a trial failed writing to disk ({reason}); the sweep stopped. "
        "Free space (or make it writable) and run the same command again to resume."
    )
