"""``python -m sweeper.train [overrides]``: one training run, no search (:mod:`sweeper.train`)."""

from __future__ import annotations

from collections.abc import Sequence

from sweeper.cli import run_hydra


def main(argv: Sequence[str] | None = None) -> int:
    """Train once with the configured settings; the exit code."""
    from sweeper.train import train

    return run_hydra(train, argv, help_page="train")


__all__ = ["main"]
