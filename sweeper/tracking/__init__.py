"""The tracking seam: what a sweep records besides the study, behind a small protocol.

The study (Optuna storage) is the record of truth; a tracking backend is its view: one *study
run* per study and one *trial run* per trial (params, curves, final figures, a status), plus
files (plots, the config, the summary). :func:`open_tracker` builds the backend the config's
``tracking`` node names (``backend: mlflow``); ``tracking.enabled: false`` (``tracking=none``)
records nothing. Callers know only :class:`Tracker` and :class:`TrialRun`.

A backend is one module that defines ``connect(cfg, *, study_name, storage_id, results_dir)``
returning a :class:`Tracker`, plus one ``conf/tracking/NAME.yaml`` with ``backend: NAME``
(a module of this package) or a dotted module path of the user's own. MLflow
(:mod:`sweeper.tracking.mlflow`, with its spool, ``python -m sweeper.sync`` and
``python -m sweeper.ui``) and an in-memory one for tests (:mod:`sweeper.tracking.memory`) do.
Only this package imports MLflow (``tests/test_architecture.py`` checks it).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from sweeper.errors import ConfigError

# The study's and each trial's user attrs that name their tracking runs. Studies recorded
# before the seam carry the MLflow names, read as these.
RUN_ID_ATTR = "tracking_run_id"
STUDY_RUN_ATTR = "tracking_parent_run_id"
_LEGACY = {RUN_ID_ATTR: "mlflow_run_id", STUDY_RUN_ATTR: "mlflow_parent_run_id"}


def recorded_id(attrs: Mapping[str, Any], key: str) -> str | None:
    """The run id a study's or trial's user attrs hold under ``key`` (or its older name)."""
    value = attrs.get(key) or attrs.get(_LEGACY.get(key, key))
    return None if value is None else str(value)


class TrialRun(Protocol):
    """One trial's record: params, curves (buffered; sent at :meth:`flush`), an end.

    Nothing here may raise into training or wait long for the backend.
    """

    # The backend's id of the run; None while it is not known (created later).
    run_id: str | None

    def add(self, key: str, value: float, step: int) -> None: ...

    def flush(self) -> None: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        """End the run. ``state``: the Optuna state (COMPLETE, PRUNED, FAIL); ``summary``: final
        figures; ``status``: ``KILLED`` for an interrupted trial (else from ``state``)."""


class Tracker(Protocol):
    """One study's record: its study run, a trial run per trial, files, and its own end."""

    # The study run's id once :meth:`attach` ran (recorded as the study's STUDY_RUN_ATTR).
    parent_run_id: str | None

    def attach(self, *, tags: Mapping[str, Any], params: Mapping[str, Any]) -> str:
        """Find the study's run (workers of one study share it) or create it; its id."""

    def start_trial(
        self, number: int, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> TrialRun:
        """The run of trial ``number``, under the study run."""

    def start_single(
        self, name: str, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> TrialRun:
        """A run of its own for one training outside a sweep (``python -m sweeper.train``)."""

    def log_text(self, text: str, name: str) -> None:
        """A text file ``name`` on the study run."""

    def log_to_run(
        self,
        run_id: str,
        *,
        files: Iterable[Path] = (),
        folder: str | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Files (under ``folder``) and metrics on an existing run (``sweeper.recommend``)."""

    def close_open_runs(self, states: Mapping[int, tuple[str, str]]) -> int:
        """End trial runs left open whose trial finished (trial number -> (state, reason));
        how many were closed."""

    def finish_study(self, *, files: Iterable[Path], tags: Mapping[str, Any], status: str) -> None:
        """Files and tags on the study run; end it with ``status`` (``RUNNING``: leave it open,
        other workers still train); then :meth:`close`."""

    def close(self) -> int:
        """Send what is queued and stop; how many records could not be sent."""

    def unsent_notice(self) -> str | None:
        """After :meth:`close`: what was not sent and how to send it; None if all was sent."""

    def describe(self, *, full: bool = True) -> str:
        """Where the records go, for the console: the backend's name first
        (``mlflow: URI (experiment id 1, parent run ID)``); ``full=False``: shorter."""

    def open_commands(self) -> list[tuple[str, str]]:
        """(command or URL, what it does) to look at the records after a sweep."""


class NullRun:
    """A trial run that records nothing (``tracking=none``)."""

    run_id: str | None = None

    def add(self, key: str, value: float, step: int) -> None:
        pass

    def flush(self) -> None:
        pass

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        pass


def open_tracker(
    cfg: Mapping[str, Any], *, study_name: str, storage_id: str, results_dir: Path
) -> Tracker | None:
    """The tracker the ``tracking`` node of the resolved ``cfg`` asks for; None when off.

    The one place a config becomes a :class:`Tracker` (the sweep, ``sweeper.train`` and
    ``sweeper.recommend`` all open theirs here). Connecting happens now: a store that cannot
    be reached fails before any training.

    Args:
        cfg: The resolved config (its ``tracking`` node, ``experiment_name``...).
        study_name: The study's name (the study run's name).
        storage_id: The study storage's identity (equal study names in different storages get
            different study runs).
        results_dir: The sweep's results folder (local files a backend keeps go there).

    Raises:
        ConfigError: ``tracking.backend`` names no backend module.
    """
    node = cfg["tracking"]
    if not node.get("enabled", True):
        return None
    name = str(node.get("backend") or "mlflow")  # configs from before the seam had no key
    module_name = name if "." in name else f"{__name__}.{name}"
    try:
        connect = importlib.import_module(module_name).connect
    except (ImportError, AttributeError) as err:
        raise ConfigError(
            f"tracking.backend must name a tracking backend (a module of sweeper.tracking such "
            f"as mlflow or memory, or a dotted module path) that defines connect() but got "
            f"{name!r} ({err})."
        ) from None
    tracker: Tracker = connect(
        cfg, study_name=study_name, storage_id=storage_id, results_dir=results_dir
    )
    return tracker


__all__ = [
    "RUN_ID_ATTR",
    "STUDY_RUN_ATTR",
    "NullRun",
    "Tracker",
    "TrialRun",
    "open_tracker",
    "recorded_id",
]
