"""The background writer: a thread that sends a :class:`~sweeper.tracking.spool.file.Spool` to
MLflow in order, waits out an outage with one line down and one back, and closes the spool
(deleting it once everything was sent).

Separate from the file and the store: only a live sweep runs it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sweeper.secrets import redact
from sweeper.tracking.spool.store import permanent, reason, send

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from sweeper.tracking.spool.file import Spool

log = logging.getLogger("sweeper")


@dataclass
class _State:
    down_since: float | None = None
    delayed_from: int = 0  # records sent when it went down
    probed_while_closing: bool = False
    dropped: int = 0


class Writer:
    """Sends a :class:`Spool` to MLflow from a background thread, in order.

    While the store cannot be reached, records wait in the file: one warning line when tracking
    goes down, another when it is back (with how many records were delayed); the writer tries
    again every ``retry_s`` seconds. Requests are bounded (short HTTP timeout, one retry: see
    :func:`bound_http`), so a dead server never holds the thread long either.

    Args:
        client: The MLflow client.
        spool: The spool (this writer owns it).
        uri: The tracking URI, for the messages (redacted there).
        retry_s: Seconds between attempts while the store is down.
    """

    def __init__(self, client: MlflowClient, spool: Spool, *, uri: str, retry_s: float = 5.0):
        self.client = client
        self.spool = spool
        self.uri = uri
        self.retry_s = retry_s
        self._cond = threading.Condition()
        self._state = _State()
        self._closing = False
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="sweeper-tracking", daemon=True)
        self._thread.start()

    @property
    def down(self) -> bool:
        return self._state.down_since is not None

    @property
    def closed(self) -> bool:
        return self._stopped

    def put(self, record: Mapping[str, Any]) -> None:
        """Queue one record (appended to the spool; never waits for the store)."""
        with self._cond:
            self.spool.append(record)
            self._cond.notify_all()

    def resolve(self, key: str, *, wait_s: float) -> str | None:
        """The id of the run created for ``key``; waits up to ``wait_s`` while the store is up."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while key not in self.spool.runs and not self.down and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self.spool.runs.get(key)

    def drain(self, *, wait_s: float) -> bool:
        """Wait up to ``wait_s`` for everything queued to be sent; False if some is left
        (the store is down, or slow)."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            while self.spool.pending and not self.down and not self._stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return not self.spool.pending

    def close(self, *, wait_s: float) -> int:
        """Send what is queued (up to ``wait_s``; one more try if the store is down), stop the
        thread and close the spool, deleting it when everything was sent. Returns how many
        records are left unsent."""
        deadline = time.monotonic() + wait_s
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            while self.spool.pending and not self._stopped:
                if self.down and self._state.probed_while_closing:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
            self._stopped = True
            self._cond.notify_all()
        self._thread.join(timeout=max(1.0, deadline - time.monotonic()))
        with self._cond:
            left = self.spool.pending
            if not self._thread.is_alive():  # else it still holds a request; the files stay
                self.spool.close(remove=left == 0)
        return left

    # -- the thread ---------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self.spool.pending and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                closing = self._closing
            try:
                record = self.spool.peek()
            except EOFError:  # a line being written this instant
                time.sleep(0.01)
                continue
            except ValueError as err:  # a line that is not JSON (a torn write): skip it
                self._dropped({"op": "unreadable"}, err)
                continue
            try:
                created = send(self.client, record, self.spool.runs)
            except Exception as err:
                if permanent(err):
                    self._dropped(record, err)
                    continue
                self._went_down(err)
                if isinstance(record, dict) and record.get("op") == "create":
                    record["retry"] = True  # it may have been created: look before creating
                with self._cond:
                    if closing:
                        self._state.probed_while_closing = True
                        self._cond.notify_all()
                    self._cond.wait(0.0 if self._stopped else self.retry_s)
                continue
            with self._cond:
                self.spool.done(run=record.get("run") if created else None, run_id=created)
                self._came_back()
                self._cond.notify_all()

    def _went_down(self, err: BaseException) -> None:
        log.debug("tracking write failed", exc_info=True)
        if self.down:
            return
        with self._cond:
            self._state.down_since = time.monotonic()
            self._state.delayed_from = self.spool.sent
            self._cond.notify_all()
        log.warning(
            "tracking: %s unreachable (%s); training goes on, records are kept in %s and sent "
            "when it is back",
            redact(self.uri),
            reason(err),
            self.spool.path,
        )

    def _came_back(self) -> None:
        since = self._state.down_since
        if since is None:
            return
        self._state.down_since = None
        delayed = self.spool.written - self._state.delayed_from
        log.warning(
            "tracking: %s is back after %.0fs; sending the %d delayed record(s) in order",
            redact(self.uri),
            time.monotonic() - since,
            delayed,
        )

    def _dropped(self, record: Mapping[str, Any], err: BaseException) -> None:
        self._state.dropped += 1
        if self._state.dropped == 1:
            log.warning(
                "tracking: MLflow refused a %s record (%s); it is skipped (further refusals: "
                "debug log only)",
                record.get("op"),
                reason(err),
            )
        else:
            log.debug("tracking: refused %s record: %s", record.get("op"), reason(err))
        with self._cond:
            self.spool.done()
            self._cond.notify_all()
