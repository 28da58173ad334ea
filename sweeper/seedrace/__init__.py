"""Seed robustness: start several seeds, keep the best past an early evaluation, count failures.

Fine-tuning on small data fails on some seeds (Dodge et al. 2020; Mosbach et al. 2021): the
same settings end near chance on one seed and fine on the next. ``python -m sweeper.seedrace``
runs the configured training settings (e.g. ``+recommended=NAME``) as Dodge et al.'s
start-many-stop-early race:

1. every one of ``race.seeds`` seeds trains up to the early evaluation (``race.early`` of the
   schedule, rounded up to an evaluation) under the **full** schedule, so its LR curve is the
   one a full run has;
2. the ``race.keep`` best at that evaluation (the monitored value) are trained to the end. A
   run cannot be resumed, so a kept seed is trained again from the start: the same seed gives
   the same first part, and the race costs ``seeds x early + keep`` schedules.

A seed **fails** when its task metric (at the end for kept seeds, at the early evaluation for
the others) is within :data:`FAIL_MARGIN` of the chance level the objective reports (the best
constant prediction: the majority class's accuracy, MCC 0...). The failure rate says whether
the defaults are safe on this data, or need several seeds. A dropped seed still at chance at
the early evaluation is **undecided**, not failed, where a kept seed was at chance there too
and learned later: on small data a whole schedule can open on a plateau at chance, and the
early evaluation was too early to tell.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from sweeper.direction import Direction, direction_of
from sweeper.formatting import fmt_params, fmt_value
from sweeper.rules import Range, Rule, check_node
from sweeper.settings import TrainSettings
from sweeper.train_once import make_objective, new_reporter, resolve_device, train_once

if TYPE_CHECKING:
    from omegaconf import DictConfig

    from sweeper.objective import Objective
    from sweeper.trial_reporter import Outcome

log = logging.getLogger("sweeper")

# A seed whose task metric is within this of the chance level has failed (learned nothing).
FAIL_MARGIN = 0.02
SHOWN = ("lr", "warmup_ratio", "num_epochs", "scheduler", "batch_size", "patience")
RACE_RULES: dict[str, Rule] = {
    "seeds": Range(2, integer=True),
    "keep": Range(1, integer=True),
    "early": Range(0, 1, low_open=True, high_open=True),
}


@dataclass(frozen=True, kw_only=True)
class SeedOutcome:
    """One seed of the race: at the early evaluation and (kept seeds) at the end."""

    seed: int
    early_value: float  # the monitored value at the early evaluation
    early_metric: float | None
    kept: bool
    final_value: float | None = None  # at the last evaluation of the full run
    final_metric: float | None = None
    best_value: float | None = None  # best over the full run's evaluations
    epochs: float = 0.0  # trained, both phases

    @property
    def metric(self) -> float | None:
        """The task metric the failure is judged on: final if kept, else early."""
        return self.final_metric if self.kept else self.early_metric


@dataclass(kw_only=True)
class Race:
    """What a seed race found."""

    settings: TrainSettings
    monitor: str
    direction: str
    metric: str
    early_eval: int  # the evaluation index the race judged at
    early_epoch: float
    chance: float | None  # the metric of the best constant prediction; None: unknown
    seeds: list[SeedOutcome] = field(default_factory=list)

    def _near_chance(self, value: float | None) -> bool:
        assert self.chance is not None
        return value is None or not math.isfinite(value) or value <= self.chance + FAIL_MARGIN

    def failed(self, outcome: SeedOutcome) -> bool | None:
        """Whether ``outcome`` ended near chance; ``None`` without a chance level, or for a
        dropped seed that is :meth:`undecided`."""
        if self.chance is None:
            return None
        if self.undecided(outcome):
            return None
        return self._near_chance(outcome.metric)

    def undecided(self, outcome: SeedOutcome) -> bool:
        """A dropped seed at chance at the early evaluation, where a kept seed was at chance
        there too and learned by the end: the early evaluation could not tell it failed."""
        if self.chance is None or outcome.kept or not self._near_chance(outcome.early_metric):
            return False
        return any(
            self._near_chance(k.early_metric) and not self._near_chance(k.final_metric)
            for k in self.kept
        )

    @property
    def failures(self) -> int:
        return sum(bool(self.failed(s)) for s in self.seeds)

    @property
    def undecided_count(self) -> int:
        return sum(self.undecided(s) for s in self.seeds)

    @property
    def kept(self) -> list[SeedOutcome]:
        return [s for s in self.seeds if s.kept]

    @property
    def epochs(self) -> float:
        return sum(s.epochs for s in self.seeds)

    def _values(self, value: float | None, metric: float | None) -> str:
        """``<monitor> v, <metric> m``, or one of them where the race monitors the metric."""
        if self.monitor == self.metric:
            return f"{self.metric} {fmt_value(metric)}"
        return f"{self.monitor} {fmt_value(value)}, {self.metric} {fmt_value(metric)}"

    def lines(self) -> list[str]:
        """The race's summary, as printed."""
        n, kept = len(self.seeds), self.kept
        finals = [s.final_metric for s in kept if s.final_metric is not None]
        mean = statistics.fmean(finals) if finals else math.nan
        std = statistics.stdev(finals) if len(finals) > 1 else 0.0
        shown = {k: v for k, v in self.settings.as_params().items() if k in SHOWN}
        out = [
            f"{'=' * 30} seed race {'=' * 30}",
            f"settings: {fmt_params(shown)}",
            f"race:     {n} seeds to evaluation {self.early_eval} (epoch "
            f"{fmt_value(self.early_epoch, 2)}), the best {len(kept)} by {self.monitor} "
            f"trained to the end ({fmt_value(self.epochs, 3)} epochs in all)",
        ]
        for s in self.seeds:
            state = "kept" if s.kept else "dropped"
            failed = self.failed(s)
            flag = (
                " FAILED (near chance)"
                if failed
                else " undecided (at chance this early, as a kept seed that learned later)"
                if self.undecided(s)
                else ""
            )
            final = f"; end: {self._values(s.final_value, s.final_metric)}" if s.kept else ""
            out.append(
                f"  seed {s.seed}: early {self._values(s.early_value, s.early_metric)} "
                f"({state}){final}{flag}"
            )
        out.append(
            f"kept:     {self.metric} at the end {fmt_value(mean)} ± {fmt_value(std)} over "
            f"{len(finals)} seed(s)"
        )
        if self.chance is None:
            out.append("failures: not judged (the objective reports no chance level)")
        else:
            judged = n - self.undecided_count
            rate = self.failures / judged if judged else 0.0
            verdict = (
                "no seed failed: the settings look safe on this data"
                if not self.failures
                else "every seed failed: these settings do not learn this task"
                if self.failures == n
                else "some seeds fail with these settings: train several seeds and keep the "
                "best (this race), or try a lower lr or a longer warmup"
            )
            undecided = (
                f"; {self.undecided_count} undecided (at chance at the early evaluation, as "
                "a kept seed that learned later: set a later race.early to judge them)"
                if self.undecided_count
                else ""
            )
            out.append(
                f"failures: {self.failures} of {judged} judged seeds ({rate:.0%}) ended within "
                f"{FAIL_MARGIN} of chance ({self.metric} {fmt_value(self.chance)}; kept seeds "
                f"judged at the end, dropped ones at the early evaluation){undecided}: {verdict}"
            )
        return out


def early_evaluation(settings: TrainSettings, *, early: float) -> int:
    """The evaluation index (1-based) at ``early`` of the schedule, rounded up."""
    total = settings.num_epochs * settings.evals_per_epoch
    return min(total, max(1, math.ceil(early * total - 1e-9)))


def _stop_at(index: int) -> Any:
    """A prune hook that stops the run at its ``index``-th evaluation (the race's checkpoint)."""
    seen = [0]

    def hook(value: float, step: int, last: bool) -> bool:
        seen[0] += 1
        return seen[0] >= index and not last

    return hook


def _metric(outcome: Outcome, metric: str, *, at: int | None = None) -> tuple[float, float | None]:
    evals = outcome.evaluations
    if not evals:
        return math.nan, None
    ev = evals[-1] if at is None else evals[min(at, len(evals)) - 1]
    return float(ev.value), (None if metric not in ev.metrics else float(ev.metrics[metric]))


def race(
    objective: Objective,
    settings: TrainSettings,
    *,
    seeds: Sequence[int],
    keep: int,
    early: float,
    monitor: str,
    metric: str,
    levels: Mapping[str, float],
    device: str,
    metric_direction: Direction | None = None,
) -> Race:
    """Run the race (see the module docstring) through the one training path.

    Args:
        objective: A prepared objective.
        settings: The settings every seed trains with (only ``seed`` changes).
        seeds: The seeds started.
        keep: How many are trained to the end (the best at the early evaluation).
        early: The early evaluation as a fraction of the schedule.
        monitor: ``val_loss`` or the metric name, as a sweep monitors it.
        metric: The task's main metric (failures are judged on it).
        levels: The task's chance levels (``TaskInfo.chance``): the metric's judges failures,
            the monitored value's keeps early stopping waiting while a seed is at chance.
        device: Where to train.
        metric_direction: The objective's declared direction of ``metric`` (None: by name).
    """
    direction = direction_of(monitor, declared=metric_direction)
    index = early_evaluation(settings, early=early)
    chance = None if levels.get(metric) is None else float(levels[metric])
    result = Race(
        settings=settings,
        monitor=monitor,
        direction=direction,
        metric=metric,
        early_eval=index,
        early_epoch=index / settings.evals_per_epoch,
        chance=chance,
    )
    early_runs: dict[int, Outcome] = {}
    for seed in seeds:
        log.info("seed race: seed %d to evaluation %d", seed, index)
        reporter = new_reporter(
            replace(settings, seed=seed),
            monitor=monitor,
            direction=direction,
            chance=levels.get(monitor),
            prune=_stop_at(index),
        )
        early_runs[seed] = train_once(
            objective, replace(settings, seed=seed), reporter, device=device
        ).outcome

    def early_key(seed: int) -> float:
        value, _ = _metric(early_runs[seed], metric, at=index)
        if not math.isfinite(value):
            return math.inf
        return value if direction == "minimize" else -value

    ranked = sorted(seeds, key=early_key)
    kept = set(ranked[:keep])
    for seed in seeds:
        outcome = early_runs[seed]
        value, early_metric = _metric(outcome, metric, at=index)
        spent = float(outcome.epochs_trained or 0.0)
        if seed not in kept:
            result.seeds.append(
                SeedOutcome(
                    seed=seed,
                    early_value=value,
                    early_metric=early_metric,
                    kept=False,
                    epochs=spent,
                )
            )
            continue
        log.info("seed race: seed %d to the end", seed)
        full = replace(settings, seed=seed)
        reporter = new_reporter(
            full, monitor=monitor, direction=direction, chance=levels.get(monitor)
        )
        end = train_once(objective, full, reporter, device=device).outcome
        final_value, final_metric = _metric(end, metric)
        result.seeds.append(
            SeedOutcome(
                seed=seed,
                early_value=value,
                early_metric=early_metric,
                kept=True,
                final_value=final_value,
                final_metric=final_metric,
                best_value=None if end.best is None else end.best.value,
                epochs=spent + float(end.epochs_trained or 0.0),
            )
        )
    return result


def seed_race(cfg: DictConfig | Mapping[str, Any]) -> Race:
    """``python -m sweeper.seedrace``: the race the config describes; prints it, returns it."""
    from sweeper.checks import check, monitor_of
    from sweeper.errors import ConfigError
    from sweeper.progress import quiet_libraries

    quiet_libraries()
    checked = check(cfg)
    rcfg = dict(checked.cfg.get("race") or {})
    check_node("race", rcfg, RACE_RULES)
    n, keep, early = int(rcfg["seeds"]), int(rcfg["keep"]), float(rcfg["early"])
    if keep > n:
        raise ConfigError(f"race.keep must be <= race.seeds ({n}) but got {keep}.")
    objective = make_objective(checked.cfg)
    info = objective.prepare()
    settings = checked.train
    settings.check_schedule(info.num_train)
    monitor = monitor_of(checked, info)
    base = int(settings.seed)
    result = race(
        objective,
        settings,
        seeds=[base + i for i in range(n)],
        keep=keep,
        early=early,
        monitor=monitor,
        metric=info.metric,
        metric_direction=info.metric_direction,
        levels=info.chance,
        device=resolve_device(checked.device),
    )
    print("\n".join(result.lines()), flush=True)
    return result


__all__ = ["FAIL_MARGIN", "Race", "SeedOutcome", "early_evaluation", "race", "seed_race"]
