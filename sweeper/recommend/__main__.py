"""``python -m sweeper.recommend``: :mod:`sweeper.commands.recommend`."""

from sweeper.commands.recommend import main

if __name__ == "__main__":
    raise SystemExit(main())
