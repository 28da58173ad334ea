"""``python -m sweeper.sync``: send what a tracking spool kept (:mod:`sweeper.commands.sync`)."""

from sweeper.commands.sync import main

if __name__ == "__main__":
    raise SystemExit(main())
