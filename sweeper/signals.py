"""Ctrl-C and SIGTERM: where they may interrupt a sweep, and what they raise.

A signal interrupts a trial while it trains or while the loop waits, never while Optuna creates
a trial or records its result, so no trial is left RUNNING half-recorded (see :class:`SignalGate`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; the running trial is closed and the study stays resumable."""

    def __init__(self, signame: str) -> None:
        super().__init__(signame)
        self.signame = signame


class SignalGate:
    """Where SIGINT/SIGTERM interrupt: while a trial trains or the loop waits (open), not
    while Optuna creates a trial or records its result (closed), so no trial is left RUNNING
    half-recorded. A signal that arrives while closed is raised as soon as the gate opens.
    """

    def __init__(self) -> None:
        self.is_open = True
        self.pending: str | None = None

    def handle(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.is_open:
            self.is_open = False  # a second signal during the clean-up is only noted
            raise Interrupted(name)
        self.pending = name

    def check(self) -> None:
        """Raise a signal that arrived while the gate was closed."""
        if self.pending is not None:
            name, self.pending = self.pending, None
            raise Interrupted(name)

    @contextmanager
    def opened(self) -> Iterator[None]:
        self.is_open = True
        try:
            self.check()
            yield
        finally:
            self.is_open = False

    @contextmanager
    def closed(self) -> Iterator[None]:
        self.is_open = False
        try:
            yield
        finally:
            self.is_open = True
        self.check()


@contextmanager
def signals_interrupt() -> Iterator[SignalGate]:
    """SIGTERM (and SIGINT) raise :class:`Interrupted` in the main thread, through the gate."""
    gate = SignalGate()
    if threading.current_thread() is not threading.main_thread():
        yield gate
        return
    previous = {s: signal.signal(s, gate.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield gate
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


__all__ = ["Interrupted", "SignalGate", "signals_interrupt"]
