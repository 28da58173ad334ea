"""The tiny random BERT (:mod:`sweeper.testing.tiny_model`), where the tests import it."""

from sweeper.testing.tiny_model import make_tiny_model

__all__ = ["make_tiny_model"]
