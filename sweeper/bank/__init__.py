"""Learning-curve banks: every evaluation of an exhaustive, unpruned study, in one small file.

A bank is recorded once (``python -m sweeper.bank record``: a grid sweep through
:func:`sweeper.run.run` with ``pruner=none`` and no early stopping) and replayed many times
(:mod:`sweeper.replay`) to compare sweep policies in seconds instead of hours.

File format (JSON, gzip when the name ends in ``.gz``), curves stored column-wise::

    {"format": 1, "task": ..., "monitor": "val_loss", "direction": "minimize", "metric": ...,
     "evals_per_epoch": 2, "train": {fixed train settings}, "grid": {name: [values]},
     "provenance": {command, commit, data, model, machine, date, ...},
     "trials": [{"params": {...}, "seed": 42, "plan": {StepPlan fields},
                 "initial_loss": 0.69, "seconds": 41.2, "state": "COMPLETE",
                 "evals": {"epoch": [...], "step": [...], "val_loss": [...],
                           "metric": [...], "seconds": [...],
                           "test_loss": [...], "test_metric": [...]}}]}

``test_loss`` / ``test_metric`` are there when the study held validation out of train
(``data.validation=from_train``): the task's dev split, evaluated at every evaluation and never
used for a choice, so a replay can select on validation and judge on test.

``seconds`` are measured per evaluation when the study was recorded by ``record`` (a timing
wrapper around the objective); for any other study they are the trial's wall time shared out
in proportion to optimizer steps (``provenance.seconds`` says which).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import importlib
import itertools
import json
import math
import os
import platform
import random
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

    from sweeper.objective import Decision, Reporter
    from sweeper.schedule import StepPlan
    from sweeper.settings import TrainSettings

FORMAT = 1
# The default grid: the default search space (conf/search_space/default.yaml) in a few values
# per entry. 5 x 2 x 3 x 3 = 90 configs, 180 epochs in all.
DEFAULT_GRID: dict[str, list[Any]] = {
    "lr": [1.0e-5, 2.5e-5, 6.0e-5, 1.3e-4, 3.0e-4],
    "warmup_ratio": [0.05, 0.2],
    "num_epochs": [1, 2, 3],
    "scheduler": ["linear", "cosine", "constant_with_warmup"],
}


# ----------------------------------------------------------------------------- the bank


@dataclass(frozen=True, kw_only=True)
class Curve:
    """One recorded training run: its parameters and every evaluation."""

    params: dict[str, Any]
    seed: int
    plan: dict[str, Any]
    initial_loss: float | None
    epoch: tuple[float, ...]
    step: tuple[int, ...]
    val_loss: tuple[float, ...]
    metric: tuple[float, ...]
    seconds: tuple[float, ...]
    # The test split at each evaluation (empty: the study had none; see the module docstring).
    test_loss: tuple[float, ...] = ()
    test_metric: tuple[float, ...] = ()

    @property
    def epochs(self) -> float:
        """Epochs trained in full (the last evaluation's position)."""
        return self.epoch[-1] if self.epoch else 0.0


@dataclass(frozen=True, kw_only=True)
class Bank:
    """A loaded bank (see the module docstring for the file)."""

    task: str
    monitor: str
    direction: str
    metric: str
    evals_per_epoch: int
    train: dict[str, Any]
    grid: dict[str, list[Any]]
    provenance: dict[str, Any]
    curves: tuple[Curve, ...]

    def values(self, curve: Curve) -> tuple[float, ...]:
        """The monitored value at each evaluation of ``curve``."""
        return curve.val_loss if self.monitor == "val_loss" else curve.metric

    def best_of(self, curve: Curve) -> float:
        """The best monitored value of ``curve`` (NaN only when it has no other)."""
        return self._best(self.values(curve))

    @functools.cached_property
    def trained(self) -> tuple[Curve, ...]:
        """The runs with at least one evaluation, in recorded order: those a replay can reveal."""
        return tuple(c for c in self.curves if c.epoch)

    @functools.cached_property
    def best(self) -> float:
        """The exhaustive study's best value (any evaluation of any run)."""
        return self._best([self.best_of(c) for c in self.trained])

    def _best(self, values: Sequence[float]) -> float:
        # NaN never counts: min() and max() keep a NaN that comes first, so one NaN run
        # recorded first would make the bank's best, and every regret against it, NaN.
        kept = [v for v in values if not math.isnan(v)]
        if not kept:
            return math.nan
        return min(kept) if self.direction == "minimize" else max(kept)

    @property
    def total_epochs(self) -> float:
        return sum(c.epochs for c in self.curves)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "task": self.task,
            "monitor": self.monitor,
            "direction": self.direction,
            "metric": self.metric,
            "evals_per_epoch": self.evals_per_epoch,
            "train": self.train,
            "grid": self.grid,
            "provenance": self.provenance,
            "trials": [
                {
                    "params": c.params,
                    "seed": c.seed,
                    "plan": c.plan,
                    "initial_loss": _round(c.initial_loss),
                    "seconds": round(c.seconds[-1], 2) if c.seconds else 0.0,
                    "evals": {
                        "epoch": [round(e, 4) for e in c.epoch],
                        "step": list(c.step),
                        "val_loss": [_round(v) for v in c.val_loss],
                        "metric": [_round(v) for v in c.metric],
                        "seconds": [round(s, 2) for s in c.seconds],
                        **(
                            {
                                "test_loss": [_round(v) for v in c.test_loss],
                                "test_metric": [_round(v) for v in c.test_metric],
                            }
                            if c.test_loss
                            else {}
                        ),
                    },
                }
                for c in self.curves
            ],
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    """``digits`` significant digits: the bank stays small; curves differ far above that."""
    if value is None or not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")


def save(bank: Bank, path: Path) -> Path:
    """Write ``bank`` to ``path`` (gzip when it ends in ``.gz``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(bank.as_dict(), separators=(",", ":"))
    if path.suffix == ".gz":
        # mtime=0: the same bank gives the same bytes (no spurious diffs when re-exported).
        with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(text.encode())
    else:
        path.write_text(text)
    return path


def load(path: Path | str) -> Bank:
    """Read a bank written by :func:`save`; ``ValueError`` names what is wrong with it."""
    path = Path(path)
    raw = path.read_bytes()
    data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: format must be {FORMAT} but got {data.get('format')!r}.")
    curves = []
    for trial in data["trials"]:
        evals = trial["evals"]
        curves.append(
            Curve(
                params=dict(trial["params"]),
                seed=int(trial.get("seed", 0)),
                plan=dict(trial["plan"]),
                initial_loss=trial.get("initial_loss"),
                epoch=tuple(float(x) for x in evals["epoch"]),
                step=tuple(int(x) for x in evals["step"]),
                val_loss=tuple(float(x) for x in evals["val_loss"]),
                metric=tuple(float(x) for x in evals["metric"]),
                seconds=tuple(float(x) for x in evals["seconds"]),
                test_loss=tuple(float(x) for x in evals.get("test_loss", ())),
                test_metric=tuple(float(x) for x in evals.get("test_metric", ())),
            )
        )
    return Bank(
        task=str(data["task"]),
        monitor=str(data["monitor"]),
        direction=str(data["direction"]),
        metric=str(data["metric"]),
        evals_per_epoch=int(data["evals_per_epoch"]),
        train=dict(data["train"]),
        grid={k: list(v) for k, v in data["grid"].items()},
        provenance=dict(data.get("provenance") or {}),
        curves=tuple(curves),
    )


# ----------------------------------------------------------------------------- export


def _column(evals: Sequence[Mapping[str, Any]], name: str) -> tuple[float, ...]:
    """``name`` at every evaluation; empty when some evaluation lacks it."""
    if not evals or any(name not in e for e in evals):
        return ()
    return tuple(float(e[name]) for e in evals)


def export(
    study: optuna.Study,
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    timings: Mapping[str, Mapping[str, Any]] | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Bank:
    """The bank of a finished sweeper study whose trials ran unpruned.

    Args:
        study: A study run by sweeper (trial user attrs ``plan``, ``evals``, ``settings``).
        grid: The values of each searched entry; ``None``: those seen in the trials.
        timings: Measured seconds per trial (see :class:`TimedObjective`), keyed by
            :func:`settings_key`; trials without one get their wall time shared out by steps.
        provenance: Added to the bank's provenance.

    Raises:
        ValueError: a trial was pruned, or the study has no complete trial.
    """
    import optuna

    info = study.user_attrs.get("task_info") or {}
    trials = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    curves = []
    measured = 0
    settings0: dict[str, Any] | None = None
    for t in sorted(trials, key=lambda t: t.number):
        if t.state == optuna.trial.TrialState.FAIL:
            continue  # a failed run has no curve to replay; provenance counts them
        stop = (t.user_attrs.get("best") or {}).get("stop")
        if t.state == optuna.trial.TrialState.PRUNED and stop == "pruned":
            raise ValueError(
                f"trial {t.number} was pruned: a bank needs an unpruned study (pruner=none)."
            )
        settings = dict(t.user_attrs.get("settings") or {})
        settings0 = settings0 or settings
        evals = list(t.user_attrs.get("evals") or [])
        plan = dict(t.user_attrs.get("plan") or {})
        timing = (timings or {}).get(settings_key(settings))
        if timing is not None and len(timing["seconds"]) == len(evals):
            seconds = [float(s) for s in timing["seconds"]]
            initial = timing.get("initial_loss")
            measured += 1
        else:
            total = (
                (t.datetime_complete - t.datetime_start).total_seconds()
                if t.datetime_complete and t.datetime_start
                else 0.0
            )
            last = max(1, int(evals[-1]["step"])) if evals else 1
            seconds = [total * int(e["step"]) / last for e in evals]
            initial = None
        curves.append(
            Curve(
                params=dict(t.params),
                seed=int(settings.get("seed", 0)),
                plan=plan,
                initial_loss=initial,
                epoch=tuple(float(e["epoch"]) for e in evals),
                step=tuple(int(e["step"]) for e in evals),
                val_loss=tuple(float(e["val_loss"]) for e in evals),
                metric=tuple(float(e.get(info.get("metric", ""), math.nan)) for e in evals),
                seconds=tuple(seconds),
                # The test split's curve (data.validation=from_train): judged on, never chosen on.
                test_loss=_column(evals, "test_loss"),
                test_metric=_column(evals, f"test_{info.get('metric', '')}"),
            )
        )
    if not curves:
        raise ValueError(f"study {study.study_name!r} has no finished trial to export.")
    if grid is None:
        grid = {
            name: sorted({c.params[name] for c in curves if name in c.params}, key=_order)
            for name in curves[0].params
        }
    monitor = str(info.get("monitor", "val_loss"))
    fixed = {k: v for k, v in (settings0 or {}).items() if k not in grid}
    n_failed = sum(t.state == optuna.trial.TrialState.FAIL for t in trials)
    return Bank(
        task=str(info.get("task", "")),
        monitor=monitor,
        direction=study.direction.name.lower(),
        metric=str(info.get("metric", "")),
        evals_per_epoch=int(fixed.get("evals_per_epoch", 1)),
        train=fixed,
        grid={k: list(v) for k, v in grid.items()},
        provenance={
            "study": study.study_name,
            "task_info": info,
            "trials_failed": n_failed,
            "seconds": (
                "measured per evaluation"
                if measured == len(curves)
                else f"measured for {measured} of {len(curves)} trials, the rest: trial wall "
                "time shared out by optimizer steps"
            ),
            **dict(provenance or {}),
        },
        curves=tuple(curves),
    )


def _order(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def settings_key(settings: Mapping[str, Any]) -> str:
    """The key of one run's settings (``TrainSettings.as_params()``) in a timings map."""
    return json.dumps(dict(settings), sort_keys=True, default=str)


# ----------------------------------------------------------------------------- recording


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


def grid_points(grid: Mapping[str, Sequence[Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """Every point of ``grid`` in a seeded random order: a recording cut short is still an
    unbiased sample of the grid, not one corner of it."""
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    random.Random(seed).shuffle(points)
    return points


def grid_overrides(grid: Mapping[str, Sequence[Any]]) -> list[str]:
    """``search_space=none``, one categorical entry per grid dimension, every point queued.

    Queued points rather than ``sampler=grid``: the grid sampler, rebuilt per trial by
    sweeper's per-trial seeding, was seen to repeat a point and skip another.
    """
    out = ["search_space=none"]
    for name, values in grid.items():
        choices = ", ".join(json.dumps(v) for v in values)
        out.append(f"+search_space.{name}={{type: categorical, choices: [{choices}]}}")
    queued = ", ".join(
        "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in point.items()) + "}"
        for point in grid_points(grid)
    )
    out.append(f"sweep.enqueue=[{queued}]")
    return out


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["lr=1e-5,3e-5", "scheduler=linear"]`` -> the default grid with those replaced."""
    grid = {k: list(v) for k, v in DEFAULT_GRID.items()}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"--grid entries must look like name=v1,v2 but got {item!r}.")
        grid[name] = [_scalar(v.strip()) for v in values.split(",")]
    return grid


def _scalar(text: str) -> Any:
    """``"2"`` -> 2, ``"1e-4"`` -> 0.0001 (YAML would keep that a string), else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def provenance(argv: Sequence[str]) -> dict[str, Any]:
    """Where and how a bank was made: command, commit, machine, versions, date."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    versions = {}
    for name in ("torch", "transformers", "optuna"):
        with contextlib.suppress(ImportError):
            versions[name] = importlib.import_module(name).__version__
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "command": " ".join(["python -m sweeper.bank", *argv]),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version(),
            **versions,
        },
    }


def record(
    *,
    out: Path,
    results_dir: Path,
    grid: Mapping[str, Sequence[Any]],
    overrides: Sequence[str],
    argv: Sequence[str] = (),
) -> Bank:
    """Run the exhaustive grid study (resuming it if it exists) and export its bank to ``out``.

    Every trial trains its whole schedule: ``pruner=none``, ``train.patience=null`` and
    ``train.divergence_factor=null`` (a replay re-applies divergence from the recorded initial
    loss), every evaluation recorded. ``overrides`` (data, model, train...) come last.
    """
    import optuna

    from sweeper.config import compose
    from sweeper.run import run

    n = math.prod(len(v) for v in grid.values())
    results_dir.mkdir(parents=True, exist_ok=True)
    name_cfg = compose([f"results_dir={results_dir}", *overrides])
    study_name = f"bank-{name_cfg.data.task}"
    log = results_dir / f"{study_name}.timings.jsonl"
    # Class attributes: sweeper builds the objective from its class name, with no other way in.
    TimedObjective.inner = str(name_cfg.objective)
    TimedObjective.log = log
    cfg = compose(
        [
            f"results_dir={results_dir}",
            "objective=sweeper.bank.TimedObjective",
            *grid_overrides(grid),
            "sampler=random",
            "pruner=none",
            "storage=sqlite",
            "tracking=none",
            "train.patience=null",
            "train.divergence_factor=null",
            "sweep.portfolio=none",  # the grid is the whole start (and the bank's identity)
            f"sweep.n_trials={n}",
            f"sweep.study_name={study_name}",
            "quiet=true",
            # The objective named there runs inside TimedObjective (set above).
            *(o for o in overrides if not o.startswith("objective=")),
        ]
    )
    started = time.perf_counter()
    run(cfg)
    wall = time.perf_counter() - started
    storage = f"sqlite:///{results_dir / 'optuna.db'}"
    study = optuna.load_study(study_name=study_name, storage=storage)
    cfg_model = dict(cfg.model)
    data = {
        k: cfg.data.get(k)
        for k in (
            "task",
            "source",
            "max_train_samples",
            "max_eval_samples",
            "max_seq_length",
            "validation",
        )
    }
    bank = export(
        study,
        grid=grid,
        timings=read_timings(log),
        provenance={
            **provenance(argv),
            "data": data,
            "model": {k: cfg_model.get(k) for k in ("name_or_path", "num_hidden_layers")},
            "grid_size": n,
            "wall_s_this_run": round(wall, 1),
            "overrides": list(overrides),
            "note": "GLUE examples are not in the bank: only the curves of our own runs.",
        },
    )
    save(bank, out)
    return bank


def describe(bank: Bank, path: Path) -> str:
    """A few lines on a bank: task, size, best, compute."""
    sizes = " x ".join(f"{len(v)} {k}" for k, v in bank.grid.items())
    sign = 1 if bank.direction == "minimize" else -1
    best = min(  # a run with no finite value last (a NaN key would stop the search)
        bank.curves, key=lambda c: math.inf if math.isnan(v := bank.best_of(c)) else sign * v
    )
    seconds = sum(c.seconds[-1] for c in bank.curves if c.seconds)
    return "\n".join(
        [
            f"{path}: task {bank.task}, {len(bank.curves)} runs ({sizes}), "
            f"{bank.evals_per_epoch} evaluations/epoch, monitor {bank.monitor} ({bank.direction})",
            f"  best {bank.monitor} {bank.best:.4f} with {best.params}",
            f"  compute: {bank.total_epochs:.1f} epochs, {seconds / 60:.1f} min recorded",
        ]
    )
