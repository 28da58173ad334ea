"""Replay whole sweep policies against a learning-curve bank (:mod:`sweeper.bank`), in seconds.

A replayed sweep is a real Optuna study (in memory) with the policy's real sampler and pruner,
built by :func:`sweeper.study.build_sampler` / :func:`~sweeper.study.build_pruner` from the
same config nodes as a live sweep. Each trial samples the search space with the live code
(:meth:`sweeper.space.SearchSpace.sample`), takes the bank's nearest grid point, and "trains"
by revealing that run's recorded evaluations, one at a time, to a
:class:`~sweeper.trial_reporter.TrialReporter` built by :func:`sweeper.train_once.new_reporter`
with the live prune hook: the pruner, early stopping and divergence decide exactly as in a live
sweep. The trial's compute is what was revealed: epochs, and the seconds the bank measured there.

A bank may hold several seeds per configuration (a ``seed`` grid entry): seed is not a search
dimension, so a replayed trial of a configuration gets one of its recorded seeds at random (seed
noise, as a live sweep meets it), and regret is reported both against the single best run and
against the best configuration's seed mean (:func:`seed_means`): the sweep's incumbent
configuration is judged by its own seed mean, so a lucky seed is not counted as a find.

One concept per module, all re-exported here (``from sweeper.replay import X``):

- :mod:`~sweeper.replay.policy`: what a sweep decides with (:class:`Policy`, the pruner variants
  and ladders compared);
- :mod:`~sweeper.replay.grid`: the bank's configurations, seed means, the nearest grid point;
- :mod:`~sweeper.replay.trial`: one trial revealed to the live reporter, a sweep's
  :class:`Trace`;
- :mod:`~sweeper.replay.sweep`: a replayed sweep (sampler and pruner), :func:`replay`, the
  queued portfolio start;
- :mod:`~sweeper.replay.ladder`: the schedule horizon as a fidelity;
- :mod:`~sweeper.replay.figures`: regret, compute to the goal, summaries, the plot.
"""

from __future__ import annotations

from sweeper.replay.figures import (
    REGRET_GOAL,
    Summary,
    final_regret,
    plot,
    quantiles,
    regret,
    regret_at,
    regret_curve,
    summarize,
    to_goal,
)
from sweeper.replay.grid import (
    SEED_KEYS,
    Grid,
    best_mean,
    config_of,
    exhaustive_epochs,
    seed_means,
    space_of_bank,
)
from sweeper.replay.ladder import ladder_rungs, replay_ladder
from sweeper.replay.policy import (
    BUILT_IN,
    LADDERS,
    PRUNERS,
    Policy,
    default_policy,
    group_node,
    make_policy,
    train_defaults,
)
from sweeper.replay.sweep import portfolio_queue, replay, replay_sweep
from sweeper.replay.trial import PruneHookFactory, Trace, base_settings, reveal

__all__ = [
    "BUILT_IN",
    "LADDERS",
    "PRUNERS",
    "REGRET_GOAL",
    "SEED_KEYS",
    "Grid",
    "Policy",
    "PruneHookFactory",
    "Summary",
    "Trace",
    "base_settings",
    "best_mean",
    "config_of",
    "default_policy",
    "exhaustive_epochs",
    "final_regret",
    "group_node",
    "ladder_rungs",
    "make_policy",
    "plot",
    "portfolio_queue",
    "quantiles",
    "regret",
    "regret_at",
    "regret_curve",
    "replay",
    "replay_ladder",
    "replay_sweep",
    "reveal",
    "seed_means",
    "space_of_bank",
    "summarize",
    "to_goal",
    "train_defaults",
]
