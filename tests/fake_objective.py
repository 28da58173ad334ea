"""The scripted objective (:mod:`sweeper.testing.fake_objective`), where the tests import it."""

from sweeper.testing.fake_objective import CALLS, QuadraticObjective, fake_overrides

__all__ = ["CALLS", "QuadraticObjective", "fake_overrides"]
