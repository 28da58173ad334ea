"""``python -m sweeper.sync``: send tracking records a sweep could not send (MLflow was down).

    python -m sweeper.sync                        # every spool under results_dir (SWEEPER_HOME)
    python -m sweeper.sync PATH [PATH ...]        # spool files, or folders holding them
    python -m sweeper.sync --tracking-uri URI     # when the URI had a password (kept redacted)

Records are sent in the order the sweep wrote them, each run's status last. What was sent is
written beside the spool as it goes, so running it again (or after an interruption) sends only
what is left: no point is sent twice. A spool whose records were all sent is removed. A record
the store refuses (a deleted experiment, another store's URI) stops the spool there: it and the
records after it are kept and named, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
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


def main(argv: Sequence[str] | None = None) -> int:
    """Send every spool named (default: those under results_dir); the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m sweeper.sync", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="spool files (*.spool.jsonl) or folders; default: $SWEEPER_HOME or sweeper-runs",
    )
    parser.add_argument("--tracking-uri", help="MLflow URI (default: the one the sweep used)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    from sweeper.progress import quiet_libraries

    quiet_libraries(False)
    paths = args.paths or [Path(os.environ.get("SWEEPER_HOME", "sweeper-runs"))]
    try:
        spools = spool_files(paths)
        if not spools:
            print(f"nothing to send: no tracking spool under {', '.join(map(str, paths))}")
            return 0
        left = 0
        for path in spools:
            try:
                result = sync_one(path, uri=args.tracking_uri)
            except SpoolBusy as busy:
                print(f"skipped: {busy}")
                left += 1
                continue
            left += result.left
            state = "all sent, removed" if not result.left else f"{result.left} left"
            note = f"; {result.note}" if result.note else ""
            if result.refused:
                note += (
                    "; kept in the spool: restore what it names (a deleted experiment or run) "
                    "or give the sweep's own store with --tracking-uri, then run this again"
                )
            print(f"{path}: {result.sent} record(s) sent, {state}{note}")
    except SweeperError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 1 if left else 0


if __name__ == "__main__":
    raise SystemExit(main())
