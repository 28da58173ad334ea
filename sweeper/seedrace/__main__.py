"""``python -m sweeper.seedrace``: :mod:`sweeper.commands.seedrace`."""

from sweeper.commands.seedrace import main

if __name__ == "__main__":
    raise SystemExit(main())
