"""``python -m sweeper.bank record|export|merge|show``: :mod:`sweeper.commands.bank`."""

from sweeper.commands.bank import main

if __name__ == "__main__":
    raise SystemExit(main())
