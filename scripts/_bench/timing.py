"""Seconds spent inside chosen methods while a block runs (:func:`time_spent_in`): how much of a
sweep one layer (storage, tracking) costs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Timer:
    """What :func:`time_spent_in` measured: seconds and calls, counted while ``active``."""

    seconds: float = 0.0
    calls: int = 0
    active: bool = True


@contextmanager
def time_spent_in(
    targets: Sequence[tuple[type, str]], *, main_thread_only: bool = False
) -> Iterator[Timer]:
    """Seconds spent inside the given methods (outermost calls only), while in the block.

    Wraps the methods on their classes and restores them afterwards. ``main_thread_only``
    leaves other threads' calls out (Optuna's heartbeat thread writes to the storage while a
    trial runs, and would be counted, and confuse the nesting, otherwise); the caller may
    switch counting off and on with ``Timer.active``.
    """
    import threading

    timer = Timer()
    main = threading.main_thread()
    depth = [0]
    saved = [(cls, name, cls.__dict__[name]) for cls, name in targets]

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            if (
                depth[0]
                or not timer.active
                or (main_thread_only and threading.current_thread() is not main)
            ):
                return fn(*a, **k)
            depth[0] += 1
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timer.seconds += time.perf_counter() - started
                timer.calls += 1
                depth[0] -= 1

        return timed

    for cls, name, fn in saved:
        setattr(cls, name, wrap(fn))
    try:
        yield timer
    finally:
        for cls, name, fn in saved:
            setattr(cls, name, fn)
