"""CurvePruner on synthetic learning curves: late bloomers kept, flat losers stopped."""

from __future__ import annotations

from collections.abc import Sequence

import optuna
import pytest

from sweeper.pruners import CurvePruner
from sweeper.trial_record import FINAL_STEP_KEY

CHANCE = 0.69
# Two finished trials: a fast starter that plateaus, and a late bloomer that becomes the best.
FAST = [0.69, 0.45, 0.40, 0.38, 0.37, 0.37]
BLOOMER = [0.69, 0.68, 0.55, 0.40, 0.33, 0.30]


def study_with(finished: Sequence[Sequence[float]], *, direction: str = "minimize") -> optuna.Study:
    study = optuna.create_study(direction=direction, pruner=optuna.pruners.NopPruner())
    pick = min if direction == "minimize" else max
    for curve in finished:
        study.add_trial(
            optuna.trial.create_trial(
                value=pick(curve),
                intermediate_values={i + 1: v for i, v in enumerate(curve)},
            )
        )
    return study


def judged(
    pruner: optuna.pruners.BasePruner,
    study: optuna.Study,
    curve: Sequence[float],
    *,
    final_step: int | None = None,
) -> bool:
    """Report ``curve`` for a new trial (planned to end at ``final_step``, as the prune hook
    records it); whether ``pruner`` prunes it at its last point."""
    trial = study.ask()
    if final_step is not None:
        trial.set_user_attr(FINAL_STEP_KEY, final_step)
    for i, value in enumerate(curve):
        trial.report(value, i + 1)
    frozen = study.get_trials(deepcopy=False)[-1]
    decision = pruner.prune(study, frozen)
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return decision


def test_a_late_bloomer_is_kept_where_the_median_pruner_stops_it() -> None:
    study = study_with([FAST, BLOOMER])
    late = [0.69, 0.66]  # behind at evaluation 2, as the bloomer was
    assert not judged(CurvePruner(), study, late)
    # The rank-based pruner stops it (0.66 is worse than the median 0.565 there).
    assert judged(optuna.pruners.MedianPruner(n_startup_trials=2), study, late)


def test_a_flat_loser_is_stopped() -> None:
    study = study_with([FAST, BLOOMER])
    assert judged(CurvePruner(), study, [0.69, 0.69, 0.69, 0.69])


def test_a_trial_that_can_still_win_is_kept_late() -> None:
    study = study_with([FAST, BLOOMER])
    # At evaluation 4 the bloomer still gained 0.10 later: 0.39 - 0.10 = 0.29 < 0.30.
    assert not judged(CurvePruner(), study, [0.69, 0.60, 0.45, 0.39])
    assert judged(CurvePruner(), study, [0.69, 0.60, 0.45, 0.42])


def test_never_judged_while_every_finished_trial_was_at_chance() -> None:
    early = [[0.69, 0.689, 0.45, 0.40], [0.69, 0.688, 0.60, 0.35]]
    study = study_with(early)
    # Evaluation 2: both finished trials were still within 2 % of chance there.
    assert not judged(CurvePruner(), study, [0.70, 0.80])
    # By evaluation 3 they had moved: the same hopeless trial is now stopped.
    assert judged(CurvePruner(), study, [0.70, 0.80, 0.80])


def test_a_trial_worse_than_chance_is_judged_even_in_warmup() -> None:
    at_chance = [[0.69, 0.69, 0.69], [0.69, 0.688, 0.689]]  # nothing learns (a tiny model)
    study = study_with(at_chance)
    assert not judged(CurvePruner(), study, [0.70])  # at chance, like the others: kept
    assert judged(CurvePruner(), study, [5.0])  # diverging (lr far too high): stopped


# MCC (maximized, chance level 0): two finished trials that learned after evaluation 1.
MCC_LEARNED = [[0.0, 0.01, 0.12, 0.25, 0.30, 0.31], [0.0, -0.02, 0.05, 0.20, 0.28, 0.33]]


def test_a_noisy_mcc_below_zero_at_the_start_is_not_diverging() -> None:
    # Issue 22: a relative chance tolerance is 0 for a chance level of 0, so one noisy MCC of
    # -0.048 read as worse than chance (diverging) and a 20-epoch trial was pruned there.
    study = study_with(MCC_LEARNED, direction="maximize")
    assert not judged(CurvePruner(), study, [-0.048], final_step=40)
    assert judged(CurvePruner(chance_floor=0.0), study, [-0.048], final_step=40)  # the old rule


@pytest.mark.parametrize("curve", [[-0.30], [-0.06, -0.10, -0.12]])
def test_a_trial_far_below_a_zero_chance_level_is_still_judged(curve: list[float]) -> None:
    study = study_with(MCC_LEARNED, direction="maximize")
    assert judged(CurvePruner(), study, curve, final_step=40)


def test_a_diverging_loss_is_still_pruned_with_the_floor() -> None:
    at_chance = [[0.69, 0.69, 0.69], [0.69, 0.688, 0.689]]
    study = study_with(at_chance)
    # ln 2 is far from 0: its tolerance stays relative (2 %), the floor does not widen it.
    assert judged(CurvePruner(chance_floor=0.05), study, [0.75])
    assert not judged(CurvePruner(chance_floor=0.05), study, [0.70])


# Finished trials of 6 evaluations that learned (left the chance level 0.69 by far).
LEARNED = [FAST, BLOOMER]
STUCK = [0.69, 0.69, 0.688, 0.69]  # a trial at chance through 4 of its evaluations


@pytest.mark.parametrize(
    ("finished", "final_step", "pruned"),
    [
        (LEARNED, 6, True),  # 4 of 6 evaluations at chance while others learned: cut
        (LEARNED, 20, False),  # early in a long schedule (4 of 20): its reach decides, kept
        ([[0.69, 0.69, 0.69], [0.69, 0.688, 0.689], [0.69, 0.69, 0.69]], 6, False),  # nobody did
    ],
)
def test_a_trial_still_at_chance_late_is_cut_only_while_others_learned(
    finished: list[list[float]], final_step: int, pruned: bool
) -> None:
    study = study_with(finished)
    pruner = CurvePruner(chance_cut=0.5, quantile=1.0, margin=10.0)  # reach alone never prunes
    assert judged(pruner, study, STUCK, final_step=final_step) is pruned
    assert not judged(CurvePruner(chance_cut=None, margin=10.0), study, STUCK, final_step=6)


def test_the_late_chance_cut_uses_the_tasks_chance_level_where_recorded() -> None:
    # The finished trials learned the class prior (0.61) and more; the trial learned only the
    # prior. Against the median first value (0.69) it left chance; against the task's chance
    # level (the prior's cross-entropy, 0.61) it did not.
    study = study_with([[0.69, 0.62, 0.50, 0.45], [0.69, 0.61, 0.55, 0.52]])
    prior = [0.69, 0.62, 0.615, 0.612]
    pruner = CurvePruner(chance_cut=0.5, margin=10.0)
    assert not judged(pruner, study, prior, final_step=6)
    study.set_user_attr("task_info", {"monitor": "val_loss", "chance": {"val_loss": 0.611}})
    assert judged(pruner, study, prior, final_step=6)


def test_the_shipped_curve_pruner_has_the_chance_floor_and_cut() -> None:
    from sweeper.config import compose, resolve
    from sweeper.study import build_pruner

    pruner = build_pruner(resolve(compose(["pruner=curve"]))["pruner"])
    assert isinstance(pruner, CurvePruner)
    assert pruner.chance_floor == 0.05 and pruner.chance_cut == 0.75


@pytest.mark.parametrize(
    ("stuck", "pruned"),
    [
        (STUCK, False),  # 4 of 6 evaluations at chance: a small-data plateau, not yet cut
        ([*STUCK, 0.69], True),  # 5 of 6: still at chance late while others learned
    ],
)
def test_the_shipped_chance_cut_waits_past_a_small_data_plateau(
    stuck: list[float], pruned: bool
) -> None:
    # CoLA 2,000 (v2 bank): learners sit at chance for up to 60 % of a 10-epoch schedule; the
    # cut at half of it pruned them (and the best configuration with them) in most sweeps.
    from sweeper.config import compose, resolve
    from sweeper.study import build_pruner

    shipped = build_pruner(resolve(compose(["pruner=curve"]))["pruner"])
    assert isinstance(shipped, CurvePruner)
    pruner = CurvePruner(chance_cut=shipped.chance_cut, margin=10.0)  # reach alone never prunes
    assert judged(pruner, study_with(LEARNED), stuck, final_step=6) is pruned


def test_needs_n_startup_trials_that_ran_past_the_step() -> None:
    study = study_with([BLOOMER, [0.69, 0.50]])  # the second ended at evaluation 2
    assert not judged(CurvePruner(n_startup_trials=2), study, [0.69, 0.69, 0.69])
    assert judged(CurvePruner(n_startup_trials=1), study, [0.69, 0.69, 0.69])


def test_maximize_mirrors_minimize() -> None:
    acc = lambda curve: [1.0 - v for v in curve]  # noqa: E731
    study = study_with([acc(FAST), acc(BLOOMER)], direction="maximize")
    assert not judged(CurvePruner(), study, acc([0.69, 0.66]))
    assert judged(CurvePruner(), study, acc([0.69, 0.69, 0.69, 0.69]))


def test_margin_and_quantile_make_it_more_lenient_or_stricter() -> None:
    study = study_with([FAST, BLOOMER])
    curve = [0.69, 0.60, 0.45, 0.42]  # reach 0.32 vs best 0.30
    assert judged(CurvePruner(), study, curve)
    assert not judged(CurvePruner(margin=0.1), study, curve)  # 0.32 < 0.30 * 1.1
    assert judged(CurvePruner(quantile=0.0), study, [0.69, 0.60, 0.45, 0.39])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_startup_trials": 0}, "n_startup_trials must be >= 1"),
        ({"n_warmup_steps": -1}, "n_warmup_steps must be >= 0"),
        ({"quantile": 1.5}, r"quantile must be in \[0, 1\]"),
        ({"margin": -0.1}, "margin must be >= 0"),
        ({"chance_delta": -1}, "chance_delta must be >= 0"),
        ({"chance_floor": -0.1}, "chance_floor must be >= 0"),
        ({"chance_cut": 0.0}, r"chance_cut must be in \(0, 1\] or None"),
        ({"chance_cut": 1.5}, r"chance_cut must be in \(0, 1\] or None"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        CurvePruner(**kwargs)  # type: ignore[arg-type]


def test_pruner_curve_builds_from_config() -> None:
    from sweeper.config import compose, resolve
    from sweeper.study import build_pruner

    pruner = build_pruner(resolve(compose(["pruner=curve"]))["pruner"])
    assert isinstance(pruner, CurvePruner)


# Finished 2-epoch trials (4 evaluations): the best gained 0.06 after evaluation 1.
SHORT = [[0.50, 0.46, 0.45, 0.44], [0.45, 0.42, 0.40, 0.39]]


@pytest.mark.parametrize(
    ("horizon_power", "final_step", "value", "pruned"),
    [
        (0.0, 12, 0.47, True),  # not scaled: 0.47 - 0.06 = 0.41 > 0.39 * 1.05
        (0.5, 12, 0.47, False),  # 11 evaluations left vs 3: 0.06 * sqrt(11 / 3) = 0.115
        (1.0, 12, 0.47, False),
        (0.5, 4, 0.47, True),  # the same schedule as the finished ones: not scaled up
        (0.5, None, 0.47, True),  # no planned end recorded: not scaled
        (0.0, 2, 0.46, False),  # not scaled: 0.46 - 0.06 = 0.40 <= 0.4095
        (0.5, 2, 0.46, True),  # 1 evaluation left vs 3: credited 0.06 * sqrt(1 / 3) only
    ],
)
def test_a_schedules_length_scales_what_it_may_still_gain(
    horizon_power: float, final_step: int | None, value: float, pruned: bool
) -> None:
    # A trial judged at evaluation 1 against 2-epoch trials (4 evaluations) that finished: a
    # low-LR 6-epoch one has 11 evaluations left to improve in, a 1-epoch one has 1; they had 3.
    study = study_with(SHORT)
    pruner = CurvePruner(horizon_power=horizon_power)
    assert judged(pruner, study, [value], final_step=final_step) is pruned


def test_horizon_power_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="horizon_power must be >= 0 but got -1"):
        CurvePruner(horizon_power=-1)
