"""``python -m sweeper.recommend [overrides] [--confirm-seeds K]``: defaults from a finished study
(:mod:`sweeper.recommend`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from sweeper.cli import run_hydra
from sweeper.errors import ConfigError


def confirm_seeds_flag(args: Sequence[str]) -> list[str]:
    """``--confirm-seeds K`` (or ``=K``) as the override ``recommend.confirm_seeds=K``."""
    out: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--confirm-seeds":
            value = next(it, None)
            if value is None:
                raise ConfigError("--confirm-seeds needs a number of seeds but got nothing.")
            out.append(f"recommend.confirm_seeds={value}")
        elif arg.startswith("--confirm-seeds="):
            out.append(f"recommend.confirm_seeds={arg.split('=', 1)[1]}")
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Recommend defaults from the study the overrides name; the exit code."""
    from sweeper.recommend import recommend

    try:
        argv = confirm_seeds_flag(sys.argv[1:] if argv is None else argv)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return run_hydra(recommend, argv, help_page="recommend")


__all__ = ["confirm_seeds_flag", "main"]
