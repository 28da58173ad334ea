"""``python -m sweeper`` (and the ``sweeper`` console script): Hydra main -> ``run(cfg)``."""

from __future__ import annotations

from collections.abc import Sequence

from sweeper.cli import run_hydra


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sweep with command-line ``argv`` (default: ``sys.argv[1:]``); the exit code."""
    from sweeper.run import run

    return run_hydra(run, argv)


__all__ = ["main"]
