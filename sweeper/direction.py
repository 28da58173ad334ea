"""Which value trials optimize, and which way: the one place that says so."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Literal

Direction = Literal["minimize", "maximize"]

# sweep.objective: auto (the default) picks per task type (:func:`monitored`); val_loss and
# metric fix it.
OBJECTIVES = ("auto", "val_loss", "metric")

# Main metrics that a constant prediction scores well on, and what `auto` selects on instead
# (where the objective reports it). F1 of the positive class gives a model that predicts
# "positive" for everything 2p / (1 + p): 0.81 on MRPC's dev set (68 % positive), above many
# models that learned something; accuracy ranks any model that beats the majority rate above
# that constant prediction.
PRIOR_FAVOURING = {"f1": "accuracy"}


def monitored(
    objective: str,
    *,
    metric: str,
    is_regression: bool = False,
    reported: Collection[str] = (),
) -> str:
    """What trials optimize: ``val_loss``, or a metric the objective reports.

    Args:
        objective: ``sweep.objective``: ``val_loss``, ``metric`` (the task's main ``metric``)
            or ``auto``: classification selects on the task metric (the validation loss
            prefers a model that predicts the class prior on imbalanced small data:
            docs/benchmarks.md §7, CoLA at 1,000 examples), on accuracy where the main metric
            is one a constant prediction scores well on (:data:`PRIOR_FAVOURING`, if
            ``reported``); regression on the validation loss (the MSE it trains on).
        metric: The task's main metric (``val_loss`` where an objective has none).
        is_regression: The task is a regression.
        reported: The metrics the objective reports (empty: unknown).
    """
    if objective == "val_loss" or metric == "val_loss":
        return "val_loss"
    if objective == "metric":
        return metric
    if is_regression:
        return "val_loss"
    instead = PRIOR_FAVOURING.get(metric)
    return instead if instead is not None and instead in reported else metric


def why_monitored(objective: str, *, monitor: str, metric: str, is_regression: bool = False) -> str:
    """Why trials optimize ``monitor``, in one line (for the start-up lines)."""
    if objective != "auto":
        return f"sweep.objective={objective}"
    if metric == "val_loss":
        return "sweep.objective=auto, and the objective reports no task metric"
    if is_regression:
        return (
            "sweep.objective=auto: a regression task is selected on the loss it trains on "
            f"(sweep.objective=metric: on {metric})"
        )
    prior = (
        "sweep.objective=auto: a classification task is selected on its metric, not the loss "
        "(on imbalanced small data the lowest loss can belong to a model that predicts the "
        "class prior)"
    )
    if monitor != metric:
        return (
            f"{prior}; on {monitor} rather than its main metric {metric}, which a constant "
            "majority prediction scores well on"
        )
    return f"{prior}; sweep.objective=val_loss selects on the loss"


DIRECTIONS: tuple[Direction, ...] = ("minimize", "maximize")


def direction_of(monitor: str, *, declared: Direction | None = None) -> Direction:
    """Which way ``monitor`` is optimized.

    ``val_loss`` is minimized. The task's metric goes the way its objective ``declared``
    (``TaskInfo.metric_direction``); undeclared, by its name: a name ending in ``loss`` is
    minimized, every other (accuracy, F1, correlations) maximized, so an error metric such as
    ``rmse``, ``mae`` or ``wer`` must be declared ``minimize``.
    """
    if monitor == "val_loss":
        return "minimize"
    if declared is not None:
        return declared
    return "minimize" if monitor.endswith("loss") else "maximize"


def better(a: float, b: float, direction: str) -> bool:
    """Whether ``a`` is strictly better than ``b`` when optimizing in ``direction``."""
    return a < b if direction == "minimize" else a > b


def worst(direction: str) -> float:
    """The worst value when optimizing ``direction``: what a run with no finite value counts as
    (``inf`` only under minimize; under maximize it would be the best value of all)."""
    return math.inf if direction == "minimize" else -math.inf


__all__ = [
    "DIRECTIONS",
    "OBJECTIVES",
    "PRIOR_FAVOURING",
    "Direction",
    "better",
    "direction_of",
    "monitored",
    "why_monitored",
    "worst",
]
