"""What a user watches: a sweep bar and a trial bar on a terminal, or one plain line per
evaluation and per trial elsewhere (CI, log files), so logs hold facts rather than redraws.

It also keeps library chatter (load reports, download bars, MLflow's "View run" lines, Optuna's
per-trial log lines) off the console unless ``hydra.verbose`` asks for it.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sweeper.direction import Direction, better, direction_of
from sweeper.formatting import fmt_duration, fmt_params
from sweeper.objective import Decision

if TYPE_CHECKING:
    from sweeper.schedule import StepPlan
    from sweeper.trial_reporter import Evaluation

log = logging.getLogger("sweeper")

# Libraries that add a console handler of their own when imported (some also stop propagating):
# their records go through the root handlers instead, so they print once, share the console
# format, print above the progress bars and reach the run's log file.
_OWN_HANDLERS = ("transformers", "optuna", "mlflow", "datasets", "huggingface_hub")
# (module, function) that switch a library's own tqdm bars off, called once it is imported.
_PROGRESS_BARS = (
    ("transformers.utils.logging", "disable_progress_bar"),
    ("datasets.utils.logging", "disable_progress_bar"),
    ("huggingface_hub.utils", "disable_progress_bars"),
)
# Environment switches that silence a library: MLflow prints "View run ... at" links with
# sys.stdout.write (no logger) after each run it ends on a server; the hub reads its variable
# when imported, and transformers reads its level when first imported (which resets its logger:
# imported after this call, it still starts at the job_logging level, ERROR). Set only where
# the user has not, and taken back for hydra.verbose=true.
_QUIET_ENV = {
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}
_env_set: set[str] = set()
# Bars redraw at most this often (seconds); the plain lines do not depend on it.
_REFRESH_S = 0.25


# -- library chatter ---------------------------------------------------------------------------


def hydra_verbose() -> bool | list[str]:
    """``hydra.verbose`` of the running Hydra app: ``True``, logger names, or ``False``."""
    try:
        from hydra.core.hydra_config import HydraConfig

        verbose = HydraConfig.get().verbose
    except ValueError:  # not inside a Hydra app (tests, library use)
        return False
    if isinstance(verbose, bool):
        return verbose
    if isinstance(verbose, str):
        return [verbose]
    return [str(name) for name in verbose]


def library_levels() -> dict[str, str]:
    """Logger name -> level from the job_logging config's ``loggers:`` (the one place they live).

    Inside a Hydra app it is ``hydra.job_logging`` (so ``hydra.job_logging.loggers.X.level=...``
    overrides work); elsewhere the packaged ``conf/hydra/job_logging/sweeper.yaml``.
    """
    node: Any
    try:
        from hydra.core.hydra_config import HydraConfig
        from omegaconf import OmegaConf

        loggers = HydraConfig.get().job_logging.get("loggers")
        node = OmegaConf.to_container(loggers) if loggers is not None else {}
    except ValueError:
        import yaml

        from sweeper.config import CONF_DIR

        text = (CONF_DIR / "hydra" / "job_logging" / "sweeper.yaml").read_text()
        node = yaml.safe_load(text).get("loggers") or {}
    return {
        str(name): str(spec.get("level", "WARNING"))
        for name, spec in node.items()
        if isinstance(spec, Mapping)
    }


def quiet_libraries(verbose: bool | Sequence[str] | None = None) -> None:
    """Keep library chatter off the console unless ``verbose`` (default: ``hydra.verbose``).

    Not verbose: the levels of the job_logging config (transformers ERROR, MLflow WARNING...), no
    tqdm bars from Hugging Face libraries, no MLflow "View run ... at" prints. ``True``: those
    libraries log at INFO (sweeper itself at DEBUG, which Hydra sets on the root logger) and MLflow
    prints its links. Logger names (``hydra.verbose=[transformers]``): those log at DEBUG.

    Idempotent; call it again once a library is imported, since importing transformers, Optuna
    or MLflow resets that library's logger.
    """
    if verbose is None:
        verbose = hydra_verbose()
    named = set() if isinstance(verbose, bool) else set(verbose)
    import optuna

    # Raised for options sweeper turns on deliberately (heartbeats, grouped TPE); never useful.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    for name, level in library_levels().items():
        logger = logging.getLogger(name)
        if name in named:
            logger.setLevel(logging.DEBUG)
        elif verbose is True:
            logger.setLevel(min(logging.INFO, logging.getLevelName(level.upper())))
        else:
            logger.setLevel(level.upper())
        if name in _OWN_HANDLERS:
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:  # theirs: a console stream
                    logger.removeHandler(handler)
            logger.propagate = True
    if verbose is True:
        for name in _env_set:
            os.environ.pop(name, None)
        _env_set.clear()
        return
    for name, value in _QUIET_ENV.items():
        if name not in os.environ:
            os.environ[name] = value
            _env_set.add(name)
    for module, function in _PROGRESS_BARS:
        loaded = sys.modules.get(module)
        if loaded is not None and hasattr(loaded, function):
            getattr(loaded, function)()


# -- the display -------------------------------------------------------------------------------


class _ShownByBars(logging.Filter):
    """On the console while the bars show: drop the lines they already show (evaluations),
    unless hydra.verbose; the run's log file still gets every line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "on_bars", False) or logging.getLogger().isEnabledFor(
            logging.DEBUG
        )


class Progress:
    """Sweep and trial progress; rich bars on a terminal unless ``quiet``, else plain lines.

    Plain lines (not a terminal, or ``quiet``): per trial one line when it starts (its parameters
    and step plan) and one when it ends (state, best value, the sweep's counts and ETA), and one
    line per evaluation in between. On a terminal the sweep and trial bars show the same facts;
    the start and end lines print above them, evaluation lines only with ``hydra.verbose`` (the
    run's log file has them all either way).

    Creating it also calls :func:`quiet_libraries` (the objective has imported its libraries by
    now, which resets their loggers).

    Args:
        n_trials: The study's target of finished trials.
        finished: Trials already finished (a resumed study).
        monitor: The name of the optimized value (``val_loss``, ``accuracy``...); its direction
            is ``direction``, or by its name (:func:`sweeper.direction.direction_of`).
        quiet: Plain lines even on a terminal.
    """

    def __init__(
        self,
        *,
        n_trials: int,
        finished: int,
        monitor: str,
        quiet: bool,
        direction: Direction | None = None,
    ) -> None:
        self.n_trials = n_trials
        self.finished_at_start = finished
        self.monitor = monitor
        self.direction = direction or direction_of(monitor)
        self.counts = {"complete": 0, "pruned": 0, "failed": 0}
        self.best: tuple[float, int] | None = None
        self.started = time.monotonic()
        self.trial_number = -1
        self._params: Mapping[str, Any] = {}
        self._announced = False  # the current trial's start line is out
        self._trial_t0 = time.monotonic()
        self.total_steps = 0
        self.step = 0
        self.lr: float | None = None
        self.last_eval: Evaluation | None = None
        self._drawn = 0.0
        self._bars: Any = None
        self._handlers: list[tuple[logging.StreamHandler[Any], Any]] = []
        self._filter = _ShownByBars()
        quiet_libraries()
        if not quiet and sys.stdout.isatty():
            self._start_bars()

    @property
    def bars(self) -> bool:
        """Whether the rich bars are showing."""
        return self._bars is not None

    # -- rich bars (terminal) --------------------------------------------------------------

    def _start_bars(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        bars = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),  # leaves room for the facts (rich cuts what is longer)
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}", style="progress.remaining"),
            TextColumn("{task.fields[info]}"),
            refresh_per_second=4,
        )
        self._sweep_bar = bars.add_task(
            "sweep  ",
            total=self.n_trials,
            completed=self.finished_at_start,
            eta="",
            info="",
        )
        self._trial_bar = bars.add_task("trial", total=1, eta="", info="", visible=False)
        before = {id(sys.stdout): "out", id(sys.stderr): "err"}
        bars.start()
        # Log lines go through rich's stdout/stderr proxies, which print them above the bars;
        # written straight to the terminal they would land inside the redrawn bars.
        proxies = {"out": sys.stdout, "err": sys.stderr}
        for handler in logging.getLogger().handlers:
            if type(handler) is not logging.StreamHandler:
                continue  # file handlers keep their file
            stream = handler.stream
            which = before.get(id(stream)) or {
                id(sys.__stdout__): "out",
                id(sys.__stderr__): "err",
            }.get(id(stream))
            if which is not None:
                self._handlers.append((handler, stream))
                handler.setStream(proxies[which])
                handler.addFilter(self._filter)
        self._bars = bars

    def close(self) -> None:
        """Stop the bars (their last state stays on screen); idempotent."""
        if self._bars is not None:
            self._bars.stop()
            for handler, stream in self._handlers:
                handler.setStream(stream)
                handler.removeFilter(self._filter)
            self._handlers = []
            self._bars = None

    def _draw(self, *, force: bool = False) -> None:
        if self._bars is None:
            return
        now = time.monotonic()
        if not force and now - self._drawn < _REFRESH_S:
            return
        self._drawn = now
        fraction = self.step / self.total_steps if self.total_steps else 0.0
        sweep_eta = self.eta(fraction)
        self._bars.update(
            self._sweep_bar,
            completed=min(self.n_trials, self._done() + fraction),
            eta=f"ETA {fmt_duration(sweep_eta)}" if sweep_eta is not None else "",
            info=self._bar_info(),
        )
        if self.trial_number >= 0 and self.total_steps:
            spent = now - self._trial_t0
            left = spent / self.step * (self.total_steps - self.step) if self.step else None
            parts = [] if self.lr is None else [f"lr {self.lr:.2e}"]
            if self.last_eval is not None:
                e = self.last_eval
                parts.append(f"val_loss {e.val_loss:.4f} @ epoch {e.epoch:.2f}")
            self._bars.update(
                self._trial_bar,
                completed=self.step,
                eta=f"ETA {fmt_duration(left)}" if left is not None else "",
                info=", ".join(parts),
            )

    # -- arithmetic shared by the bars and the lines ---------------------------------------

    def _done(self) -> int:
        return self.finished_at_start + self.counts["complete"] + self.counts["pruned"]

    def _better(self, a: float, b: float) -> bool:
        return better(a, b, self.direction)

    def eta(self, fraction: float = 0.0) -> float | None:
        """Seconds left for the study's target, from this process's pace so far.

        Args:
            fraction: How much of the running trial is done (its steps), 0 between trials.
        """
        ran = sum(self.counts.values()) + fraction
        left = self.n_trials - self._done() - fraction
        if ran <= 0 or left <= 0:
            return None
        return (time.monotonic() - self.started) / ran * left

    def _sweep_info(self) -> str:
        c = self.counts
        best = (
            ""
            if self.best is None
            else f" | best {self.monitor} {self.best[0]:.4f} (trial {self.best[1]})"
        )
        return f"{c['complete']} complete, {c['pruned']} pruned, {c['failed']} failed{best}"

    def _bar_info(self) -> str:
        """The sweep bar's short form of :meth:`_sweep_info` (the bar takes what is left)."""
        c = self.counts
        best = "" if self.best is None else f" | best {self.best[0]:.4f} (#{self.best[1]})"
        return f"{c['complete']} complete {c['pruned']} pruned {c['failed']} failed{best}"

    def sweep_line(self) -> str:
        """``3/8 finished: 2 complete, 1 pruned, 0 failed | best val_loss 0.31 (trial 1), ETA``"""
        eta = self.eta()
        shown = f", ETA {fmt_duration(eta)}" if eta is not None else ""
        return f"{self._done()}/{self.n_trials} finished: {self._sweep_info()}{shown}"

    # -- sweep level -----------------------------------------------------------------------

    def trial_begins(self, number: int, params: Mapping[str, Any]) -> None:
        """A trial has its parameters; its line is printed once its step plan is known."""
        self.trial_number = number
        self._params = dict(params)
        self._announced = False
        self._trial_t0 = time.monotonic()
        self.total_steps = self.step = 0
        self.lr = None
        self.last_eval = None

    def _ordinal(self) -> str:
        return f"{min(self._done() + 1, self.n_trials)} of {self.n_trials}"

    def trial_ends(self, number: int, state: str, value: float | None, note: str) -> None:
        key = {"COMPLETE": "complete", "PRUNED": "pruned"}.get(state, "failed")  # also a word
        ordinal = self._ordinal()
        self.counts[key] += 1
        if (
            state == "COMPLETE"
            and value is not None
            and (self.best is None or self._better(value, self.best[0]))
        ):
            self.best = (value, number)
        elapsed = time.monotonic() - self._trial_t0
        shown = "" if value is None else f" {self.monitor}={value:.4f}"
        # A trial that failed before its plan never printed its parameters: print them here.
        params = "" if self._announced else f" [{ordinal}: {fmt_params(self._params)}]"
        log.info(
            "trial %d %s%s in %s%s%s | sweep %s",
            number,
            key,
            shown,
            fmt_duration(elapsed),
            f" ({note})" if note else "",
            params,
            self.sweep_line(),
        )
        self.total_steps = self.step = 0
        if self._bars is not None:
            self._bars.update(self._trial_bar, visible=False)
            self._draw(force=True)

    # -- trial level (the reporter's watcher) ----------------------------------------------

    def trial_started(self, plan: StepPlan) -> None:
        self.total_steps = plan.num_training_steps
        self._announced = True
        # The one start-up line of a trial: its draws and its whole step plan.
        log.info(
            "trial %d starts (%s): %s | %s",
            self.trial_number,
            self._ordinal(),
            fmt_params(self._params),
            plan.banner(),
        )
        if self._bars is not None:
            self._bars.reset(
                self._trial_bar,
                total=plan.num_training_steps,
                visible=True,
                description=f"trial {self.trial_number}",
                eta="",
                info="",
            )
            self._draw(force=True)

    def stepped(self, step: int, lr: float) -> None:
        self.step = step + 1  # the update that uses ``lr`` is under way
        self.lr = lr
        self._draw()

    def evaluated(self, evaluation: Evaluation, best: Evaluation, decision: Decision) -> None:
        self.last_eval = evaluation
        self.step = evaluation.step
        metrics = "".join(f" {k}={v:.4f}" for k, v in evaluation.metrics.items())
        what = "" if decision is Decision.CONTINUE else f" -> {decision.value}"
        lr = "" if self.lr is None else f" lr {self.lr:.2e}"
        line = (
            f"trial {self.trial_number} eval {evaluation.index} epoch {evaluation.epoch:.2f} "
            f"step {evaluation.step}/{self.total_steps}{lr}: val_loss={evaluation.val_loss:.4f}"
            f"{metrics} (best {best.value:.4f} @ epoch {best.epoch:.2f}){what}"
        )
        self._draw(force=True)
        log.info(line, extra={"on_bars": True})
