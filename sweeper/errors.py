"""The project's own error types.

Every error a user can cause is a :class:`SweeperError`: one line that names the key or file, the
value, and what is allowed. The entry points turn it into that line on stderr and exit code 2,
before any training starts, so nothing already recorded is touched.
"""

from __future__ import annotations


class SweeperError(Exception):
    """A user-facing error whose message is the whole story (no traceback needed)."""

    exit_code = 2


class ConfigError(SweeperError, ValueError):
    """A config or search-space value that is not allowed."""


class DataError(SweeperError):
    """A data source that is missing or malformed (names file and line where it can)."""


class ModelError(SweeperError):
    """A model path or checkpoint that cannot be used."""


class StorageError(SweeperError):
    """A study storage or tracking server that cannot be reached (URL redacted)."""


class DiskError(SweeperError):
    """A folder or file under results_dir that cannot be written (full, read-only)."""


class StudyError(SweeperError):
    """A study that does not exist, has no usable trials, or does not match the config."""


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the trial stops at once.

    Args:
        step: The optimizer step (0-based count of updates already taken) whose loss was not
            finite.
    """

    def __init__(self, step: int) -> None:
        super().__init__(f"non-finite loss at step {step}")
        self.step = step
