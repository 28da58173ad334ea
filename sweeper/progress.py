"""What a user watches: a sweep bar and a trial bar on a terminal, or one plain line per
evaluation and per trial elsewhere (CI, log files), so logs hold facts rather than redraws."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sweeper.objective import Decision

if TYPE_CHECKING:
    from sweeper.reporting import Evaluation
    from sweeper.schedule import StepPlan

log = logging.getLogger("sweeper")


def fmt_params(params: Mapping[str, Any]) -> str:
    """``lr=1.2e-04 warmup_ratio=0.12 scheduler=cosine`` (scheduler_kwargs. prefixes dropped)."""
    parts = []
    for key, value in params.items():
        name = key.removeprefix("scheduler_kwargs.")
        if isinstance(value, float):
            parts.append(f"{name}={value:.3g}" if abs(value) >= 1e-3 else f"{name}={value:.2e}")
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def fmt_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Sweep and trial progress; rich bars on a terminal unless ``quiet``, else plain lines.

    Args:
        n_trials: The study's target of finished trials.
        finished: Trials already finished (a resumed study).
        monitor: The name of the optimized value (``val_loss``, ``accuracy``...).
        quiet: Plain lines even on a terminal.
    """

    def __init__(self, *, n_trials: int, finished: int, monitor: str, quiet: bool) -> None:
        self.n_trials = n_trials
        self.finished_at_start = finished
        self.monitor = monitor
        self.counts = {"complete": 0, "pruned": 0, "failed": 0}
        self.best: tuple[float, int] | None = None
        self.started = time.monotonic()
        self.trial_number = -1
        self._trial_t0 = time.monotonic()
        self.total_steps = 0
        self.evals_total = 0
        self._bars: Any = None
        if not quiet and sys.stdout.isatty():
            self._start_bars()

    # -- rich bars (terminal) --------------------------------------------------------------

    def _start_bars(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as RichProgress

        bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            refresh_per_second=4,
        )
        self._sweep_bar = bars.add_task(
            "sweep", total=self.n_trials, completed=self.finished_at_start, info=""
        )
        self._trial_bar = bars.add_task("trial", total=1, completed=0, info="", visible=False)
        bars.start()
        # Log lines go through rich's console so they print above the bars, not through them.
        self._handlers = []
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(handler, "stream", None) in (
                sys.__stdout__,
                sys.__stderr__,
            ):
                self._handlers.append((handler, handler.stream))
                handler.setStream(bars.console.file)
        self._bars = bars

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            for handler, stream in self._handlers:
                handler.setStream(stream)
            self._bars = None

    # -- sweep level -----------------------------------------------------------------------

    def trial_begins(self, number: int, params: Mapping[str, Any]) -> None:
        self.trial_number = number
        self._trial_t0 = time.monotonic()
        done = self.finished_at_start + self.counts["complete"] + self.counts["pruned"]
        log.info(
            "trial %d starts (%d/%d finished): %s", number, done, self.n_trials, fmt_params(params)
        )

    def trial_ends(self, number: int, state: str, value: float | None, note: str) -> None:
        key = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(state, "failed")
        self.counts[key] += 1
        if (
            state == "COMPLETE"
            and value is not None
            and (self.best is None or self._better(value, self.best[0]))
        ):
            self.best = (value, number)
        elapsed = time.monotonic() - self._trial_t0
        shown = "" if value is None else f" {self.monitor}={value:.4f}"
        log.info(
            "trial %d %s%s in %s%s",
            number,
            state.lower(),
            shown,
            fmt_duration(elapsed),
            f" ({note})" if note else "",
        )
        log.info("sweep: %s", self.sweep_line())
        if self._bars is not None:
            self._bars.update(
                self._sweep_bar, advance=1 if key != "failed" else 0, info=self._short()
            )
            self._bars.update(self._trial_bar, visible=False)

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.monitor == "val_loss" else a > b

    def _short(self) -> str:
        c = self.counts
        best = "" if self.best is None else f" best {self.best[0]:.4f} (#{self.best[1]})"
        return f"{c['complete']} done {c['pruned']} pruned {c['failed']} failed{best}"

    def sweep_line(self) -> str:
        done = self.finished_at_start + self.counts["complete"] + self.counts["pruned"]
        ran = sum(self.counts.values())
        elapsed = time.monotonic() - self.started
        left = self.n_trials - done
        eta = f" ETA {fmt_duration(elapsed / ran * left)}" if ran and left > 0 else ""
        return f"{done}/{self.n_trials} finished ({self._short()}){eta}"

    # -- trial level (the reporter's watcher) ----------------------------------------------

    def trial_started(self, plan: StepPlan) -> None:
        self.total_steps = plan.num_training_steps
        log.info("trial %d plan: %s", self.trial_number, plan.banner())
        if self._bars is not None:
            self._bars.reset(
                self._trial_bar,
                total=plan.num_training_steps,
                visible=True,
                description=f"trial {self.trial_number}",
                info="",
            )

    def stepped(self, step: int, lr: float) -> None:
        if self._bars is not None and step % 5 == 0:
            self._bars.update(self._trial_bar, completed=step + 1, info=f"lr {lr:.2e}")

    def evaluated(self, evaluation: Evaluation, best: Evaluation, decision: Decision) -> None:
        metrics = " ".join(f"{k}={v:.4f}" for k, v in evaluation.metrics.items())
        what = "" if decision is Decision.CONTINUE else f" -> {decision.value}"
        line = (
            f"trial {self.trial_number} eval {evaluation.index} epoch {evaluation.epoch:.2f} "
            f"step {evaluation.step}: val_loss={evaluation.val_loss:.4f} {metrics} "
            f"(best {best.value:.4f} @ epoch {best.epoch:.2f}){what}"
        )
        if self._bars is not None:
            self._bars.update(
                self._trial_bar,
                completed=evaluation.step,
                info=f"val_loss {evaluation.val_loss:.4f}",
            )
            log.debug(line)
        else:
            log.info(line)
