"""Objectives named by function (``objective=MODULE.train``), good and bad, for the tests.

This package itself has no ``train`` (a module that does not fit the contract).
"""

from __future__ import annotations


class NotAnObjective:
    """A class without ``prepare()`` and ``train()``."""

    def fit(self) -> None:
        """Not what sweeper calls."""
