"""``python -m sweeper.sync``: send tracking records a sweep could not send (MLflow was down).

    python -m sweeper.sync                        # every spool under results_dir (SWEEPER_HOME)
    python -m sweeper.sync PATH [PATH ...]        # spool files, or folders holding them
    python -m sweeper.sync --tracking-uri URI     # when the URI had a password (kept redacted)

What is sent and kept: :mod:`sweeper.tracking.sync`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sweeper.errors import SweeperError
from sweeper.tracking.sync import SpoolBusy, spool_files, sync_one


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


__all__ = ["main"]
