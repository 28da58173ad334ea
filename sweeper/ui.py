"""``python -m sweeper.ui``: the MLflow UI on a sweep's store (:mod:`sweeper.tracking.ui`)."""

from __future__ import annotations

from sweeper.tracking.ui import command, default_store, experiment_pages, main

__all__ = ["command", "default_store", "experiment_pages", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
