"""A module whose import fails: it needs a package that is not installed."""

from __future__ import annotations

import a_missing_dependency  # noqa: F401


def train(settings: object, reporter: object, *, device: str) -> None:
    """Never reached."""
