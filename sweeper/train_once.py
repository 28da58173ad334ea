"""One training run: the objective the config names, the device, the reporter, the call.

The one training path: sweep trials (:mod:`sweeper.run`), recommendation seeds and
confirmations (:mod:`sweeper.recommend.selection`) and ``python -m sweeper.train`` all go through
:func:`train_once` with a reporter from :func:`new_reporter`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweeper.errors import NonFiniteLossError
from sweeper.objective import Objective, load_objective
from sweeper.settings import TrainSettings
from sweeper.trial_reporter import CurveSink, PruneHook, TrialReporter, Watcher


def make_objective(cfg: Mapping[str, Any]) -> Objective:
    """The objective named by ``objective:``, built from the data and model nodes."""
    objective: Objective = load_objective(str(cfg.get("objective")))(
        data=cfg["data"], model=cfg["model"], seed=int(cfg["seed"])
    )
    return objective


def resolve_device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def new_reporter(
    settings: TrainSettings,
    *,
    monitor: str,
    direction: str,
    chance: float | None,
    prune: PruneHook | None = None,
    curves: CurveSink | None = None,
    watcher: Watcher | None = None,
) -> TrialReporter:
    """The reporter of one training run with ``settings`` (early stopping, divergence...).

    ``chance``: the monitored value's chance level on this data (``TaskInfo.chance``), or None
    where the objective reports none. Required, so that no training path forgets it: without
    it, early stopping ends a small-data run on its plateau at chance, before it learns, where
    a sweep's trial waits."""
    return TrialReporter(
        monitor=monitor,
        direction=direction,
        patience=settings.patience,
        min_delta=settings.min_delta,
        select_window=settings.select_window,
        evals_per_epoch=settings.evals_per_epoch,
        divergence_factor=settings.divergence_factor,
        chance=chance,
        prune=prune,
        curves=curves,
        watcher=watcher,
    )


def train_once(
    objective: Objective, settings: TrainSettings, reporter: TrialReporter, *, device: str
) -> TrialReporter:
    """Train once with ``settings``; a non-finite loss ends it as recorded in the reporter.

    The one training path: sweep trials, recommendation seeds and confirmations, and
    ``python -m sweeper.train`` all go through it.
    """
    try:
        objective.train(settings, reporter, device=device)
    except NonFiniteLossError as err:
        reporter.non_finite(err.step)
    return reporter


__all__ = ["make_objective", "new_reporter", "resolve_device", "train_once"]
