"""When a value has left chance: the rule the pruner, the summaries and recommend share."""

from __future__ import annotations

import math

import pytest

from sweeper.chance import chance_margin, left_chance, nothing_learned


@pytest.mark.parametrize(
    ("chance", "margin"),
    [
        (math.log(2), 0.02 * math.log(2)),  # a loss: relative
        (0.69, 0.0138),  # majority-class accuracy: relative
        (0.0, 0.05),  # MCC, Pearson, Spearman: the absolute floor
        (-0.01, 0.05),  # an estimated level near 0 is treated as 0
        (0.2, 0.004),
    ],
)
def test_the_margin_is_relative_away_from_zero_and_a_floor_near_it(
    chance: float, margin: float
) -> None:
    assert chance_margin(chance) == pytest.approx(margin)


@pytest.mark.parametrize(
    ("value", "chance", "direction", "left"),
    [
        (0.6931, math.log(2), "minimize", False),  # at chance
        (0.683, math.log(2), "minimize", False),  # 1.5 % below: not clearly
        (0.67, math.log(2), "minimize", True),
        (0.80, math.log(2), "minimize", False),  # worse than chance
        (-0.048, 0.0, "maximize", False),  # noisy MCC
        (0.048, 0.0, "maximize", False),
        (0.137, 0.0, "maximize", True),  # the CoLA recipe's MCC
        (0.72, 0.69, "maximize", True),
        (0.70, 0.69, "maximize", False),
    ],
)
def test_left_chance(value: float, chance: float, direction: str, left: bool) -> None:
    assert left_chance(value, chance, direction=direction) is left


def test_nothing_learned_is_one_line_only_when_no_value_left_chance() -> None:
    line = nothing_learned(
        [0.693, 0.690, 0.70], math.log(2), monitor="val_loss", direction="minimize"
    )
    assert line is not None and "\n" not in line
    assert "val_loss" in line and "3 finished trials" in line and "more data" in line
    assert (
        nothing_learned([0.693, 0.60], math.log(2), monitor="val_loss", direction="minimize")
        is None
    )
    # Unknown chance level or no finished trial: nothing to say.
    assert nothing_learned([0.693], None, monitor="val_loss", direction="minimize") is None
    assert nothing_learned([], 0.69, monitor="val_loss", direction="minimize") is None
