"""Database and disk failures become one line: the pieces of sweeper.outages, in-process. The
same faults in real sweeps: tests/test_faults.py."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy.exc
from optuna.exceptions import StorageInternalError

from sweeper import outages
from sweeper.errors import DiskError, StorageError
from sweeper.outages import Outage, check_sqlite_writable, disk_failure, storage_failure


def _internal(message: str) -> StorageInternalError:
    """What Optuna raises when SQLite fails mid-sweep (its error, with SQLAlchemy's as cause)."""
    cause = sqlalchemy.exc.OperationalError("UPDATE trials", {}, sqlite3.OperationalError(message))
    try:
        raise StorageInternalError("An exception is raised during the commit.") from cause
    except StorageInternalError as err:
        return err


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("database is locked", "another process holds it"),
        ("attempt to write a readonly database", "results_dir must be writable"),
    ],
)
def test_a_failing_sqlite_database_is_one_line(message: str, hint: str) -> None:
    failure = storage_failure(_internal(message))
    assert isinstance(failure, StorageError)
    text = str(failure)
    assert "\n" not in text and message in text and hint in text


def test_other_errors_are_not_storage_failures() -> None:
    assert storage_failure(RuntimeError("scripted failure")) is None


def test_a_read_only_sqlite_folder_is_refused_before_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outages.os, "access", lambda _path, _mode: False)  # root writes anyway
    with pytest.raises(StorageError, match="is read-only; SQLite needs to write the file"):
        check_sqlite_writable(f"sqlite:///{tmp_path}/optuna.db")


@pytest.mark.parametrize(
    ("reason", "stops"),
    [
        ("OSError: [Errno 28] No space left on device: '/r/x'", True),
        ("OSError: [Errno 30] Read-only file system: '/r/x'", True),
        ("FileNotFoundError: [Errno 2] No such file or directory: 'x'", False),
        ("RuntimeError: scripted failure", False),
    ],
)
def test_only_a_full_or_read_only_disk_stops_the_sweep(reason: str, stops: bool) -> None:
    found = disk_failure(reason, folder=Path("/r"))
    assert (found is not None) == stops
    if found is not None:
        assert isinstance(found, DiskError) and reason in str(found)


def test_an_outage_waits_then_gives_up_with_one_line(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Dialect:
        class loaded_dbapi:
            OperationalError = OSError

        calls = 0

        def connect(self, *_args: object, **_kwargs: object) -> str:
            self.calls += 1
            if self.calls <= 2:
                raise OSError(errno.ECONNREFUSED, "connection refused")
            return "connection"

    outage = Outage(what="postgresql://u:***@h/db", limit_s=60)
    slept: list[float] = []
    monkeypatch.setattr(outages.time, "sleep", slept.append)
    caplog.set_level("WARNING")
    assert outage.connect(Dialect(), None, (), {}) == "connection"
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and len(slept) == 2
    assert lines[0].startswith("storage: cannot reach postgresql://u:***@h/db (")
    assert "waiting up to 60s" in lines[0]
    assert "reachable again after" in lines[1]

    gone = Outage(what="db", limit_s=0)
    gone.since = 0.0  # waiting since long ago
    with pytest.raises(StorageError, match=r"unreachable for more than storage\.outage_s=0s"):
        gone._waiting(OSError("connection refused"))


def test_an_outage_of_zero_seconds_fails_at_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 23: storage.outage_s=0 is documented as "fail at once" but it announced a wait of
    # 0s, slept a second and tried again before giving up.
    class Dialect:
        class loaded_dbapi:
            OperationalError = OSError

        calls = 0

        def connect(self, *_args: object, **_kwargs: object) -> str:
            self.calls += 1
            raise OSError(errno.ECONNREFUSED, "connection refused")

    slept: list[float] = []
    monkeypatch.setattr(outages.time, "sleep", slept.append)
    caplog.set_level("WARNING")
    dialect = Dialect()
    with pytest.raises(StorageError, match=r"storage\.outage_s=0s \(\[Errno 111\] connection"):
        Outage(what="db", limit_s=0).connect(dialect, None, (), {})
    assert dialect.calls == 1 and slept == []
    assert not [r for r in caplog.records if "waiting up to" in r.getMessage()]
