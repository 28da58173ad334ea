"""Replay whole sweep policies against a learning-curve bank (:mod:`sweeper.bank`), in seconds.

A replayed sweep is a real Optuna study (in memory) with the policy's real sampler and pruner,
built by :func:`sweeper.study.build_sampler` / :func:`~sweeper.study.build_pruner` from the
same config nodes as a live sweep. Each trial samples the search space with the live code
(:meth:`sweeper.space.SearchSpace.sample`), takes the bank's nearest grid point, and "trains"
by revealing that run's recorded evaluations, one at a time, to a
:class:`~sweeper.reporting.TrialReporter` built by :func:`sweeper.training.new_reporter` with the
live prune hook: the pruner, early stopping and divergence decide exactly as in a live sweep.
The trial's compute is what was revealed: epochs, and the seconds the bank measured there.

A bank may hold several seeds per configuration (a ``seed`` grid entry): seed is not a search
dimension, so a replayed trial of a configuration gets one of its recorded seeds at random (seed
noise, as a live sweep meets it), and regret is reported both against the single best run and
against the best configuration's seed mean (:func:`seed_means`): the sweep's incumbent
configuration is judged by its own seed mean, so a lucky seed is not counted as a find.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank, Curve

if TYPE_CHECKING:
    import optuna

    from sweeper.portfolio import Recipe
    from sweeper.settings import TrainSettings
    from sweeper.space import SearchSpace

# Pruner variants compared: name -> (conf/pruner option, overrides of its arguments).
PRUNERS: dict[str, tuple[str, dict[str, Any]]] = {
    "none": ("none", {}),
    "median": ("median", {}),
    "median-warm2": ("median", {"n_warmup_steps": 2}),
    "percentile": ("percentile", {}),
    "successive_halving": ("successive_halving", {}),
    "hyperband": ("hyperband", {}),
    "patient": ("patient", {}),
    "curve": ("curve", {}),
    "curve-h0": ("curve", {"horizon_power": 0.0}),  # gains not scaled to the schedule left
    # P(beating the best) < min_probability (issue 25): gains and the curves' own noise
    "beat": ("beat", {}),
    "beat-p10": ("beat", {"min_probability": 0.10}),
    "beat-p02": ("beat", {"min_probability": 0.02}),
}
# The schedule horizon as a fidelity (issue 25): name -> eta. Short schedules first; the best
# 1/eta of a rung are promoted to the next longer num_epochs in the bank's grid. A decaying
# schedule cannot be extended, so a promotion retrains from scratch and its epochs are counted.
# No pruner inside a rung (early stopping as the policy says).
LADDERS: dict[str, int] = {"ladder": 3, "ladder-e2": 2}
BUILT_IN = ("median", "median-warm2", "percentile", "successive_halving", "hyperband", "patient")
REGRET_GOAL = 0.01
# Grid entries that are repetitions, not search dimensions.
SEED_KEYS = ("seed",)


def config_of(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A run's configuration: its parameters without the seed."""
    return tuple(sorted((k, v) for k, v in params.items() if k not in SEED_KEYS))


def seed_means(bank: Bank) -> dict[tuple[tuple[str, Any], ...], float]:
    """Each configuration's mean best value over its recorded seeds (NaN runs left out)."""
    values: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for curve in bank.trained:
        value = bank.best_of(curve)
        if math.isfinite(value):
            values.setdefault(config_of(curve.params), []).append(value)
    return {config: sum(v) / len(v) for config, v in values.items()}


def best_mean(bank: Bank) -> float:
    """The best configuration's seed mean (the bank's best run when it has one seed)."""
    cached = _BEST_MEAN.get(id(bank))
    if cached is not None and cached[0] is bank:
        return cached[1]
    means = list(seed_means(bank).values())
    value = math.nan if not means else min(means) if bank.direction == "minimize" else max(means)
    _BEST_MEAN[id(bank)] = (bank, value)  # asked once per budget and replay: worth keeping
    return value


_BEST_MEAN: dict[int, tuple[Bank, float]] = {}


def exhaustive_epochs(bank: Bank) -> float:
    """What an exhaustive sweep of the recorded configurations costs: one run each (the mean of
    its seeds' epochs); the bank's total when it has one seed."""
    epochs: dict[tuple[tuple[str, Any], ...], list[float]] = {}
    for curve in bank.curves:
        epochs.setdefault(config_of(curve.params), []).append(curve.epochs)
    return sum(sum(v) / len(v) for v in epochs.values())


def space_of_bank(bank: Bank) -> SearchSpace:
    """A search space of the bank's grid itself: each entry with several values (but the seed)
    a categorical of those values, so a random draw is uniform over the recorded grid."""
    from sweeper.space import parse_space

    return parse_space(
        {
            name: {"type": "categorical", "choices": list(values)}
            for name, values in bank.grid.items()
            if name not in SEED_KEYS and len(values) > 1
        }
    )


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What a sweep decides with: sampler and pruner config nodes, early stopping, divergence."""

    name: str
    sampler: Mapping[str, Any]
    pruner: Mapping[str, Any]
    patience: int | None
    min_delta: float = 0.0
    divergence_factor: float | None = None
    ladder: int | None = None  # eta of a horizon ladder (LADDERS) instead of a flat sweep


def group_node(group: str, option: str, **overrides: Any) -> dict[str, Any]:
    """The config node of ``conf/<group>/<option>.yaml`` with ``overrides`` applied."""
    from omegaconf import OmegaConf

    from sweeper.config import CONF_DIR

    path = CONF_DIR / group / f"{option}.yaml"
    if not path.is_file():
        raise ValueError(f"{group} must be one of the options in {path.parent} but got {option!r}.")
    node = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    assert isinstance(node, dict)
    return {**{str(k): v for k, v in node.items()}, **overrides}


def train_defaults() -> dict[str, Any]:
    """conf/train/default.yaml (early stopping and divergence as shipped)."""
    from omegaconf import OmegaConf

    from sweeper.config import CONF_DIR

    node = OmegaConf.load(CONF_DIR / "train" / "default.yaml")
    node.seed = 0  # an interpolation of the root config there
    out = OmegaConf.to_container(node, resolve=True)
    assert isinstance(out, dict)
    return {str(k): v for k, v in out.items()}


def make_policy(
    pruner: str,
    *,
    sampler: str = "tpe",
    early_stopping: bool = True,
    pruner_args: Mapping[str, Any] | None = None,
) -> Policy:
    """A policy from config options: ``pruner`` names a :data:`PRUNERS` variant (or a
    conf/pruner option), early stopping as in conf/train/default.yaml or off."""
    ladder = LADDERS.get(pruner)
    option, args = ("none", {}) if ladder else PRUNERS.get(pruner, (pruner, {}))
    train = train_defaults()
    return Policy(
        ladder=ladder,
        name=f"{sampler}/{pruner}/{'es' if early_stopping else 'no-es'}",
        sampler=group_node("sampler", sampler),
        pruner=group_node("pruner", option, **{**args, **dict(pruner_args or {})}),
        patience=train["patience"] if early_stopping else None,
        min_delta=float(train["min_delta"]),
        divergence_factor=train["divergence_factor"],
    )


def default_policy() -> Policy:
    """The shipped defaults: conf/config.yaml's sampler and pruner, conf/train early stopping."""
    from omegaconf import OmegaConf

    from sweeper.config import CONF_DIR

    defaults = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml").defaults)
    chosen = {k: v for d in defaults or [] if isinstance(d, dict) for k, v in d.items()}
    policy = make_policy(str(chosen["pruner"]), sampler=str(chosen["sampler"]))
    return Policy(
        ladder=policy.ladder,
        name=f"default ({policy.name})",
        sampler=policy.sampler,
        pruner=policy.pruner,
        patience=policy.patience,
        min_delta=policy.min_delta,
        divergence_factor=policy.divergence_factor,
    )


# ----------------------------------------------------------------------------- one sweep


@dataclass(kw_only=True)
class Trace:
    """One replayed sweep, trial by trial (cumulative compute; incumbent after each trial)."""

    epochs: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    incumbent: list[float] = field(default_factory=list)  # best finished value; inf: none yet
    # The incumbent's configuration's seed mean (inf: none yet): what the sweep found, without
    # the luck of the seed it was drawn with.
    incumbent_mean: list[float] = field(default_factory=list)
    stops: list[str] = field(default_factory=list)
    points: list[tuple[Any, ...]] = field(default_factory=list)  # the grid point of each trial

    @property
    def total_epochs(self) -> float:
        return self.epochs[-1] if self.epochs else 0.0

    @property
    def total_seconds(self) -> float:
        return self.seconds[-1] if self.seconds else 0.0


class Grid:
    """The bank's runs by grid point (its seeds' runs under one point), and the nearest point to
    a sampled draw.

    The search space must search every grid entry with several values (but the seed) and
    nothing outside the grid; an entry with one value may be left out (it is fixed)."""

    def __init__(self, bank: Bank, space: SearchSpace) -> None:
        names = [name for name in bank.grid if name not in SEED_KEYS]
        varied = sorted(name for name in names if len(bank.grid[name]) > 1)
        searched = sorted(space.names)
        if not set(varied) <= set(searched) <= set(names):
            raise ValueError(
                f"search space {searched} must search exactly the bank's grid {varied} "
                f"(entries with one value, {sorted(set(names) - set(varied))}, may be added)."
            )
        self.bank = bank
        self.names = names
        self.log = {p.name: p.log for p in space.params}
        self.runs: dict[tuple[Any, ...], list[Curve]] = {}
        for curve in bank.trained:
            self.runs.setdefault(self.key(curve.params), []).append(curve)
        means = seed_means(bank)
        self.mean = {
            point: means.get(config_of(runs[0].params), math.nan)
            for point, runs in self.runs.items()
        }
        missing = math.prod(len(bank.grid[n]) for n in names) - len(self.runs)
        self.missing = missing  # points without a run (a recording cut short, failed runs)

    def key(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        # An entry with one value may be missing from a run's parameters (it was fixed).
        return tuple(params.get(name, self.bank.grid[name][0]) for name in self.names)

    def nearest(self, params: Mapping[str, Any], *, exact: str | None = None) -> tuple[Any, ...]:
        """The grid point nearest ``params`` (in log where the entry is log), among points
        that have a run (and, with ``exact``, that entry's value in ``params`` where any
        point has it: a partial bank would otherwise snap a horizon to another one)."""

        def distance(point: tuple[Any, ...]) -> float:
            total = 0.0
            for name, value in zip(self.names, point, strict=True):
                if name not in params:
                    continue  # an entry with one value, not searched
                drawn = params[name]
                if isinstance(value, str) or isinstance(drawn, str):
                    total += 0.0 if value == drawn else 1e9
                elif self.log.get(name):
                    total += abs(math.log(drawn) - math.log(value))
                else:
                    span = max(self.bank.grid[name]) - min(self.bank.grid[name]) or 1.0
                    total += abs(drawn - value) / span
            return total

        points = list(self.runs)
        if exact is not None:
            at = self.names.index(exact)
            points = [p for p in points if p[at] == params[exact]] or points
        return min(points, key=distance)


PruneHookFactory = Callable[["optuna.Trial"], Callable[[float, int, bool], bool]]


def replay_sweep(
    bank: Bank,
    policy: Policy,
    *,
    grid: Grid,
    space: SearchSpace,
    n_trials: int,
    seed: int,
    in_order: bool = False,
    queued: Sequence[Mapping[str, Any]] = (),
) -> Trace:
    """One sweep of ``n_trials`` trials under ``policy``, replayed on ``bank``.

    ``queued``: parameter sets run first, in order, before the sampler draws (a live sweep's
    queued start: ``sweep.enqueue`` and the portfolio, see :func:`portfolio_queue`).

    ``in_order``: trial ``k`` replays the bank's ``k``-th run, with that run's own parameters,
    instead of what the sampler draws: a finished exhaustive sweep replayed as it ran, so each
    policy decides on exactly the trials the real sweep trained (its curves are the same up to
    any stop: training does not depend on the pruner).
    """
    import optuna

    from sweeper.study import build_pruner, build_sampler, prune_hook

    rng = random.Random(seed)
    ordered = bank.trained
    if in_order and n_trials > len(ordered):
        raise ValueError(f"n_trials must be <= the bank's {len(ordered)} runs but got {n_trials}.")
    settings_of: dict[tuple[Any, ...], TrainSettings] = {}
    base = _base_settings(bank, policy)
    study = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(),
        direction=bank.direction,  # type: ignore[arg-type]
        sampler=build_sampler(policy.sampler, seed=seed, space=space),
        pruner=build_pruner(policy.pruner),
    )
    for params in queued:
        study.enqueue_trial(dict(params))
    trace = Trace()
    sign = 1.0 if bank.direction == "minimize" else -1.0
    incumbent = math.inf
    incumbent_mean = math.inf
    totals = [0.0, 0.0]

    def objective(trial: optuna.Trial) -> float:
        nonlocal incumbent, incumbent_mean
        if in_order:
            curve = ordered[trial.number]
            point = grid.key(curve.params)
        else:
            point = grid.nearest(space.sample(trial))
            curve = rng.choice(grid.runs[point])
        if point not in settings_of:
            settings_of[point] = base.replace(dict(zip(grid.names, point, strict=True)))
        outcome, k = _reveal(
            bank, curve, settings_of[point], prune_hook(trial, settings=settings_of[point])
        )
        totals[0] += outcome.epochs_trained
        totals[1] += curve.seconds[k]
        found = None if outcome.pruned or outcome.best is None else sign * outcome.best.value
        if found is not None and found < incumbent:
            incumbent = found
            incumbent_mean = sign * grid.mean[point]
        trace.epochs.append(totals[0])
        trace.seconds.append(totals[1])
        trace.incumbent.append(sign * incumbent if math.isfinite(incumbent) else math.inf)
        trace.incumbent_mean.append(
            sign * incumbent_mean if math.isfinite(incumbent_mean) else math.inf
        )
        trace.stops.append(outcome.stop)
        trace.points.append(point)
        if outcome.pruned:
            raise optuna.TrialPruned(outcome.reason)
        assert outcome.best is not None
        return float(outcome.best.value)

    study.optimize(objective, n_trials=n_trials)
    return trace


def _reveal(
    bank: Bank, curve: Curve, settings: TrainSettings, prune: Callable[[float, int, bool], bool]
) -> tuple[Any, int]:
    """Hand ``curve``'s evaluations one by one to a live reporter until it stops the run: its
    outcome and the index of the last evaluation revealed."""
    from sweeper.chance import known_chance
    from sweeper.objective import Decision
    from sweeper.schedule import StepPlan
    from sweeper.training import new_reporter

    reporter = new_reporter(
        settings,
        monitor=bank.monitor,
        direction=bank.direction,
        chance=known_chance(bank.monitor),  # banks record no chance levels
        prune=prune,
    )
    reporter.start(StepPlan(**curve.plan))
    if curve.initial_loss is not None:
        reporter.log_train_loss(0, curve.initial_loss)
    k = 0
    for k in range(len(curve.step)):
        decision = reporter.evaluate(
            step=curve.step[k],
            val_loss=curve.val_loss[k],
            metrics={bank.metric: curve.metric[k]},
        )
        if decision is not Decision.CONTINUE:
            break
    return reporter.outcome, k


def ladder_rungs(n_trials: int, *, horizons: int, eta: int) -> list[int]:
    """Runs per rung of a ladder of ``n_trials`` runs in all: the first rung as large as fits,
    each next one ``ceil(previous / eta)``."""
    for first in range(n_trials, 0, -1):
        rungs = [first]
        while len(rungs) < horizons:
            rungs.append(math.ceil(rungs[-1] / eta))
        if sum(rungs) <= n_trials:
            return rungs
    return [n_trials]


def replay_ladder(
    bank: Bank, policy: Policy, *, grid: Grid, space: SearchSpace, n_trials: int, seed: int
) -> Trace:
    """One sweep of ``n_trials`` runs that treats the schedule horizon as a fidelity.

    Configurations are drawn by the policy's sampler (``num_epochs`` overridden); rung ``i``
    trains them at the ``i``-th shortest horizon of the bank's grid, and the best
    ``ceil(n / eta)`` by their best value go up to the next horizon, retrained from scratch.
    Every run's epochs count; any finished run may be the incumbent."""
    import optuna

    from sweeper.study import build_sampler

    assert policy.ladder is not None
    horizons = sorted(bank.grid.get("num_epochs") or [])
    if len(horizons) < 2 or "num_epochs" not in space.names:
        raise ValueError(
            f"a horizon ladder needs num_epochs searched with >= 2 values in the bank's grid "
            f"but got {horizons}."
        )
    rng = random.Random(seed)
    base = _base_settings(bank, policy)
    study = optuna.create_study(
        direction=bank.direction,  # type: ignore[arg-type]
        sampler=build_sampler(policy.sampler, seed=seed, space=space),
    )
    trace = Trace()
    sign = 1.0 if bank.direction == "minimize" else -1.0
    incumbent = incumbent_mean = math.inf
    totals = [0.0, 0.0]
    rungs = ladder_rungs(n_trials, horizons=len(horizons), eta=policy.ladder)
    configs: list[dict[str, Any]] = []
    for _ in range(rungs[0]):
        trial = study.ask()
        configs.append(space.sample(trial))
        study.tell(trial, 0.0)  # model-free samplers only: the value is not used
    for horizon, size in zip(horizons, rungs, strict=False):
        results: list[tuple[float, int]] = []
        for i, params in enumerate(configs[:size]):
            point = grid.nearest({**params, "num_epochs": horizon}, exact="num_epochs")
            curve = rng.choice(grid.runs[point])
            settings = base.replace(dict(zip(grid.names, point, strict=True)))
            outcome, k = _reveal(bank, curve, settings, lambda *_: False)
            totals[0] += outcome.epochs_trained
            totals[1] += curve.seconds[k]
            value = math.inf if outcome.best is None else sign * outcome.best.value
            if not math.isfinite(value):
                value = math.inf
            results.append((value, i))
            if value < incumbent:
                incumbent, incumbent_mean = value, sign * grid.mean[point]
            trace.epochs.append(totals[0])
            trace.seconds.append(totals[1])
            trace.incumbent.append(sign * incumbent if math.isfinite(incumbent) else math.inf)
            trace.incumbent_mean.append(
                sign * incumbent_mean if math.isfinite(incumbent_mean) else math.inf
            )
            trace.stops.append(outcome.stop)
            trace.points.append(point)
        configs = [configs[i] for _, i in sorted(results)]
    return trace


def _base_settings(bank: Bank, policy: Policy) -> TrainSettings:
    from sweeper.settings import TrainSettings

    # A seed grid entry (not in the bank's fixed train settings) sets the settings' seed here;
    # it does not change a recorded run.
    first = {name: values[0] for name, values in bank.grid.items()}
    return TrainSettings.from_params(
        {
            **bank.train,
            **first,
            "patience": policy.patience,
            "min_delta": policy.min_delta,
            "divergence_factor": policy.divergence_factor,
        }
    )


def replay(
    bank: Bank,
    policy: Policy,
    *,
    space: SearchSpace,
    n_trials: int,
    reps: int,
    seed: int = 0,
    in_order: bool = False,
    queued: Sequence[Mapping[str, Any]] = (),
) -> list[Trace]:
    """``reps`` sweeps of ``policy`` on ``bank``, seeded ``seed``, ``seed + 1``, ...

    ``in_order``: one sweep over the bank's runs as recorded (see :func:`replay_sweep`);
    ``queued``: the parameter sets each sweep runs first (:func:`portfolio_queue`)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    grid = Grid(bank, space)
    with warnings.catch_warnings():
        # Experimental samplers (GP) and independent-sampling notes: said once in the docs.
        warnings.simplefilter("ignore")
        if policy.ladder is not None:
            return [
                replay_ladder(
                    bank, policy, grid=grid, space=space, n_trials=n_trials, seed=seed + r
                )
                for r in range(reps)
            ]
        return [
            replay_sweep(
                bank,
                policy,
                grid=grid,
                space=space,
                n_trials=n_trials,
                seed=seed + r,
                in_order=in_order,
                queued=queued,
            )
            for r in range(1 if in_order else reps)
        ]


def portfolio_queue(
    bank: Bank,
    policy: Policy,
    *,
    space: SearchSpace,
    recipes: Sequence[Recipe],
    n_trials: int,
) -> list[dict[str, Any]]:
    """The queued start a live sweep on the bank's data runs first: ``recipes`` (a
    ``sweep.portfolio``'s, :func:`sweeper.portfolio.recipes_for`) fitted to ``space`` and the
    bank's fixed settings by the live :func:`sweeper.portfolio.fit` and capped by
    :func:`sweeper.portfolio.start`, so a replay measures the start that ships."""
    from sweeper.portfolio import fit, start

    num_train = int((bank.provenance.get("task_info") or {}).get("num_train") or 0)
    fitted, _ = fit(recipes, space=space, num_train=num_train, train=_base_settings(bank, policy))
    return start((), fitted, n_trials=n_trials).queued


# ----------------------------------------------------------------------------- figures


def regret(bank: Bank, value: float, *, best: float | None = None) -> float:
    """Relative regret of ``value`` against the bank's best run, or ``best`` (0: found the
    best; inf: none)."""
    if not math.isfinite(value):
        return math.inf
    best = bank.best if best is None else best
    gap = value - best if bank.direction == "minimize" else best - value
    return max(0.0, gap) / abs(best)


def quantiles(values: Sequence[float], qs: Sequence[float] = (0.25, 0.5, 0.75)) -> list[float]:
    """Nearest-rank quantiles (``inf`` stays ``inf``: "never" is a valid outcome)."""
    ordered = sorted(values)
    return [ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] for q in qs]


def _incumbents(bank: Bank, trace: Trace, mean: bool) -> tuple[list[float], float]:
    """The trace's incumbents and the best they are judged against: the single best run, or
    (``mean``) the incumbent configurations' seed means against the best seed mean."""
    if mean:
        return trace.incumbent_mean, best_mean(bank)
    return trace.incumbent, bank.best


def to_goal(
    bank: Bank, trace: Trace, *, goal: float = REGRET_GOAL, mean: bool = False
) -> tuple[float, float]:
    """(epochs, seconds) spent when the incumbent first came within ``goal`` regret (inf:
    never); ``mean``: judged by seed means (:func:`_incumbents`)."""
    values, best = _incumbents(bank, trace, mean)
    for epochs, seconds, value in zip(trace.epochs, trace.seconds, values, strict=True):
        if regret(bank, value, best=best) <= goal:
            return epochs, seconds
    return math.inf, math.inf


def final_regret(bank: Bank, trace: Trace, *, mean: bool = False) -> float:
    values, best = _incumbents(bank, trace, mean)
    return regret(bank, values[-1] if values else math.inf, best=best)


def regret_at(bank: Bank, trace: Trace, budget: float, *, mean: bool = False) -> float:
    """Regret of the incumbent with ``budget`` epochs spent (trials finished by then)."""
    values, best = _incumbents(bank, trace, mean)
    value = math.inf
    for epochs, incumbent in zip(trace.epochs, values, strict=True):
        if epochs > budget + 1e-9:
            break
        value = incumbent
    return regret(bank, value, best=best)


@dataclass(frozen=True, kw_only=True)
class Summary:
    """A policy's figures on one bank over its repetitions (medians and IQRs)."""

    policy: str
    reps: int
    epochs: list[float]  # total, [q25, median, q75]
    seconds: list[float]
    regret: list[float]  # final, against the best run
    hit_rate: float  # share of sweeps ending within the regret goal (best run)
    to_goal_epochs: list[float]
    to_goal_seconds: list[float]
    # The same, judged by seed means (the incumbent's configuration vs the best configuration).
    mean_regret: list[float]
    mean_hit_rate: float
    mean_to_goal_epochs: list[float]
    pruned: float  # mean trials pruned per sweep
    early: float  # mean trials early-stopped per sweep


def summarize(bank: Bank, policy: str, traces: Sequence[Trace]) -> Summary:
    goals = [to_goal(bank, t) for t in traces]
    finals = [final_regret(bank, t) for t in traces]
    mean_finals = [final_regret(bank, t, mean=True) for t in traces]
    return Summary(
        policy=policy,
        reps=len(traces),
        epochs=quantiles([t.total_epochs for t in traces]),
        seconds=quantiles([t.total_seconds for t in traces]),
        regret=quantiles(finals),
        hit_rate=sum(r <= REGRET_GOAL for r in finals) / len(finals),
        to_goal_epochs=quantiles([g[0] for g in goals]),
        to_goal_seconds=quantiles([g[1] for g in goals]),
        mean_regret=quantiles(mean_finals),
        mean_hit_rate=sum(r <= REGRET_GOAL for r in mean_finals) / len(mean_finals),
        mean_to_goal_epochs=quantiles([to_goal(bank, t, mean=True)[0] for t in traces]),
        pruned=sum(sum(s in ("pruned", "diverged") for s in t.stops) for t in traces) / len(traces),
        early=sum(t.stops.count("early_stopping") for t in traces) / len(traces),
    )


def regret_curve(
    bank: Bank, traces: Sequence[Trace], budgets: Sequence[float], *, mean: bool = False
) -> list[float]:
    """Median regret over ``traces`` at each compute budget (epochs)."""
    return [
        quantiles([regret_at(bank, t, b, mean=mean) for t in traces], (0.5,))[0] for b in budgets
    ]


def plot(
    curves: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]],
    path: Any,
    *,
    title: str,
) -> None:
    """Median regret vs compute, one panel per task: ``curves[task][policy] = (budgets,
    regrets)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5.2 * len(curves), 4.6), squeeze=False)
    for ax, (task, lines) in zip(axes[0], curves.items(), strict=True):
        for name, (budgets, regrets) in lines.items():
            shown = [min(r, 1.0) * 100 for r in regrets]
            style = "-" if "curve" in name or "default" in name else "--"
            ax.step(budgets, shown, where="post", label=name, linestyle=style, linewidth=1.4)
        ax.axhline(REGRET_GOAL * 100, color="grey", linewidth=0.8, linestyle=":")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("compute spent (epochs trained, all trials)")
        ax.set_ylabel("median regret of best trial found (%)")
        ax.set_title(task)
        ax.grid(True, alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
