"""``python -m sweeper.replay BANK...``: :mod:`sweeper.commands.replay`."""

from sweeper.commands.replay import main

if __name__ == "__main__":
    raise SystemExit(main())
