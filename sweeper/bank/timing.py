"""Seconds per evaluation, measured while a bank is recorded: :class:`TimedObjective` wraps the
objective and appends each trial's times to a file that :func:`read_timings` reads back, keyed
by :func:`settings_key`.

Separate from recording and export: the sweep builds the objective from its class name
(``objective=sweeper.bank.TimedObjective``), and export joins the timings to the trials.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeper.objective import Decision, Reporter
    from sweeper.schedule import StepPlan
    from sweeper.settings import TrainSettings


def settings_key(settings: Mapping[str, Any]) -> str:
    """The key of one run's settings (``TrainSettings.as_params()``) in a timings map."""
    return json.dumps(dict(settings), sort_keys=True, default=str)


class _TimedReporter:
    """Forwards to a reporter, noting when each evaluation ends and the first train loss."""

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.started = time.perf_counter()
        self.seconds: list[float] = []
        self.initial_loss: float | None = None

    def start(self, plan: StepPlan) -> None:
        self.inner.start(plan)

    def log_lr(self, step: int, lr: float) -> None:
        self.inner.log_lr(step, lr)

    def log_train_loss(self, step: int, loss: float) -> None:
        if self.initial_loss is None:
            self.initial_loss = loss
        self.inner.log_train_loss(step, loss)

    def evaluate(self, *, step: int, val_loss: float, metrics: Mapping[str, float]) -> Decision:
        self.seconds.append(time.perf_counter() - self.started)
        return self.inner.evaluate(step=step, val_loss=val_loss, metrics=metrics)


class TimedObjective:
    """The objective named by :attr:`inner` with each evaluation's time appended to :attr:`log`.

    Set both before the sweep starts (``record`` does); a trial's line is keyed by its settings
    so :func:`export` can join it to the trial, also after a resumed recording.
    """

    inner: str = "objectives.glue.GlueObjective"
    log: Path | None = None

    def __init__(self, **kwargs: Any) -> None:
        from hydra.utils import get_class

        self._objective = get_class(self.inner)(**kwargs)

    @staticmethod
    def check_config(**kwargs: Any) -> None:
        from hydra.utils import get_class

        checker = getattr(get_class(TimedObjective.inner), "check_config", None)
        if checker is not None:
            checker(**kwargs)

    def prepare(self) -> Any:
        return self._objective.prepare()

    def train(self, settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
        timed = _TimedReporter(reporter)
        try:
            self._objective.train(settings, timed, device=device)
        finally:
            if self.log is not None:
                line = {
                    "key": settings_key(settings.as_params()),
                    "seconds": [round(s, 3) for s in timed.seconds],
                    "initial_loss": timed.initial_loss,
                }
                with self.log.open("a") as f:
                    f.write(json.dumps(line) + "\n")


def read_timings(path: Path) -> dict[str, dict[str, Any]]:
    """The lines :class:`TimedObjective` wrote, the last one per settings key."""
    out: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                out[item["key"]] = item
    return out
