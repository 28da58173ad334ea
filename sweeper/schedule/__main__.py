"""``python -m sweeper.schedule``: the LR schedule preview (:mod:`sweeper.commands.schedule`)."""

from sweeper.commands.schedule import main

if __name__ == "__main__":
    raise SystemExit(main())
