"""From a finished study to defaults you can use: epochs, warmup, LR, scheduler (and the rest).

``python -m sweeper.recommend`` takes the same overrides as the sweep (so it finds the same
study; a config that differs from the sweep's is refused) and:

1. re-runs the ``top_k`` best trials on ``confirm_seeds`` **fresh** seeds (never the seed the
   sweep selected them on) and picks the one with the best **median** (robustness over a lucky
   seed), reporting the seed spread;
2. reads the epoch count off where those runs peaked. A trial early-stopped at epoch 2 of 4 was
   trained under a 4-epoch schedule; "use 2 epochs" is a different, shorter schedule. So the
   **confirmation** trains the written config as written (``num_epochs`` set, no early
   stopping) for both candidates, the peak and the horizon, on the same held-out seeds (neither
   the sweep's nor the selection's), and compares their **final** values: like with like. The
   shorter schedule is kept unless it is clearly worse;
3. writes a ``+recommended=NAME`` Hydra config and a Markdown report with plots, also logged
   to the study's MLflow parent run. With ``data.validation=from_train`` the GLUE dev set is a
   test set: the confirmation's ``test_*`` metrics are reported too.

With ``recommend.studies=[a,b,...]`` it recommends one shared set for several studies (one per
task): the candidate minimizing the worst relative regret across them.
"""

from __future__ import annotations

import logging
import math
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sweeper.config import CONF_DIR
from sweeper.direction import better, monitored
from sweeper.errors import ConfigError, StudyError, SweeperError
from sweeper.progress import fmt_params
from sweeper.results import TrialRecord, ranked, records
from sweeper.secrets import redact, register_url
from sweeper.settings import TrainSettings

if TYPE_CHECKING:
    import optuna
    from omegaconf import DictConfig

    from sweeper.checks import Checked
    from sweeper.objective import Objective, TaskInfo
    from sweeper.tracking import Tracker

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


def _stats(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


class Session:
    """What every recommendation step needs: the study, its objective and how to train."""

    def __init__(self, checked: Checked, *, study_name: str | None = None) -> None:
        from sweeper.study import load_existing_study, open_storage, storage_identity
        from sweeper.training import make_objective, resolve_device

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
        self._info: TaskInfo | None = None
        self.device = resolve_device(checked.device)

    @property
    def best_value(self) -> float:
        """The study's own best value (of its best complete trial)."""
        return float(self.top[0].value)  # type: ignore[arg-type]

    @property
    def info(self) -> TaskInfo:
        """The prepared data, once it is checked to be what the study was swept on."""
        if self._info is None:
            from sweeper.study import check_fingerprint, data_fingerprint, study_fingerprint

            info = self.objective.prepare()
            cfg = self.checked.cfg
            monitor = monitored(self.checked.sweep.objective, metric=info.metric)
            recorded = self.study.user_attrs.get("fingerprint")
            if recorded is not None:
                # The same check, and the same one-line refusal, as resuming the sweep: seeds
                # retrained on other data or settings would be compared with the study's values.
                check_fingerprint(
                    self.name,
                    recorded,
                    study_fingerprint(
                        search_space=cfg.get("search_space"),
                        train=self.checked.train,
                        data=data_fingerprint({**cfg["data"], "task": info.task}, info),
                        model=cfg["model"],
                        objective=f"{cfg.get('objective')}:{monitor}",
                    ),
                )
            self._info = info
        return self._info

    def train(self, settings: TrainSettings, *, seed: int) -> SeedRun:
        """One training run (no pruning; early stopping as configured in ``settings``)."""
        from sweeper.training import new_reporter, train_once

        _ = self.info
        run_settings = replace(settings, seed=seed)
        log.info("  training seed %d: %s", seed, fmt_params(self._searched(run_settings)))
        reporter = new_reporter(run_settings, monitor=self.monitor, direction=self.direction)
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


# ----------------------------------------------------------------------------- one study


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


def _final(runs: Sequence[SeedRun]) -> list[float]:
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
    peak = min(horizon, max(1, math.ceil(round(statistics.median(epochs_seen or [horizon]), 9))))
    epochs = peak
    # The recommended run trains exactly `epochs` epochs: no early stopping.
    settings = replace(chosen.settings, num_epochs=epochs, patience=None)
    confirmation: list[SeedRun] = []
    alternative: list[SeedRun] = []
    verdict = ""
    if seeds > 0:
        what = (
            f"final {session.monitor} at the end of training, each schedule run as written "
            f"(no early stopping) on held-out seeds {', '.join(map(str, confirm_seeds))}"
        )
        log.info("confirming num_epochs=%d on held-out seeds %s", epochs, confirm_seeds)
        confirmation = [session.train(settings, seed=s) for s in confirm_seeds]
        mean, _ = _stats(_final(confirmation))
        if epochs == horizon:
            verdict = (
                f"the runs peaked at the schedule's end ({horizon} epochs): {what}: {_fmt(mean)}"
            )
        else:
            log.info("against the %d-epoch horizon on the same seeds", horizon)
            longer = replace(chosen.settings, num_epochs=horizon, patience=None)
            alternative = [session.train(longer, seed=s) for s in confirm_seeds]
            long_mean, long_std = _stats(_final(alternative))
            margin = max(CLEARLY_WORSE_REL * abs(long_mean), long_std)
            compared = f"{what}: {epochs} epochs {_fmt(mean)} vs {horizon} epochs {_fmt(long_mean)}"
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


# ----------------------------------------------------------------------------- across tasks


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
                values[s.name] = run.best_value if run.best_value is not None else math.inf
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


# ----------------------------------------------------------------------------- outputs


def config_delta(settings: TrainSettings, *, keys: Sequence[str]) -> dict[str, Any]:
    """The ``train`` values to set: every searched key, num_epochs, scheduler parameters."""
    flat = settings.as_params()
    wanted = dict.fromkeys(["lr", "warmup_ratio", "num_epochs", "scheduler", *keys])
    train: dict[str, Any] = {}
    for key in wanted:
        if key in flat and not key.startswith("scheduler_kwargs."):
            train[key] = flat[key]
        if key == "scheduler" and settings.active_scheduler_kwargs():
            train["scheduler_kwargs"] = settings.active_scheduler_kwargs()
    train["patience"] = None  # a recommended run trains exactly num_epochs epochs
    return train


def write_config(train: Mapping[str, Any], *, path: Path, header: Sequence[str]) -> Path:
    """A ``# @package _global_`` Hydra config usable as ``+recommended=NAME``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# @package _global_", *[f"# {h}" for h in header]]
    body = yaml.safe_dump({"train": dict(train)}, sort_keys=False, default_flow_style=False)
    path.write_text("\n".join(lines) + "\n" + body)
    return path


def recommended_dir(config_dir: str | None, *, results_dir: Path) -> Path:
    """Where ``+recommended=NAME`` configs go: ``<config folder>/recommended``.

    ``recommend.config_dir`` names a Hydra config folder (``recommended/`` is made in it), or
    that ``recommended`` folder itself; null: ``<results_dir>/conf``. Never the installed
    package's own ``conf/``: results stay with the user's other results.
    """
    root = Path(config_dir) if config_dir else results_dir / "conf"
    return root if root.name == "recommended" else root / "recommended"


def use_command(path: Path, overrides: Sequence[str], *, delta: Mapping[str, Any]) -> str:
    """The command that trains with the written config: the sweep's own overrides, minus those
    the config sets (a command-line ``train.lr=...`` would beat the config group's value)."""
    import shlex

    set_here = {f"train.{key}" for key in delta}
    kept = [
        o
        for o in overrides
        if not o.startswith("recommend.")
        and not any(o.lstrip("+~").startswith((k + "=", k + ".")) for k in set_here)
    ]
    if path.parent.resolve() != (CONF_DIR / "recommended").resolve():
        # Hydra finds `+recommended=NAME` as recommended/NAME.yaml under a config folder.
        assert path.parent.name == "recommended", path
        kept.append(f"hydra.searchpath=[file://{path.parent.parent.resolve()}]")
    return shlex.join(["python", "-m", "sweeper.train", *kept, f"+recommended={path.stem}"])


def _seed_table(cands: Sequence[Candidate], metric: str, monitor: str) -> list[str]:
    lines = [
        f"| candidate | in the sweep | fresh seeds | median {monitor} | mean ± std | min | max | "
        f"{metric} mean | best epochs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cands:
        vals = c.values()
        mean, std = _stats(vals)
        mmean, _ = _stats(c.values("best_metric"))
        epochs = ", ".join(_fmt(r.best_epoch, 2) for r in c.runs)
        lines.append(
            f"| trial {c.trial.number} | {_fmt(c.trial.value)} | {len(vals)} | "
            f"{_fmt(c.median)} | {_fmt(mean)} ± "
            f"{_fmt(std)} | {_fmt(min(vals) if vals else None)} | "
            f"{_fmt(max(vals) if vals else None)} | {_fmt(mmean)} | {epochs} |"
        )
    return lines


def _mean_std(values: Sequence[float | None]) -> str:
    mean, std = _stats([v for v in values if v is not None and math.isfinite(v)])
    return f"{_fmt(mean)} ± {_fmt(std)}"


def test_metrics(runs: Sequence[SeedRun]) -> dict[str, tuple[float, float]]:
    """Mean and std of each ``test_*`` metric at the end of ``runs`` (held-out test split)."""
    keys = sorted({k for r in runs for k in r.final_test})
    return {k: _stats([r.final_test[k] for r in runs if k in r.final_test]) for k in keys}


def _confirmation_section(rec: Recommendation, session: Session) -> list[str]:
    """Which numbers the epoch verdict compares, on which seeds, and what they were."""
    if not rec.confirmation:
        return []
    monitor, metric = session.monitor, session.metric
    seeds = ", ".join(map(str, rec.confirm_seeds))
    lines = [
        "## Confirmation",
        "",
        f"What you get by running the written config as written: `num_epochs={rec.epochs}`, no "
        f"early stopping, on held-out seeds {seeds} (neither the sweep's nor the selection's). "
        f"Values are **final** (at the end of training), not best-over-evaluations.",
        "",
        "| schedule | seeds | final " + monitor + " | final " + metric + " |",
        "|---|---|---|---|",
    ]
    for runs, label in ((rec.confirmation, "recommended"), (rec.alternative, "alternative")):
        if runs:
            epochs = (
                rec.epochs
                if label == "recommended"
                else (rec.horizon if rec.epochs != rec.horizon else rec.peak_epochs)
            )
            lines.append(
                f"| {epochs} epochs ({label}) | {seeds} | "
                f"{_mean_std([r.final_value for r in runs])} | "
                f"{_mean_std([r.final_metric for r in runs])} |"
            )
    lines += ["", f"Verdict: {rec.verdict}.", ""]
    tests = test_metrics(rec.confirmation)
    if tests:
        lines += [
            "Held-out test split (`data.validation=from_train`: validation was carved from train, "
            "so the task's dev set is a test set never used for any choice), same runs:",
            "",
            *[f"- {k}: {_fmt(m)} ± {_fmt(sd)}" for k, (m, sd) in tests.items()],
            "",
        ]
    return lines


def write_report(
    rec: Recommendation, session: Session, *, out_dir: Path, use: str
) -> tuple[Path, list[Path]]:
    """The Markdown report and its plots for a one-study recommendation."""
    import sweeper.plots as plots
    from sweeper.summary import BUILTIN_WARNING, param_importances

    out_dir.mkdir(parents=True, exist_ok=True)
    items, metric, monitor = session.items, session.metric, session.monitor
    info = session.task_info
    top = session.top
    importances = param_importances(session.study)
    files = [
        plots.plot_best_epochs(
            [r.best_epoch for r in top if r.best_epoch is not None],
            out_dir / "best_epochs.png",
            horizons=[int(r.settings.get("num_epochs", 0)) for r in top],
        ),
        plots.plot_lr_curves(top[:5], out_dir / "lr_curves_top.png"),
        plots.plot_scatter(
            [float(r.settings.get("warmup_ratio", 0)) for r in top],
            [float(r.best.get("best_val_loss") or math.nan) for r in top],
            out_dir / "warmup_vs_val_loss.png",
            xlabel="warmup fraction (of all optimizer steps)",
            ylabel="best validation loss",
            title="Warmup fraction vs validation loss",
            labels=[f"#{r.number}" for r in top],
        ),
    ]
    if importances:
        files.append(plots.plot_importances(importances, out_dir / "param_importances.png"))
    s = rec.settings
    lines = [f"# Recommended defaults: study `{rec.study}`", ""]
    if info.get("source") == "builtin":
        lines += [f"> **WARNING** {BUILTIN_WARNING}", ""]
    lines += [
        f"- data: {info.get('task')} from **{info.get('source')}** "
        f"({redact(str(info.get('origin')))}), {info.get('num_train')} train / "
        f"{info.get('num_eval')} validation examples; model `{info.get('model')}`",
        f"- objective: {session.direction} {monitor} (best over each run's evaluations); "
        f"{len(items)} trials, {sum(r.state == 'COMPLETE' for r in items)} complete, "
        f"{sum(r.state == 'PRUNED' for r in items)} pruned, "
        f"{sum(r.state == 'FAIL' for r in items)} failed",
        f"- written {datetime.now():%Y-%m-%d %H:%M}; use it with `{use}`",
        "",
        "## Recommendation",
        "",
        "| setting | value |",
        "|---|---|",
    ]
    for key, value in config_delta(s, keys=session.checked.space.names).items():
        if isinstance(value, dict):
            shown = fmt_params(value)
        elif key == "patience":
            shown = "null (no early stopping: train exactly num_epochs)"
        else:
            shown = fmt_params({key: value}).split("=", 1)[1]
        lines.append(f"| {key} | {shown} |")
    lines += ["", f"(Exact values in `{rec.config_path}`.)" if rec.config_path else ""]
    lines += [
        "",
        f"Schedule this implies: {s.plan(int(info.get('num_train') or 1)).banner()}.",
        f"The chosen trial ({rec.chosen.trial.number}) was trained under a {rec.horizon}-epoch "
        f"schedule; its runs peaked at epochs "
        f"{', '.join(_fmt(r.best_epoch, 2) for r in rec.chosen.runs)} (median rounded up: "
        f"{rec.peak_epochs}).",
        "",
        "## Robustness over seeds",
        "",
        f"Each of the top {len(rec.candidates)} trials re-run on fresh seeds "
        f"{', '.join(map(str, rec.selection_seeds)) or '(none: confirm_seeds=0)'} (not the "
        f"sweep's seed {session.checked.train.seed}, on which they were selected), with the "
        "sweep's early stopping; the recommendation is the best **median** best-over-evaluations "
        "value, not the single luckiest run.",
        "",
        *_seed_table(rec.candidates, metric, monitor),
        "",
        *_confirmation_section(rec, session),
    ]
    lines += [
        "## Top trials",
        "",
        "| trial | "
        + " | ".join(session.checked.space.names)
        + f" | {monitor} | {metric} | best epoch | horizon |",
        "|---" * (len(session.checked.space.names) + 5) + "|",
    ]
    for r in top[:10]:
        params = " | ".join(
            str(
                _fmt(r.params[k], 4) if isinstance(r.params.get(k), float) else r.params.get(k, "-")
            )
            for k in session.checked.space.names
        )
        lines.append(
            f"| {r.number} | {params} | {_fmt(r.value)} | "
            f"{_fmt(r.best.get(f'best_{metric}'))} | {_fmt(r.best_epoch, 2)} | "
            f"{r.settings.get('num_epochs')} |"
        )
    lines += ["", "## Parameter importances", ""]
    if importances:
        lines.append(f"fANOVA over {len(top)} complete trials (few trials: read as a hint):")
        lines.append("")
        lines += [f"- {k}: {v:.3f}" for k, v in importances.items()]
        lines += ["", "![importances](param_importances.png)"]
    else:
        lines.append("Too few complete trials to estimate importances.")
    lines += ["", "## Pruned and failed trials", ""]
    stopped = [r for r in items if r.state in ("PRUNED", "FAIL")]
    lines += [f"- trial {r.number} ({r.state.lower()}): {redact(r.reason)}" for r in stopped] or [
        "None."
    ]
    lines += [
        "",
        "## Plots",
        "",
        "![best epochs](best_epochs.png)",
        "",
        "![LR curves of the top trials](lr_curves_top.png)",
        "",
        "![warmup vs loss](warmup_vs_val_loss.png)",
        "",
    ]
    report = out_dir / "report.md"
    report.write_text("\n".join(lines))
    return report, files


def write_shared_report(
    rec: SharedRecommendation, sessions: list[Session], *, out_dir: Path, use: str
) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"# Shared defaults across {', '.join(rec.studies)}", ""]
    if any(s.task_info.get("source") == "builtin" for s in sessions):
        from sweeper.summary import BUILTIN_WARNING

        lines += [f"> **WARNING** {BUILTIN_WARNING}", ""]
    lines += [
        f"Chosen: {rec.chosen_from} (least worst-case relative regret). Use: `{use}`",
        "",
        "| study | task | own best | with shared defaults | regret |",
        "|---|---|---|---|---|",
    ]
    for row in rec.table:
        lines.append(
            f"| {row['study']} | {row['task']} | {_fmt(row['own_best'])} | "
            f"{_fmt(row['shared'])} | {row['regret']:+.2%} |"
        )
    lines += ["", "| candidate | worst regret | params |", "|---|---|---|"]
    for c in sorted(rec.candidates, key=lambda c: c["worst_regret"]):
        lines.append(f"| {c['from']} | {c['worst_regret']:+.2%} | {fmt_params(c['params'])} |")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def regret_table(rec: SharedRecommendation) -> str:
    rows = [("study", "task", "own best", "shared", "regret")]
    rows += [
        (r["study"], str(r["task"]), _fmt(r["own_best"]), _fmt(r["shared"]), f"{r['regret']:+.2%}")
        for r in rec.table
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def _tracker_for(session: Session) -> Tracker | None:
    from sweeper.tracking import Tracker

    cfg = session.checked.cfg["tracking"]
    parent = session.study.user_attrs.get("mlflow_parent_run_id")
    if not cfg.get("enabled", True) or not parent:
        return None
    tracker = Tracker(
        uri=str(cfg["uri"]),
        experiment=str(cfg.get("experiment") or session.checked.cfg["experiment_name"]),
        artifact_location=cfg.get("artifact_location"),
        study_name=session.name,
        storage_id=session.storage_name,
    )
    tracker.parent_run_id = str(parent)
    return tracker


def _overrides() -> list[str]:
    try:
        from hydra.core.hydra_config import HydraConfig

        return [redact(o) for o in HydraConfig.get().overrides.task]
    except ValueError:
        return []


def recommend(cfg: DictConfig | Mapping[str, Any]) -> Recommendation | SharedRecommendation:
    """Run the recommendation the config describes; prints the result, returns it."""
    from sweeper.checks import check
    from sweeper.progress import quiet_libraries

    quiet_libraries()
    checked = check(cfg)
    rcfg = dict(checked.cfg.get("recommend") or {})
    top_k, seeds = rcfg.get("top_k", 3), rcfg.get("confirm_seeds", 3)
    for key, value, low in (("top_k", top_k, 1), ("confirm_seeds", seeds, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"recommend.{key} must be an integer >= {low} but got {value!r}.")
    studies = list(rcfg.get("studies") or [])
    config_dir = recommended_dir(rcfg.get("config_dir"), results_dir=checked.results_dir)
    overrides = _overrides()
    if studies:
        if len(studies) < 2:
            raise ConfigError(f"recommend.studies needs two or more study names but got {studies}.")
        sessions = [Session(checked, study_name=str(n)) for n in studies]
        shared = recommend_shared(sessions, top_k=top_k)
        name = rcfg.get("name") or f"{checked.cfg['experiment_name']}_shared"
        path = config_dir / f"{name}.yaml"
        delta = config_delta(shared.settings, keys=checked.space.names)
        use = use_command(path, overrides, delta=delta)
        shared.config_path = write_config(
            delta,
            path=path,
            header=[
                f"Shared defaults for studies {', '.join(studies)} (least worst regret).",
                f"Use: {use}",
            ],
        )
        out_dir = checked.results_dir / "reports" / f"shared-{'-'.join(studies)}"
        shared.report_path = write_shared_report(shared, sessions, out_dir=out_dir, use=use)
        # Each study's parent run gets the shared report and its own regret under it.
        regrets = {row["study"]: row["regret"] for row in shared.table}
        for s in sessions:
            tracker = _tracker_for(s)
            if tracker is not None:
                run_id = str(tracker.parent_run_id)
                for f in (shared.report_path, shared.config_path):
                    tracker.client.log_artifact(run_id, str(f), "recommendation-shared")
                tracker.client.log_metric(run_id, "shared_regret", float(regrets[s.name]))
        print(regret_table(shared))
        print(f"\nconfig: {shared.config_path}\nreport: {shared.report_path}\nuse:    {use}")
        return shared

    session = Session(checked)
    rec = recommend_one(session, top_k=top_k, seeds=seeds)
    task = session.task_info.get("task", "task")
    name = rcfg.get("name") or f"{checked.cfg['experiment_name']}_{task}"
    path = config_dir / f"{name}.yaml"
    delta = config_delta(rec.settings, keys=checked.space.names)
    use = use_command(path, overrides, delta=delta)
    info = session.task_info
    rec.config_path = write_config(
        delta,
        path=path,
        header=[
            f"Recommended by sweeper from study {rec.study} ({info.get('task')}, data "
            f"source {info.get('source')}) on {datetime.now():%Y-%m-%d}.",
            f"Schedule: {rec.settings.plan(int(info.get('num_train') or 1)).banner()}",
            f"Use: {use}",
        ],
    )
    out_dir = checked.results_dir / "reports" / rec.study
    rec.report_path, files = write_report(rec, session, out_dir=out_dir, use=use)
    tracker = _tracker_for(session)
    if tracker is not None:
        for f in [rec.report_path, rec.config_path, *files]:
            tracker.client.log_artifact(str(tracker.parent_run_id), str(f), "recommendation")
        conf = _final(rec.confirmation)
        mean, std = _stats(conf)
        metrics = {
            "rec_num_epochs": rec.epochs,
            "rec_seed_median": rec.chosen.median,
            "rec_seed_std": rec.chosen.std,
        }
        if conf:
            metrics |= {"rec_confirm_mean": mean, "rec_confirm_std": std}
        for key, (m, sd) in test_metrics(rec.confirmation).items():
            metrics |= {f"rec_{key}_mean": m, f"rec_{key}_std": sd}
        for key, value in metrics.items():
            tracker.client.log_metric(str(tracker.parent_run_id), key, float(value))
    print_summary(rec, session, use)
    return rec


def print_summary(rec: Recommendation, session: Session, use: str) -> None:
    from sweeper.summary import BUILTIN_WARNING

    lines = [f"{'=' * 28} recommendation: {rec.study} {'=' * 28}"]
    if session.task_info.get("source") == "builtin":
        lines.append(f"!!! {BUILTIN_WARNING}")
    delta = config_delta(rec.settings, keys=session.checked.space.names)
    lines.append(
        "defaults: "
        + fmt_params({k: v for k, v in delta.items() if not isinstance(v, dict) and v is not None})
    )
    kwargs = delta.get("scheduler_kwargs")
    if kwargs:
        lines.append("          scheduler_kwargs: " + fmt_params(kwargs))
    lines.append(
        f"chosen:   trial {rec.chosen.trial.number}: median {session.monitor} "
        f"{_fmt(rec.chosen.median)} ± {_fmt(rec.chosen.std)} over {len(rec.chosen.runs)} "
        "fresh seed(s) (best over evaluations, the sweep's early stopping)"
    )
    if rec.verdict:
        lines.append(f"epochs:   {rec.epochs} ({rec.verdict})")
    tests = test_metrics(rec.confirmation)
    if tests:
        lines.append(
            "test:     "
            + ", ".join(f"{k} {_fmt(m)} ± {_fmt(sd)}" for k, (m, sd) in tests.items())
            + f" (held-out test split; seeds {', '.join(map(str, rec.confirm_seeds))})"
        )
    lines += [f"config:   {rec.config_path}", f"report:   {rec.report_path}", f"use:      {use}"]
    print("\n".join(lines), flush=True)


def confirm_seeds_flag(args: Sequence[str]) -> list[str]:
    """``--confirm-seeds K`` (or ``=K``) as the override ``recommend.confirm_seeds=K``."""
    out: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--confirm-seeds":
            value = next(it, None)
            if value is None:
                raise ConfigError("--confirm-seeds needs a number of seeds but got nothing.")
            out.append(f"recommend.confirm_seeds={value}")
        elif arg.startswith("--confirm-seeds="):
            out.append(f"recommend.confirm_seeds={arg.split('=', 1)[1]}")
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sweeper.recommend [overrides] [--confirm-seeds K]``; the exit code."""
    from sweeper.cli import run_hydra

    try:
        argv = confirm_seeds_flag(sys.argv[1:] if argv is None else argv)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return run_hydra(recommend, argv, help_page="recommend")


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["Recommendation", "SharedRecommendation", "SweeperError", "recommend", "regret"]
