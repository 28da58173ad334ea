"""LR schedule previews: the curve of every combination of given train settings, before any
training, with the checks and step math trials use (``python -m sweeper.schedule`` draws them).

Unset values come from ``+experiment=glue`` (``train.*`` and ``data.max_train_samples``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.errors import ConfigError
from sweeper.schedule import SCHEDULER_PARAMS, StepPlan, lr_curve

if TYPE_CHECKING:
    from sweeper.settings import TrainSettings


# The train settings a preview varies (besides any scheduler parameter).
PREVIEW_KEYS = (
    "scheduler",
    "lr",
    "warmup_ratio",
    "warmup_steps",
    "num_epochs",
    "num_examples",
    "batch_size",
    "grad_accum",
    "drop_last",
)


@dataclass(frozen=True)
class Preview:
    """One combination's schedule: its label (the values that vary), step plan and LR curve."""

    label: str
    plan: StepPlan
    curve: list[float]
    lr: float

    def line(self) -> str:
        """The numbers a reader checks before training: steps, warmup, peak and final LR."""
        plan, curve = self.plan, self.curve
        return (
            f"{self.label}: steps/epoch={plan.steps_per_epoch} total={plan.num_training_steps} "
            f"warmup={plan.num_warmup_steps} peak_lr={max(curve):.3g} final_lr={curve[-1]:.3g}"
        )


def _preview_base() -> tuple[TrainSettings, int]:
    """The train settings and training-set size of ``+experiment=glue``."""
    from sweeper.config import compose, resolve
    from sweeper.settings import TrainSettings

    cfg = resolve(compose(["+experiment=glue"]))
    return TrainSettings.from_mapping(cfg["train"]), int(cfg["data"]["max_train_samples"] or 8000)


def lr_previews(grid: Mapping[str, Sequence[Any]]) -> list[Preview]:
    """The schedule of every combination of ``grid``'s values (keys: :data:`PREVIEW_KEYS` and
    scheduler parameters), each checked as a trial's settings are.

    Raises:
        ConfigError: a value a trial would refuse, in one line.
    """
    base, default_examples = _preview_base()
    keys = list(grid)
    previews = []
    for combo in product(*(grid[k] for k in keys)):
        chosen = dict(zip(keys, combo, strict=True))
        num_examples = chosen.pop("num_examples", default_examples)
        if isinstance(num_examples, bool) or not isinstance(num_examples, int):
            raise ConfigError(f"preview num_examples must be an integer but got {num_examples!r}.")
        # The same checks and step math as a trial: train settings validated key by key.
        settings = base.replace(
            {
                (f"scheduler_kwargs.{k}" if k in SCHEDULER_PARAMS else k): v
                for k, v in chosen.items()
            }
        )
        plan = settings.plan(num_examples)
        curve = lr_curve(
            name=settings.scheduler,
            plan=plan,
            base_lr=settings.lr,
            kwargs=settings.scheduler_kwargs,
        )
        varying = {k: v for k, v in zip(keys, combo, strict=True) if len(grid[k]) > 1}
        label = " ".join(f"{k}={v}" for k, v in varying.items()) or settings.scheduler
        previews.append(Preview(label=label, plan=plan, curve=curve, lr=settings.lr))
    return previews


def draw(previews: Sequence[Preview], out: Path, *, log_scale: bool = False) -> None:
    """The curves of ``previews`` in one PNG."""
    from sweeper.plots import plot_lr_preview

    rows = [{"label": p.label, "plan": p.plan, "curve": p.curve, "lr": p.lr} for p in previews]
    plot_lr_preview(rows, out, log_scale=log_scale)


__all__ = ["PREVIEW_KEYS", "Preview", "draw", "lr_previews"]
