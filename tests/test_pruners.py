"""CurvePruner on synthetic learning curves: late bloomers kept, flat losers stopped."""

from __future__ import annotations

from collections.abc import Sequence

import optuna
import pytest

from sweeper.pruners import CurvePruner
from sweeper.results import FINAL_STEP_KEY

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
