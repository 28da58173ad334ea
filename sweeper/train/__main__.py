"""``python -m sweeper.train``: :mod:`sweeper.commands.train`."""

from sweeper.commands.train import main

if __name__ == "__main__":
    raise SystemExit(main())
