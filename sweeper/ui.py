"""``python -m sweeper.ui``: the MLflow UI on a sweep's store (:mod:`sweeper.commands.ui`)."""

from sweeper.commands.ui import main

if __name__ == "__main__":
    raise SystemExit(main())
