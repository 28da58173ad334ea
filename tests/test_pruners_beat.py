"""The probability-of-beating-the-best pruner on hand-made studies whose answers are known."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import BaseDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from sweeper.pruners_beat import BeatProbabilityPruner
from sweeper.replay import group_node
from sweeper.study import build_pruner

DIST: dict[str, BaseDistribution] = {"x": FloatDistribution(0, 1)}


def study_with(*curves: dict[int, float]) -> optuna.Study:
    study = optuna.create_study(direction="minimize")
    for curve in curves:
        study.add_trial(
            create_trial(
                state=TrialState.COMPLETE,
                value=min(curve.values()),
                params={"x": 0.5},
                distributions=DIST,
                intermediate_values=curve,
            )
        )
    return study


def running(curve: dict[int, float]) -> optuna.trial.FrozenTrial:
    return create_trial(
        state=TrialState.RUNNING, params={"x": 0.5}, distributions=DIST, intermediate_values=curve
    )


# Two flat-ending finished curves (no noise: the floor applies): after step 0, A gained 0.1, B
# 0.06; the best finished value is 0.5.
A = {0: 0.6, 1: 0.5, 2: 0.5, 3: 0.5}
B = {0: 0.7, 1: 0.65, 2: 0.64, 3: 0.64}


def test_a_trial_that_cannot_catch_up_is_pruned_and_one_that_may_is_kept() -> None:
    pruner = BeatProbabilityPruner(horizon_power=0.0)
    study = study_with(A, B)
    # 0.69 - 0.1 = 0.59: far above 0.5 whatever the noise floor (0.002 x 0.5).
    assert pruner.probability(study, running({0: 0.69})) == pytest.approx(0.0, abs=1e-9)
    assert pruner.prune(study, running({0: 0.69}))
    # 0.58 - 0.1 = 0.48 beats 0.5 surely; 0.58 - 0.06 = 0.52 surely not: one chance in two.
    assert pruner.probability(study, running({0: 0.58})) == pytest.approx(0.5, abs=1e-6)
    assert not pruner.prune(study, running({0: 0.58}))


def test_the_curves_own_noise_blurs_the_reach() -> None:
    # Late halves move by 0.02 and 0.04 between evaluations: noise = median(0.02, 0.04) / sqrt 2.
    noisy_a = {0: 0.6, 1: 0.5, 2: 0.52, 3: 0.5}
    noisy_b = {0: 0.7, 1: 0.65, 2: 0.61, 3: 0.65}
    study = study_with(noisy_a, noisy_b)
    pruner = BeatProbabilityPruner(horizon_power=0.0)
    sigma = 0.03 / math.sqrt(2)
    gains = [0.1, 0.09]  # A: 0.6 -> 0.5; B: 0.7 -> 0.61
    expected = sum(
        0.5 * math.erfc(-((0.5 - (0.62 - g)) / (sigma * math.sqrt(2))) / math.sqrt(2))
        for g in gains
    ) / len(gains)
    assert pruner.probability(study, running({0: 0.62})) == pytest.approx(expected)
    assert 0.05 < expected < 0.5  # noise keeps it alive where the bare gains would not
    assert not pruner.prune(study, running({0: 0.62}))
    assert BeatProbabilityPruner(horizon_power=0.0, min_probability=0.3).prune(
        study, running({0: 0.62})
    )


def test_guards_startup_and_chance() -> None:
    pruner = BeatProbabilityPruner(horizon_power=0.0)
    assert pruner.probability(study_with(A), running({0: 0.69})) is None  # one finished trial
    assert pruner.probability(study_with(A, B), running({})) is None
    # Every finished trial still at chance at step 0 (0.69 vs 0.7), and so is this one: warmup.
    flat = study_with({0: 0.69, 1: 0.5, 2: 0.5}, {0: 0.7, 1: 0.6, 2: 0.6})
    assert pruner.probability(flat, running({0: 0.695})) is None
    assert BeatProbabilityPruner(n_warmup_steps=1).probability(flat, running({0: 0.9})) is None
    with pytest.raises(ValueError, match=r"min_probability must be in \[0, 1\) but got 1.0"):
        BeatProbabilityPruner(min_probability=1.0)


def test_built_from_its_config_node() -> None:
    pruner = build_pruner(group_node("pruner", "beat"))
    assert isinstance(pruner, BeatProbabilityPruner)
    assert pruner.min_probability == 0.05 and pruner.horizon_power == 0.5
