"""The schedule horizon as a fidelity (issue 25): a replayed sweep whose rungs train at the
bank's successively longer ``num_epochs``, the best ``1/eta`` of each rung promoted.

Separate from the flat sweep (:mod:`sweeper.replay.sweep`): it asks the sampler for a rung's
configurations up front and runs no pruner.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank
from sweeper.replay.grid import Grid
from sweeper.replay.policy import Policy
from sweeper.replay.trial import Trace, base_settings, reveal

if TYPE_CHECKING:
    from sweeper.space import SearchSpace


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
    base = base_settings(bank, policy)
    study = optuna.create_study(
        direction=bank.direction,  # type: ignore[arg-type]
        sampler=build_sampler(policy.sampler, seed=seed, space=space),
    )
    trace = Trace()
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
            settings = base.replace(grid.params(point))
            outcome, k = reveal(bank, curve, settings, lambda *_: False)
            totals[0] += outcome.epochs_trained
            totals[1] += curve.seconds[k]
            value = trace.consider(bank, curve, outcome.best, mean=grid.mean[point])
            results.append((value, i))
            trace.add(bank, totals=(totals[0], totals[1]), stop=outcome.stop, point=point)
        configs = [configs[i] for _, i in sorted(results)]
    return trace
