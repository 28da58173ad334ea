"""The arms of figure 7 (:mod:`scripts.bench_recipes`), each run and costed the same way: a
published recipe's grid over the seeds (:func:`run_recipe`) and sweeper's default sweep with its
recommendation (:func:`run_sweeper`), every run's epochs counted into the arm.

Separate from the benchmark's tasks, table and verdict: what an arm runs is read here alone.
"""

from __future__ import annotations

import contextlib
import math
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scripts import _bench

# Evaluations (= epochs: recipes evaluate once per epoch) without improvement of the validation
# metric before a recipe's early stopping ends a run; the papers fix none. 2 stops tiny-data
# runs whose metric sits flat at the majority class's for the first epochs (MRPC's F1) after 3.
PATIENCE = 5


@dataclass(frozen=True)
class Recipe:
    name: str
    lrs: tuple[float, ...]
    epochs: int
    warmup: float
    early_stopping: bool


RECIPES = (
    Recipe("bert", (5e-5, 3e-5, 2e-5), 3, 0.1, False),
    Recipe("roberta", (1e-5, 2e-5, 3e-5), 10, 0.06, True),
    Recipe("mosbach", (2e-5,), 20, 0.1, True),
)


@dataclass
class Run:
    """One training run's reported evaluation and its cost."""

    seed: int
    lr: float
    metric: float  # validation (carved from train) task metric
    val_loss: float
    test_metric: float  # GLUE dev, never used for a choice
    test_loss: float
    epochs: float  # trained
    best_epoch: float


@dataclass
class Arm:
    name: str
    runs: list[Run] = field(default_factory=list)  # the reported runs (one per seed)
    epochs: float = 0.0  # compute: every run the arm needed
    seconds: float = 0.0
    note: str = ""

    def stat(self, key: str) -> tuple[float, float]:
        vals = [getattr(r, key) for r in self.runs if math.isfinite(getattr(r, key))]
        if not vals:
            return math.nan, math.nan
        return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def _run_of(outcome: Any, *, seed: int, lr: float, metric: str, last: bool) -> Run:
    evals = outcome.evaluations
    if not evals:
        nan = math.nan
        return Run(seed, lr, nan, nan, nan, nan, 0.0, nan)
    chosen = evals[-1] if last or outcome.best is None else outcome.best
    return Run(
        seed=seed,
        lr=lr,
        metric=float(chosen.metrics.get(metric, math.nan)),
        val_loss=float(chosen.val_loss),
        test_metric=float(chosen.metrics.get(f"test_{metric}", math.nan)),
        test_loss=float(chosen.metrics.get("test_loss", math.nan)),
        epochs=float(evals[-1].epoch),
        best_epoch=float(chosen.epoch),
    )


def run_recipe(
    recipe: Recipe, *, base: list[str], seeds: Sequence[int], patience: int = PATIENCE
) -> Arm:
    """The recipe's grid over ``seeds``; the lr with the best mean validation metric wins."""
    from sweeper.checks import check
    from sweeper.config import compose
    from sweeper.direction import direction_of
    from sweeper.train_once import make_objective, new_reporter, resolve_device, train_once

    started = time.perf_counter()
    checked = check(
        compose(
            [
                *base,
                "train.batch_size=32",
                "train.scheduler=linear",
                "train.evals_per_epoch=1",
                f"train.warmup_ratio={recipe.warmup}",
                f"train.num_epochs={recipe.epochs}",
                f"train.patience={patience if recipe.early_stopping else 'null'}",
            ]
        )
    )
    objective = make_objective(checked.cfg)
    info = objective.prepare()
    metric = info.metric
    direction = direction_of(metric)
    device = resolve_device(checked.device)
    by_lr: dict[float, list[Run]] = {}
    arm = Arm(recipe.name)
    for lr in recipe.lrs:
        for seed in seeds:
            settings = replace(checked.train, lr=lr, seed=seed)
            reporter = new_reporter(
                settings, monitor=metric, direction=direction, chance=info.chance.get(metric)
            )
            train_once(objective, settings, reporter, device=device)
            run = _run_of(
                reporter.outcome, seed=seed, lr=lr, metric=metric, last=not recipe.early_stopping
            )
            arm.epochs += run.epochs
            by_lr.setdefault(lr, []).append(run)
            print(
                f"  .. {recipe.name} lr {lr:g} seed {seed}: {run.epochs:g} epochs, "
                f"{time.perf_counter() - started:.0f}s",
                file=sys.__stderr__,
                flush=True,
            )
    sign = 1.0 if direction == "maximize" else -1.0

    def mean_metric(lr: float) -> float:
        vals = [r.metric for r in by_lr[lr] if math.isfinite(r.metric)]
        return sign * statistics.fmean(vals) if vals else -math.inf

    best_lr = max(by_lr, key=mean_metric)
    arm.runs = by_lr[best_lr]
    arm.note = f"lr {best_lr:g}" + (f" of {len(recipe.lrs)}" if len(recipe.lrs) > 1 else "")
    arm.seconds = time.perf_counter() - started
    return arm


@contextlib.contextmanager
def counted_epochs() -> Iterator[list[float]]:
    """Epochs trained by every ``train_once`` call of the sweep and the recommendation."""
    import sweeper.sweep
    import sweeper.train_once

    spent: list[float] = []
    original = sweeper.train_once.train_once

    def counting(*args: Any, **kwargs: Any) -> Any:
        reporter = original(*args, **kwargs)
        evals = reporter.outcome.evaluations
        spent.append(float(evals[-1].epoch) if evals else 0.0)
        return reporter

    sweeper.train_once.train_once = counting  # type: ignore[assignment]
    sweeper.sweep.train_once = counting  # type: ignore[assignment]
    try:
        yield spent
    finally:
        sweeper.train_once.train_once = original  # type: ignore[assignment]
        sweeper.sweep.train_once = original  # type: ignore[assignment]


def run_sweeper(*, base: list[str], work: Path, task: str) -> tuple[Arm, dict[str, Any]]:
    """The default sweep, then ``recommend`` at its defaults; the confirmation runs reported."""
    import optuna

    from sweeper.config import compose
    from sweeper.recommend import recommend
    from sweeper.run import run

    started = time.perf_counter()
    overrides = [
        "+experiment=glue",
        *base,
        f"results_dir={work / ('sweeper-' + task)}",
        "tracking=none",
        f"sweep.study_name={_bench.unique('recipes-' + task)}",
    ]
    with counted_epochs() as spent, _bench.silenced():
        run(compose(overrides))
        rec = recommend(compose(overrides))
    from sweeper.recommend.selection import Recommendation

    assert isinstance(rec, Recommendation)
    study = optuna.load_study(
        study_name=overrides[-1].split("=", 1)[1],
        storage=f"sqlite:///{work / ('sweeper-' + task) / 'optuna.db'}",
    )
    from sweeper.direction import better

    direction = study.direction.name.lower()
    complete = [t for t in study.trials if t.state.name == "COMPLETE" and t.value is not None]
    default = next((t for t in study.trials if t.number == 0), None)
    beat = [
        t
        for t in complete
        if t.number != 0
        and default is not None
        and default.value is not None
        and better(float(t.value), float(default.value), direction)  # type: ignore[arg-type]
    ]
    sweep_facts = {
        "trials": len(study.trials),
        "pruned": sum(t.state.name == "PRUNED" for t in study.trials),
        "best_trial": study.best_trial.number if complete else None,
        "default_value": None if default is None else default.value,
        "default_state": None if default is None else default.state.name,
        "searched_beat_default": len(beat),
        "epoch_range": _epoch_range(study),
        "recommended": {
            k: v
            for k, v in rec.settings.as_params().items()
            if k in ("lr", "warmup_ratio", "num_epochs", "scheduler")
        },
        "verdict": rec.verdict,
    }
    arm = Arm("sweeper", epochs=sum(spent))
    key = study.user_attrs.get("task_info", {}).get("metric", "accuracy")
    for r in rec.confirmation:
        arm.runs.append(
            Run(
                seed=r.seed,
                lr=rec.settings.lr,
                metric=float(r.final_metric) if r.final_metric is not None else math.nan,
                val_loss=float(r.final_val_loss) if r.final_val_loss is not None else math.nan,
                test_metric=float(r.final_test.get(f"test_{key}", math.nan)),
                test_loss=float(r.final_test.get("test_loss", math.nan)),
                epochs=float(rec.epochs),
                best_epoch=float(rec.epochs),
            )
        )
    arm.seconds = time.perf_counter() - started
    arm.note = ", ".join(
        f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
        for k, v in (sweep_facts["recommended"].items())
    )
    return arm, sweep_facts


def _epoch_range(study: Any) -> str | None:
    """The searched num_epochs range as the study recorded it (after fitting to the data)."""
    for t in study.trials:
        dist = t.distributions.get("num_epochs")
        if dist is not None:
            return f"{dist.low}-{dist.high}"
    return None
