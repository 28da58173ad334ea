"""A replayed sweep: a real (in-memory) Optuna study with the policy's sampler and pruner, each
trial revealing a recorded curve to the live reporter; :func:`replay` runs it ``reps`` times.

The queued start a live sweep runs first (:func:`portfolio_queue`) is here too: it is part of
what a replayed sweep runs.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank
from sweeper.replay.grid import Grid
from sweeper.replay.ladder import replay_ladder
from sweeper.replay.policy import Policy
from sweeper.replay.trial import Trace, base_settings, reveal

if TYPE_CHECKING:
    import optuna

    from sweeper.portfolio import Recipe
    from sweeper.settings import TrainSettings
    from sweeper.space import SearchSpace


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
    base = base_settings(bank, policy)
    study = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(),
        direction=bank.direction,  # type: ignore[arg-type]
        sampler=build_sampler(policy.sampler, seed=seed, space=space),
        pruner=build_pruner(policy.pruner),
    )
    # The chance level where the curve pruner reads it on a live study (its late chance cut).
    level = bank.chance_of(bank.monitor)
    chance = {} if level is None else {bank.monitor: level}
    study.set_user_attr("task_info", {"monitor": bank.monitor, "chance": chance})
    for params in queued:
        study.enqueue_trial(dict(params))
    trace = Trace()
    totals = [0.0, 0.0]

    def objective(trial: optuna.Trial) -> float:
        if in_order:
            curve = ordered[trial.number]
            point = grid.key(curve.params)
        else:
            point = grid.nearest(space.sample(trial))
            curve = rng.choice(grid.runs[point])
        if point not in settings_of:
            settings_of[point] = base.replace(grid.params(point))
        outcome, k = reveal(
            bank, curve, settings_of[point], prune_hook(trial, settings=settings_of[point])
        )
        totals[0] += outcome.epochs_trained
        totals[1] += curve.seconds[k]
        trace.consider(bank, curve, None if outcome.pruned else outcome.best, mean=grid.mean[point])
        trace.add(bank, totals=(totals[0], totals[1]), stop=outcome.stop, point=point)
        if outcome.pruned:
            raise optuna.TrialPruned(outcome.reason)
        assert outcome.best is not None
        return float(outcome.best.value)

    study.optimize(objective, n_trials=n_trials)
    return trace


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
    fitted, _ = fit(recipes, space=space, num_train=num_train, train=base_settings(bank, policy))
    return start((), fitted, n_trials=n_trials).queued
