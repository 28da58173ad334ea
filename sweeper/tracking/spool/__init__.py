"""The tracking spool: a sweep's MLflow writes, in order, in a local file, sent by a background
writer, so that a slow or unreachable tracking server never stalls training or fails a trial.

Every write (create a run, a batch of metrics/params/tags, an artifact, a run's end) is one JSON
line appended to ``<name>.spool.jsonl``. The :class:`Writer` thread sends the lines in order and
appends what it sent to ``<name>.sent.jsonl`` (a count, and the id of each run it created). The
file is the queue: memory stays bounded whatever the backlog, an outage only makes the file
longer, and what is left when the process ends is sent later by ``python -m sweeper.sync``
(:func:`sweeper.tracking.sync.sync_one`), which reads the same two files and so never sends a
line twice.

MLflow's own asynchronous logging (``log_batch(synchronous=False)``,
``MLFLOW_ENABLE_ASYNC_LOGGING``) is not used: its queue is unbounded and in memory, a batch that
fails while the server is down is logged as an error and dropped (mlflow/mlflow#14627), run
creation and run status are outside it (so a run's status can overtake its last metrics), and
nothing survives the process.

One concept per module, all re-exported here (``from sweeper.tracking.spool import X``):

- :mod:`~sweeper.tracking.spool.file`: the spool file and its record of what was sent, names;
- :mod:`~sweeper.tracking.spool.store`: one record sent to MLflow, failures told apart, bounded
  HTTP retries;
- :mod:`~sweeper.tracking.spool.writer`: the background thread that sends a spool in order.
"""

from __future__ import annotations

from sweeper.tracking.spool.file import (
    PENDING,
    SENT_SUFFIX,
    SPOOL_SUFFIX,
    SYNC_COMMAND,
    Spool,
    SpoolBusy,
    default_spool_dir,
    new_key,
    spool_name,
)
from sweeper.tracking.spool.store import (
    HTTP_ENV,
    SPOOL_KEY_TAG,
    NoRun,
    bound_http,
    permanent,
    reason,
    send,
)
from sweeper.tracking.spool.writer import Writer

__all__ = [
    "HTTP_ENV",
    "PENDING",
    "SENT_SUFFIX",
    "SPOOL_KEY_TAG",
    "SPOOL_SUFFIX",
    "SYNC_COMMAND",
    "NoRun",
    "Spool",
    "SpoolBusy",
    "Writer",
    "bound_http",
    "default_spool_dir",
    "new_key",
    "permanent",
    "reason",
    "send",
    "spool_name",
]
