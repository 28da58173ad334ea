"""``python -m sweeper.sync``: send what a sweep's tracking spool kept (see
:mod:`sweeper.tracking.sync`)."""

from __future__ import annotations

from sweeper.tracking.sync import main

if __name__ == "__main__":
    raise SystemExit(main())
