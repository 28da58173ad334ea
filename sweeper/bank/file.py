"""A learning-curve bank in memory (:class:`Bank`, its :class:`Curve` s) and on disk
(:func:`save`, :func:`load`): the one format that recording writes and replays read.

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

import dataclasses
import functools
import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeper.chance import known_chance, recorded_chance
from sweeper.direction import direction_of

FORMAT = 1
# The default grid: the default search space (conf/search_space/default.yaml) in a few values


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

    def selecting_on(self, objective: str) -> Bank:
        """The bank as a sweep with ``sweep.objective=objective`` sees it: ``val_loss``
        (minimized) or ``metric`` (the bank's task metric, in its own direction)."""
        if objective == "val_loss":
            return dataclasses.replace(self, monitor="val_loss", direction="minimize")
        if objective == "metric":
            return dataclasses.replace(
                self, monitor=self.metric, direction=direction_of(self.metric)
            )
        raise ValueError(f"objective must be 'val_loss' or 'metric' but got {objective!r}.")

    def chance_of(self, name: str) -> float | None:
        """The chance level of ``name`` (``val_loss`` or a metric): the one the objective
        reported when the bank was recorded (``TaskInfo.chance``, in the provenance), else the
        one every task shares (:func:`sweeper.chance.known_chance`); None: unknown."""
        recorded = recorded_chance(self.provenance.get("task_info") or {}, name)
        return recorded if recorded is not None else known_chance(name)

    def values(self, curve: Curve) -> tuple[float, ...]:
        """The monitored value at each evaluation of ``curve``."""
        return curve.val_loss if self.monitor == "val_loss" else curve.metric

    def test_values(self, curve: Curve) -> tuple[float, ...]:
        """The monitored value on the test split at each evaluation (empty: none recorded)."""
        return curve.test_loss if self.monitor == "val_loss" else curve.test_metric

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
    """Read a bank written by :func:`save`; ``ValueError`` names the file and what is wrong
    with it (missing, not gzip or JSON, another format, missing fields)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    except (OSError, ValueError) as err:  # missing, unreadable, not gzip or not JSON
        raise ValueError(f"{path}: cannot read a bank file ({type(err).__name__}).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{path}: format must be {FORMAT} but got {got!r}.")
    try:
        return _bank(data)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a bank file ({type(err).__name__}: {err}).") from None


def _bank(data: dict[str, Any]) -> Bank:
    """A :class:`Bank` from a parsed file (KeyError/TypeError/ValueError: not one)."""
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
