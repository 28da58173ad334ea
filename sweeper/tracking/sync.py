"""Send tracking records a sweep could not send (MLflow was down): ``python -m sweeper.sync``.

Records are sent in the order the sweep wrote them, each run's status last. What was sent is
written beside the spool as it goes, so running it again (or after an interruption) sends only
what is left: no point is sent twice. A spool whose records were all sent is removed. A record
the store refuses (a deleted experiment, another store's URI) stops the spool there: it and the
records after it are kept and named, and the exit code is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sweeper.errors import SweeperError
from sweeper.secrets import redact
from sweeper.tracking import spool as spool_module
from sweeper.tracking.spool import SPOOL_SUFFIX, Spool, SpoolBusy, bound_http, permanent, reason


def spool_files(paths: list[Path]) -> list[Path]:
    """The spool files named by ``paths`` (files, or folders searched recursively), oldest first."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(path.rglob(f"*{SPOOL_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        elif path.name.endswith(SPOOL_SUFFIX) and path.is_file():
            found.append(path)
        else:
            raise SweeperError(
                f"{path}: not a tracking spool (*{SPOOL_SUFFIX}) or a folder holding spools."
            )
    return found


@dataclass(frozen=True)
class SyncResult:
    path: Path
    sent: int
    left: int
    note: str = ""
    refused: bool = False  # the store refused a record: it and the ones after it are kept


def sync_one(path: Path, *, uri: str | None = None) -> SyncResult:
    """Send what ``path`` still holds, in order; removes the spool once all is sent.

    Args:
        path: A ``.spool.jsonl`` file.
        uri: The tracking URI; default: the one the sweep used (from the spool's header), which
            must be given here when it held a password (the header keeps it redacted).
    """
    from mlflow import MlflowClient

    spool = Spool(path)
    recorded = str(spool.header.get("uri") or "")
    target = uri or recorded
    if not target or "***" in target:
        spool.close(remove=False)
        raise SweeperError(
            f"{path}: the tracking URI is not stored in the spool ({recorded or 'none'}); give "
            "it with --tracking-uri URI."
        )
    bound_http()
    client = MlflowClient(tracking_uri=target)
    sent = 0
    note = ""
    refused = False
    try:
        while spool.pending:
            record = spool.peek()
            try:
                created = spool_module.send(
                    client, {**record, "retry": record.get("op") == "create"}, spool.runs
                )
            except Exception as err:
                # A refusal is kept, not skipped: the records after it (a refused create's
                # metrics and status) have nowhere to go either, and the fix (restoring a
                # deleted experiment, naming the sweep's own store) lets a later sync send all.
                refused = permanent(err)
                why = "refused" if refused else "unreachable"
                note = (
                    f"stopped at line {spool.sent + 1} ({record.get('op')} of run "
                    f"{record.get('run')}): {redact(target)} {why} ({reason(err)})"
                )
                break
            spool.done(run=record.get("run") if created else None, run_id=created)
            sent += 1
    finally:
        left = spool.pending
        spool.close(remove=left == 0)
    return SyncResult(path, sent, left, note, refused)


__all__ = ["SpoolBusy", "SyncResult", "spool_files", "sync_one"]
