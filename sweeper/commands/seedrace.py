"""``python -m sweeper.seedrace [overrides]``: the seed race (:mod:`sweeper.seedrace`)."""

from __future__ import annotations

from collections.abc import Sequence

from sweeper.cli import run_hydra


def main(argv: Sequence[str] | None = None) -> int:
    """Race the configured settings over seeds; the exit code."""
    from sweeper.seedrace import seed_race

    return run_hydra(seed_race, argv, help_page="seedrace")


__all__ = ["main"]
