"""``python -m sweeper`` (and the ``sweeper`` console script): :mod:`sweeper.commands.sweep`."""

from sweeper.commands.sweep import main

if __name__ == "__main__":
    raise SystemExit(main())
