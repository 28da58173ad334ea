"""Recommendation logic: candidates re-run on fresh seeds, the best median, the epoch verdict.

Three disjoint seed sets keep the verdict honest: the sweep's (``train.seed``, which selected the
top trials), the selection's (which picks the candidate and reads its peak epoch) and the
confirmation's (which judges that choice, running the written config as written, and gives the
reported numbers). :func:`recommend_shared` picks one set for several studies by worst regret.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.direction import better, worst
from sweeper.errors import StudyError
from sweeper.formatting import fmt_params, fmt_value
from sweeper.schedule import whole_epochs
from sweeper.secrets import register_url
from sweeper.settings import TrainSettings
from sweeper.trial_record import TrialRecord, ranked, records

if TYPE_CHECKING:
    import optuna

    from sweeper.checks import Checked
    from sweeper.objective import Objective, TaskInfo

log = logging.getLogger("sweeper")


# The shorter schedule counts as "clearly worse" when its mean final value is worse than the
# horizon's, on the same seeds, by more than the larger of this relative margin and the
# horizon runs' seed spread.
CLEARLY_WORSE_REL = 0.02


@dataclass(frozen=True, kw_only=True)
class SeedRun:
    """One training run of a candidate with one seed."""

    seed: int
    best_value: float | None  # best monitored value over evaluations
    best_val_loss: float | None
    best_metric: float | None
    best_epoch: float | None
    final_value: float | None  # at the last evaluation (what a fixed-epoch run ends with)
    final_val_loss: float | None
    final_metric: float | None
    final_test: dict[str, float] = field(default_factory=dict)  # test_* metrics at the end
    stop: str


@dataclass(kw_only=True)
class Candidate:
    """A top trial's settings and its runs over seeds."""

    trial: TrialRecord
    settings: TrainSettings
    runs: list[SeedRun] = field(default_factory=list)

    def values(self, key: str = "best_value") -> list[float]:
        return [v for r in self.runs if (v := getattr(r, key)) is not None and math.isfinite(v)]

    @property
    def median(self) -> float:
        """The median best value over the fresh seeds (the sweep's own value without any)."""
        vals = self.values()
        if not vals:
            return math.nan if self.trial.value is None else float(self.trial.value)
        return statistics.median(vals)

    @property
    def std(self) -> float:
        vals = self.values()
        return statistics.stdev(vals) if len(vals) > 1 else 0.0


def mean_and_std(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


class Session:
    """What every recommendation step needs: the study, its objective and how to train."""

    def __init__(self, checked: Checked, *, study_name: str | None = None) -> None:
        from sweeper.study import load_existing_study, open_storage, storage_identity
        from sweeper.train_once import make_objective, resolve_device

        self.checked = checked
        cfg = checked.cfg
        register_url(str(cfg["storage"].get("url") or ""))
        self.storage_cfg = cfg["storage"]
        self.storage_name = storage_identity(self.storage_cfg)
        storage, _ = open_storage(self.storage_cfg)
        self.name = study_name or checked.sweep.study_name
        self.study: optuna.Study = load_existing_study(self.name, storage)
        self.items = records(self.study)
        self.direction = self.study.direction.name.lower()
        info = dict(self.study.user_attrs.get("task_info") or {})
        self.monitor = str(info.get("monitor", "val_loss"))
        self.metric = str(info.get("metric", "accuracy"))
        self.task_info = info
        self.top = ranked(self.items, direction=self.direction)
        if not self.top:
            counts = {s: sum(r.state == s for r in self.items) for s in ("PRUNED", "FAIL")}
            raise StudyError(
                f"study {self.name!r} has no complete trial ({len(self.items)} trials: "
                f"{counts['PRUNED']} pruned, {counts['FAIL']} failed); run the sweep further "
                "(a larger sweep.n_trials) before asking for a recommendation."
            )
        task = info.get("task")
        data_cfg = dict(cfg["data"])
        if task and data_cfg.get("task") != task:
            data_cfg["task"] = task
        self.objective: Objective = make_objective({**cfg, "data": data_cfg})
        self.device = resolve_device(checked.device)
        # Before anything else (even with nothing to re-run: confirm_seeds=0, or every shared
        # candidate already run in every study): a config written from a study swept on other
        # data or settings would claim results that study never measured.
        self.info: TaskInfo = self._prepare_checked()

    @property
    def best_value(self) -> float:
        """The study's own best value (of its best complete trial)."""
        return float(self.top[0].value)  # type: ignore[arg-type]

    def _prepare_checked(self) -> TaskInfo:
        """Prepare the data, fit the space to it, and refuse a config other than the sweep's.

        The same check, and the same one-line refusal, as resuming the sweep; ``self.checked``
        becomes the fitted config the sweep ran (``num_epochs.high: auto`` fitted to the data).
        """
        from sweeper.checks import fingerprint_of, fit_to_data, monitor_of
        from sweeper.study import check_fingerprint

        info = self.objective.prepare()
        self.checked = fit_to_data(self.checked, num_train=info.num_train)
        monitor = monitor_of(self.checked, info)
        recorded = self.study.user_attrs.get("fingerprint")
        if recorded is not None:
            check_fingerprint(
                self.name, recorded, fingerprint_of(self.checked, info=info, monitor=monitor)
            )
        return info

    def train(self, settings: TrainSettings, *, seed: int) -> SeedRun:
        """One training run (no pruning; early stopping as configured in ``settings``)."""
        from sweeper.train_once import new_reporter, train_once

        run_settings = replace(settings, seed=seed)
        log.info("  training seed %d: %s", seed, fmt_params(self._searched(run_settings)))
        reporter = new_reporter(
            run_settings,
            monitor=self.monitor,
            direction=self.direction,
            chance=self.info.chance.get(self.monitor),
        )
        train_once(self.objective, run_settings, reporter, device=self.device)
        out = reporter.outcome
        last = out.evaluations[-1] if out.evaluations else None
        best = out.best
        return SeedRun(
            seed=seed,
            best_value=None if best is None else best.value,
            best_val_loss=None if best is None else best.val_loss,
            best_metric=None if best is None else best.metrics.get(self.metric),
            best_epoch=None if best is None else best.epoch,
            final_value=None if last is None else last.value,
            final_val_loss=None if last is None else last.val_loss,
            final_metric=None if last is None else last.metrics.get(self.metric),
            final_test={}
            if last is None
            else {k: v for k, v in last.metrics.items() if k.startswith("test_")},
            stop=out.stop,
        )

    def _searched(self, settings: TrainSettings) -> dict[str, Any]:
        flat = settings.as_params()
        return {k: flat.get(k) for k in self.checked.space.names if k in flat} | {
            "num_epochs": settings.num_epochs
        }


@dataclass(kw_only=True)
class Recommendation:
    """What :func:`recommend` decided, with the evidence."""

    study: str
    chosen: Candidate
    candidates: list[Candidate]
    settings: TrainSettings  # the recommended settings (num_epochs set, no early stopping)
    epochs: int
    peak_epochs: int  # where the chosen candidate's runs peaked (median, rounded up)
    horizon: int  # the schedule horizon the chosen trial was trained with
    selection_seeds: list[int]  # the fresh seeds the candidates were re-run on
    confirmation: list[SeedRun]  # the written config, run as written, on held-out seeds
    alternative: list[SeedRun]  # the other schedule (horizon or peak) on the same seeds
    verdict: str
    config_path: Path | None = None
    report_path: Path | None = None

    @property
    def confirm_seeds(self) -> list[int]:
        return [r.seed for r in self.confirmation]


def final_values(runs: Sequence[SeedRun]) -> list[float]:
    return [v for r in runs if (v := r.final_value) is not None and math.isfinite(v)]


def recommend_one(session: Session, *, top_k: int, seeds: int) -> Recommendation:
    """Re-run the top candidates on fresh seeds, pick the best median, confirm the epoch count.

    Three disjoint seed sets: the sweep's (``train.seed``: it selected the top trials), the
    selection's (``seed + 1 ...``: picks the candidate and reads its peak epoch) and the
    confirmation's (``seed + seeds + 1 ...``: judges that choice and gives the reported numbers).
    """
    direction = session.direction
    base_seed = int(session.checked.train.seed)
    selection_seeds = [base_seed + 1 + i for i in range(seeds)]
    confirm_seeds = [base_seed + 1 + seeds + i for i in range(seeds)]
    candidates = []
    for trial in session.top[:top_k]:
        settings = TrainSettings.from_params(trial.settings)
        cand = Candidate(trial=trial, settings=settings)
        log.info("candidate trial %d (%s)", trial.number, fmt_params(trial.params))
        cand.runs = [session.train(settings, seed=seed) for seed in selection_seeds]
        candidates.append(cand)
    sign = 1.0 if direction == "minimize" else -1.0
    chosen = min(candidates, key=lambda c: sign * c.median if math.isfinite(c.median) else math.inf)
    horizon = chosen.settings.num_epochs
    epochs_seen = [r.best_epoch for r in chosen.runs if r.best_epoch is not None]
    if not epochs_seen and chosen.trial.best_epoch is not None:
        epochs_seen = [chosen.trial.best_epoch]  # no seed runs (confirm_seeds=0): the trial's
    peak = min(horizon, whole_epochs(statistics.median(epochs_seen or [horizon])))
    # With no re-runs nothing judges the shorter schedule: the trial's own stays (a peak of 1.5
    # in 3 epochs says nothing of how a 2-epoch schedule, decaying sooner, would end).
    epochs = peak if seeds > 0 else horizon
    # The recommended run trains exactly `epochs` epochs: no early stopping.
    settings = replace(chosen.settings, num_epochs=epochs, patience=None)
    confirmation: list[SeedRun] = []
    alternative: list[SeedRun] = []
    verdict = ""
    if seeds == 0:
        peaked = chosen.trial.best_epoch
        where = "no recorded epoch" if peaked is None else f"epoch {fmt_value(peaked, 2)}"
        verdict = (
            f"no re-runs (recommend.confirm_seeds=0): the trial's own {horizon}-epoch schedule, "
            f"unconfirmed; it peaked at {where}"
        )
        if peak < horizon:
            verdict += (
                f"; a {peak}-epoch schedule was not tried (recommend.confirm_seeds=K judges it)"
            )
    else:
        what = (
            f"final {session.monitor} at the end of training, each schedule run as written "
            f"(no early stopping) on held-out seeds {', '.join(map(str, confirm_seeds))}"
        )
        log.info("confirming num_epochs=%d on held-out seeds %s", epochs, confirm_seeds)
        confirmation = [session.train(settings, seed=s) for s in confirm_seeds]
        mean, _ = mean_and_std(final_values(confirmation))
        if epochs == horizon:
            verdict = (
                f"the runs peaked at the schedule's end ({horizon} epochs): {what}: "
                f"{fmt_value(mean)}"
            )
        else:
            log.info("against the %d-epoch horizon on the same seeds", horizon)
            longer = replace(chosen.settings, num_epochs=horizon, patience=None)
            alternative = [session.train(longer, seed=s) for s in confirm_seeds]
            long_mean, long_std = mean_and_std(final_values(alternative))
            margin = max(CLEARLY_WORSE_REL * abs(long_mean), long_std)
            compared = (
                f"{what}: {epochs} epochs {fmt_value(mean)} vs {horizon} epochs "
                f"{fmt_value(long_mean)}"
            )
            if math.isfinite(long_mean) and (
                not math.isfinite(mean) or better(long_mean + sign * margin, mean, direction)
            ):
                verdict = (
                    f"{compared}; the {epochs}-epoch schedule is clearly worse: keeping {horizon}"
                )
                settings = longer
                epochs = horizon
                confirmation, alternative = alternative, confirmation
            else:
                verdict = f"{compared}; the {epochs}-epoch schedule holds"
    return Recommendation(
        study=session.name,
        chosen=chosen,
        candidates=candidates,
        settings=settings,
        epochs=epochs,
        peak_epochs=peak,
        horizon=horizon,
        selection_seeds=selection_seeds,
        confirmation=confirmation,
        alternative=alternative,
        verdict=verdict,
    )


@dataclass(kw_only=True)
class SharedRecommendation:
    studies: list[str]
    tasks: list[str]
    settings: TrainSettings
    chosen_from: str  # "study #trial"
    table: list[dict[str, Any]]  # per task: own best, shared value, regret
    candidates: list[dict[str, Any]]  # per candidate: worst regret
    config_path: Path | None = None
    report_path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class _Row:
    owner: str
    trial: TrialRecord
    values: dict[str, float]  # study -> best value of this candidate there
    regrets: dict[str, float]

    @property
    def worst(self) -> float:
        return max(self.regrets.values())


def regret(value: float, best: float, direction: str) -> float:
    """Relative regret of ``value`` against the task's own ``best`` (0 = as good as its best)."""
    scale = abs(best) if best else 1.0
    return (value - best) / scale if direction == "minimize" else (best - value) / scale


def recommend_shared(sessions: list[Session], *, top_k: int) -> SharedRecommendation:
    """One default set for several studies: the candidate with the least worst-case regret."""
    directions = {s.direction for s in sessions}
    if len(directions) != 1:
        raise StudyError("recommend.studies must all optimize the same direction.")
    direction = directions.pop()
    pool: list[tuple[Session, TrialRecord]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    for s in sessions:
        for trial in s.top[:top_k]:
            key = tuple(sorted((k, repr(v)) for k, v in trial.params.items()))
            if key not in seen:
                seen.add(key)
                pool.append((s, trial))
    rows: list[_Row] = []
    for owner, trial in pool:
        values: dict[str, float] = {}
        for s in sessions:
            same = next((t for t in s.top if t.params == trial.params), None)
            if same is not None and same.value is not None:
                values[s.name] = same.value
            else:
                run = s.train(TrainSettings.from_params(trial.settings), seed=s.checked.train.seed)
                value = run.best_value
                if value is None or not math.isfinite(value):
                    value = worst(direction)  # the re-run failed there: worst, either way
                values[s.name] = value
        regrets = {s.name: regret(values[s.name], s.best_value, direction) for s in sessions}
        rows.append(_Row(owner=owner.name, trial=trial, values=values, regrets=regrets))
    best_row = min(rows, key=lambda r: r.worst)
    trial = best_row.trial
    table = [
        {
            "study": s.name,
            "task": s.task_info.get("task"),
            "own_best": s.best_value,
            "shared": best_row.values[s.name],
            "regret": best_row.regrets[s.name],
        }
        for s in sessions
    ]
    return SharedRecommendation(
        studies=[s.name for s in sessions],
        tasks=[str(s.task_info.get("task")) for s in sessions],
        settings=replace(TrainSettings.from_params(trial.settings), patience=None),
        chosen_from=f"{best_row.owner} #{trial.number}",
        table=table,
        candidates=[
            {
                "from": f"{r.owner} #{r.trial.number}",
                "worst_regret": r.worst,
                "params": r.trial.params,
            }
            for r in rows
        ],
    )


def test_metrics(runs: Sequence[SeedRun]) -> dict[str, tuple[float, float]]:
    """Mean and std of each ``test_*`` metric at the end of ``runs`` (held-out test split)."""
    keys = sorted({k for r in runs for k in r.final_test})
    return {k: mean_and_std([r.final_test[k] for r in runs if k in r.final_test]) for k in keys}


__all__ = [
    "Candidate",
    "Recommendation",
    "SeedRun",
    "Session",
    "SharedRecommendation",
    "final_values",
    "mean_and_std",
    "recommend_one",
    "recommend_shared",
    "regret",
    "test_metrics",
]
