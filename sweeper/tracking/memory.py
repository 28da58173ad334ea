"""An in-memory tracking backend (``tracking=memory``): records kept in this process, for tests.

It proves the seam: a sweep, ``sweeper.train`` and ``sweeper.recommend`` record through it
exactly as through MLflow, and a test reads what they recorded from :data:`STORES` (by
``tracking.store``, so tests in one process keep apart). Nothing survives the process.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweeper.tracking import Tracker

STATUS_BY_STATE = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


@dataclass
class Run:
    """One recorded run: a study run (``parent is None`` and ``role == "study"``) or a trial's."""

    run_id: str
    name: str
    role: str  # study, trial or train
    parent: str | None = None
    status: str = "RUNNING"
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # key -> [(step, value)], in the order added
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    files: list[tuple[str | None, Path]] = field(default_factory=list)  # (folder, path)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class Store:
    """Every run of one store name, by id."""

    runs: dict[str, Run] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def new(self, **fields: Any) -> Run:
        run = Run(run_id=f"mem-{next(self._ids)}", **fields)
        self.runs[run.run_id] = run
        return run

    def find(self, *, role: str, name: str | None = None) -> list[Run]:
        """The runs of ``role`` (and ``name``), oldest first."""
        return [r for r in self.runs.values() if r.role == role and name in (None, r.name)]


STORES: dict[str, Store] = {}


def store(name: str) -> Store:
    """The store called ``name`` (created empty the first time)."""
    return STORES.setdefault(name, Store())


class MemoryRun:
    """A trial run in a :class:`Store`: points buffered until :meth:`flush`, as MLflow's are."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.run_id: str | None = run.run_id
        self._points: list[tuple[str, float, int]] = []

    def add(self, key: str, value: float, step: int) -> None:
        self._points.append((key, float(value), int(step)))

    def flush(self) -> None:
        for key, value, step in self._points:
            self.run.metrics.setdefault(key, []).append((step, value))
        self._points.clear()

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.run.params.update({k: str(v) for k, v in params.items()})

    def finish(
        self,
        state: str,
        *,
        summary: Mapping[str, Any],
        tags: Mapping[str, str],
        status: str | None = None,
    ) -> None:
        for key, value in summary.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                self.add(key, float(value), 0)
        self.flush()
        self.run.tags.update({**{k: str(v) for k, v in tags.items()}, "optuna.state": state})
        self.run.status = status or STATUS_BY_STATE.get(state, "FAILED")


class MemoryTracker:
    """A study's records in the store named ``store_name``."""

    def __init__(self, *, store_name: str, study_name: str) -> None:
        self.store_name = store_name
        self.store = store(store_name)
        self.study_name = study_name
        self.parent_run_id: str | None = None
        self.closed = False

    def attach(self, *, tags: Mapping[str, Any], params: Mapping[str, Any]) -> str:
        found = self.store.find(role="study", name=self.study_name)
        run = found[0] if found else self.store.new(name=self.study_name, role="study")
        if not found:
            run.params.update({k: str(v) for k, v in params.items()})
        run.status = "RUNNING"
        run.tags.update({k: str(v) for k, v in tags.items()})
        self.parent_run_id = run.run_id
        return run.run_id

    def start_trial(
        self, number: int, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> MemoryRun:
        assert self.parent_run_id is not None, "attach() first"
        run = self.store.new(name=f"trial-{number:04d}", role="trial", parent=self.parent_run_id)
        run.tags.update(
            {"optuna.trial_number": str(number), **{k: str(v) for k, v in tags.items()}}
        )
        trial = MemoryRun(run)
        trial.log_params(params)
        return trial

    def start_single(
        self, name: str, *, params: Mapping[str, Any], tags: Mapping[str, Any]
    ) -> MemoryRun:
        run = self.store.new(name=name, role="train", tags={k: str(v) for k, v in tags.items()})
        single = MemoryRun(run)
        single.log_params(params)
        return single

    def log_text(self, text: str, name: str) -> None:
        assert self.parent_run_id is not None
        self.store.runs[self.parent_run_id].texts[name] = text

    def log_to_run(
        self,
        run_id: str,
        *,
        files: Iterable[Path] = (),
        folder: str | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        run = MemoryRun(self.store.runs[run_id])
        run.run.files += [(folder, Path(p)) for p in files]
        for key, value in (metrics or {}).items():
            run.add(key, float(value), 0)
        run.flush()

    def close_open_runs(self, states: Mapping[int, tuple[str, str]]) -> int:
        closed = 0
        for run in self.store.find(role="trial"):
            number = int(run.tags.get("optuna.trial_number", -1))
            if run.parent == self.parent_run_id and run.status == "RUNNING" and number in states:
                state, why = states[number]
                MemoryRun(run).finish(state, summary={}, tags={"sweeper.reason": why})
                closed += 1
        return closed

    def finish_study(self, *, files: Iterable[Path], tags: Mapping[str, Any], status: str) -> None:
        assert self.parent_run_id is not None
        parent = self.store.runs[self.parent_run_id]
        parent.files += [(None, Path(p)) for p in files]
        parent.tags.update({k: str(v) for k, v in tags.items()})
        if status != "RUNNING":
            parent.status = status
        self.close()

    def close(self) -> int:
        self.closed = True
        return 0

    def unsent_notice(self) -> str | None:
        return None

    def describe(self, *, full: bool = True) -> str:
        runs = f"{len(self.store.runs)} runs, " if full else ""
        return f"memory: store {self.store_name} ({runs}parent run {self.parent_run_id})"

    def open_commands(self) -> list[tuple[str, str]]:
        return []  # nothing outside this process to open


def connect(
    cfg: Mapping[str, Any], *, study_name: str, storage_id: str, results_dir: Path
) -> Tracker:
    """The backend's entry (see :func:`sweeper.tracking.open_tracker`): the store named
    ``tracking.store`` (default ``default``)."""
    return MemoryTracker(
        store_name=str(cfg["tracking"].get("store") or "default"), study_name=study_name
    )
