"""Step math and the learning-rate scheduler factory (pure: no config, no files, no plots).

This is the one place that knows how many optimizer steps a trial takes and which learning rate
each step uses. The training loops, the tracking code, the recommendation and the preview command
(:mod:`sweeper.preview`, run as ``python -m sweeper.schedule``) all call it, so what the preview
draws is what trials run.

Conventions (pinned by ``tests/test_schedule.py``):

* batches per epoch = ``len(train_dataloader)``: ``ceil(N / batch)``, or ``floor`` with
  ``drop_last``;
* optimizer steps per epoch = ``ceil(batches / grad_accum)``; the optimizer steps on batch ``i``
  when ``(i + 1) % grad_accum == 0 or i == last`` (never on batch 0 unless ``grad_accum == 1``);
* ``num_training_steps = num_epochs * steps_per_epoch``;
  ``num_warmup_steps = min(ceil(warmup_ratio * num_training_steps), num_training_steps - 1)``
  unless ``warmup_steps`` is set; 0 for ``constant``, which has no warmup;
* the LR curve point at step ``k`` (0-based) is the learning rate the ``k``-th update used, so a
  full trial logs exactly ``num_training_steps`` points and the curve peaks at the base LR at
  ``k == num_warmup_steps``, except ``cosine_warmup_with_min_lr``, whose warmup (transformers'
  own) reaches the base LR one update earlier, at ``k == num_warmup_steps - 1``.

Early stopping ends a trial early but never changes its schedule: the horizon is always the
trial's ``num_epochs`` (recorded as ``schedule_horizon_epochs``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sweeper.errors import ConfigError

if TYPE_CHECKING:
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LambdaLR

# Each scheduler type and the parameters it takes, with their defaults. The transformers types
# are built by `transformers.get_scheduler`; `step` and `exponential` (warmup, then decay by
# `gamma`) are the two that transformers does not offer. `reduce_lr_on_plateau` and `greedy`
# are left out: they react to metrics, so no step count describes them in advance.
SCHEDULERS: dict[str, dict[str, Any]] = {
    "linear": {},
    "cosine": {"num_cycles": 0.5},
    "cosine_with_restarts": {"num_cycles": 1},
    "polynomial": {"lr_end": 1e-7, "power": 1.0},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {"timescale": None},
    "cosine_with_min_lr": {"num_cycles": 0.5, "min_lr_rate": 0.1},
    "cosine_warmup_with_min_lr": {"num_cycles": 0.5, "min_lr_rate": 0.1},
    "warmup_stable_decay": {"decay_ratio": 0.1, "min_lr_ratio": 0.0, "decay_type": "cosine"},
    "step": {"step_size_epochs": 1.0, "gamma": 0.5},
    "exponential": {"gamma": 0.5},
}
SCHEDULER_PARAMS: frozenset[str] = frozenset(p for ps in SCHEDULERS.values() for p in ps)
_CUSTOM = frozenset({"step", "exponential"})
WSD_DECAY_TYPES = ("cosine", "linear", "1-sqrt")


def batches_per_epoch(*, num_examples: int, batch_size: int, drop_last: bool = False) -> int:
    """``len(DataLoader)`` for a map-style dataset: ceil, or floor with ``drop_last``."""
    if num_examples < 1:
        raise ConfigError(f"num_examples must be >= 1 but got {num_examples}.")
    if batch_size < 1:
        raise ConfigError(f"train.batch_size must be >= 1 but got {batch_size}.")
    if drop_last:
        n = num_examples // batch_size
        if n == 0:
            raise ConfigError(
                f"train.drop_last=true with train.batch_size={batch_size} leaves no batch of "
                f"{num_examples} examples; lower the batch size or set drop_last=false."
            )
        return n
    return math.ceil(num_examples / batch_size)


def is_update_batch(i: int, *, grad_accum: int, last: int) -> bool:
    """Whether the optimizer steps after batch ``i`` (0-based) of an epoch ending at ``last``."""
    return (i + 1) % grad_accum == 0 or i == last


def update_group_size(i: int, *, grad_accum: int, batches: int) -> int:
    """How many batches the update that batch ``i`` (0-based) belongs to accumulates.

    ``grad_accum``, except the last group of an epoch of ``batches``, which holds the rest; a
    loop divides each batch's loss by it so every update averages its own batches.
    """
    return min(grad_accum, batches - i // grad_accum * grad_accum)


def warmup_steps_for(
    *, num_training_steps: int, warmup_ratio: float, warmup_steps: int | None = None
) -> int:
    """``ceil(warmup_ratio * num_training_steps)`` capped at ``num_training_steps - 1``, or
    ``warmup_steps`` when that is set (it must be below ``num_training_steps``)."""
    if warmup_steps is not None:
        if warmup_steps < 0 or warmup_steps >= num_training_steps:
            raise ConfigError(
                f"train.warmup_steps must be in [0, {num_training_steps}) (the trial's "
                f"num_training_steps) but got {warmup_steps}."
            )
        return int(warmup_steps)
    if not 0.0 <= warmup_ratio < 1.0:
        raise ConfigError(f"train.warmup_ratio must be in [0, 1) but got {warmup_ratio}.")
    # round() first: 0.07 * 100 is 7.000000000000001 in floating point and must give 7, not 8.
    # Capped at total - 1 so at least one update runs after warmup: warmup over the whole
    # schedule trains at LR 0 (linear, cosine) or divides by zero (polynomial).
    return min(math.ceil(round(warmup_ratio * num_training_steps, 9)), num_training_steps - 1)


@dataclass(frozen=True, kw_only=True)
class StepPlan:
    """All step arithmetic of one trial. Build it with :func:`plan_steps`."""

    num_examples: int
    batch_size: int
    grad_accum: int
    drop_last: bool
    num_epochs: int
    batches_per_epoch: int
    steps_per_epoch: int
    num_training_steps: int
    num_warmup_steps: int

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size * self.grad_accum

    def epochs_at(self, step: int) -> float:
        """Epochs trained after ``step`` optimizer updates (fractional mid-epoch)."""
        return step / self.steps_per_epoch

    def eval_steps(self, evals_per_epoch: int) -> list[int]:
        """Update counts after which to evaluate: evenly spaced, ending each epoch's last step.

        With fewer updates per epoch than evaluations, coinciding points collapse to one.
        """
        if evals_per_epoch < 1:
            raise ConfigError(f"train.evals_per_epoch must be >= 1 but got {evals_per_epoch}.")
        spe = self.steps_per_epoch
        points = {
            epoch * spe + max(1, round(k * spe / evals_per_epoch))
            for epoch in range(self.num_epochs)
            for k in range(1, evals_per_epoch + 1)
        }
        return sorted(points)

    def as_params(self) -> dict[str, int | bool]:
        """The derived numbers a trial records next to its sampled hyperparameters."""
        return {
            "num_examples": self.num_examples,
            "batches_per_epoch": self.batches_per_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "num_training_steps": self.num_training_steps,
            "num_warmup_steps": self.num_warmup_steps,
            "effective_batch_size": self.effective_batch_size,
            # Early stopping never shortens the schedule: it always spans num_epochs.
            "schedule_horizon_epochs": self.num_epochs,
        }

    def banner(self) -> str:
        """The one start-up line per trial."""
        return (
            f"examples={self.num_examples:,} epochs={self.num_epochs} batch={self.batch_size} "
            f"accum={self.grad_accum} effective_batch={self.effective_batch_size} "
            f"steps/epoch={self.steps_per_epoch} total_steps={self.num_training_steps} "
            f"warmup_steps={self.num_warmup_steps}"
        )


def whole_epochs(epoch: float) -> int:
    """The whole-epoch count a user would set to include a point at ``epoch`` (rounded up, >= 1).

    ``round(..., 9)`` first: 1.0000000001 epochs (float noise of ``step / steps_per_epoch``)
    is 1 epoch, not 2.
    """
    return max(1, math.ceil(round(epoch, 9)))


def plan_steps(
    *,
    num_examples: int,
    batch_size: int,
    num_epochs: int,
    grad_accum: int = 1,
    drop_last: bool = False,
    warmup_ratio: float = 0.0,
    warmup_steps: int | None = None,
) -> StepPlan:
    """The step plan of a trial.

    Args:
        num_examples: Training examples per epoch.
        batch_size: Examples per forward pass (per device batch).
        num_epochs: Epochs the schedule spans (the horizon, even if the trial stops early).
        grad_accum: Batches accumulated per optimizer update.
        drop_last: Whether the data loader drops an incomplete last batch.
        warmup_ratio: Fraction of ``num_training_steps`` spent warming up, in [0, 1).
        warmup_steps: Absolute warmup steps; when set it takes precedence over the ratio.

    Returns:
        The frozen :class:`StepPlan`.
    """
    if num_epochs < 1:
        raise ConfigError(f"train.num_epochs must be >= 1 but got {num_epochs}.")
    if grad_accum < 1:
        raise ConfigError(f"train.grad_accum must be >= 1 but got {grad_accum}.")
    batches = batches_per_epoch(
        num_examples=num_examples, batch_size=batch_size, drop_last=drop_last
    )
    steps_per_epoch = math.ceil(batches / grad_accum)
    total = num_epochs * steps_per_epoch
    return StepPlan(
        num_examples=num_examples,
        batch_size=batch_size,
        grad_accum=grad_accum,
        drop_last=drop_last,
        num_epochs=num_epochs,
        batches_per_epoch=batches,
        steps_per_epoch=steps_per_epoch,
        num_training_steps=total,
        num_warmup_steps=warmup_steps_for(
            num_training_steps=total, warmup_ratio=warmup_ratio, warmup_steps=warmup_steps
        ),
    )


def scheduler_kwargs_for(name: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters scheduler ``name`` runs with: its defaults, updated by ``overrides``.

    Overrides that ``name`` does not take are ignored (a searched ``gamma`` means nothing to
    ``linear``); ``None`` keeps the default. Unknown names are an error.
    """
    if name not in SCHEDULERS:
        raise ConfigError(f"train.scheduler must be one of {sorted(SCHEDULERS)} but got {name!r}.")
    params = dict(SCHEDULERS[name])
    for key, value in (overrides or {}).items():
        if key not in SCHEDULER_PARAMS:
            raise ConfigError(
                f"train.scheduler_kwargs.{key} is not a scheduler parameter; allowed: "
                f"{sorted(SCHEDULER_PARAMS)}."
            )
        if key in params and value is not None:
            params[key] = value
    return params


def _warmup_then_step_decay(
    step: int, *, num_warmup_steps: int, period: int, gamma: float
) -> float:
    if step < num_warmup_steps:
        return step / max(1, num_warmup_steps)
    return float(gamma ** ((step - num_warmup_steps) // period))


def _warmup_then_exponential_decay(
    step: int, *, num_warmup_steps: int, steps_per_epoch: int, gamma: float
) -> float:
    if step < num_warmup_steps:
        return step / max(1, num_warmup_steps)
    return float(gamma ** ((step - num_warmup_steps) / steps_per_epoch))


def lr_lambda(name: str, *, plan: StepPlan, kwargs: Mapping[str, Any]) -> Any:
    """The multiplier function of the two schedules transformers lacks (closed form).

    ``step``: linear warmup, then ``gamma ** floor((k - warmup) / period)`` with
    ``period = round(step_size_epochs * steps_per_epoch)``; ``exponential``: linear warmup, then
    ``gamma ** ((k - warmup) / steps_per_epoch)``, i.e. ``gamma`` per epoch, smoothly per step.
    """
    params = scheduler_kwargs_for(name, kwargs)
    if name == "step":
        period = max(1, round(params["step_size_epochs"] * plan.steps_per_epoch))
        return partial(
            _warmup_then_step_decay,
            num_warmup_steps=plan.num_warmup_steps,
            period=period,
            gamma=params["gamma"],
        )
    if name == "exponential":
        return partial(
            _warmup_then_exponential_decay,
            num_warmup_steps=plan.num_warmup_steps,
            steps_per_epoch=plan.steps_per_epoch,
            gamma=params["gamma"],
        )
    raise ValueError(f"lr_lambda covers only {sorted(_CUSTOM)} but got {name!r}.")


def build_scheduler(
    optimizer: Optimizer, *, name: str, plan: StepPlan, kwargs: Mapping[str, Any] | None = None
) -> LambdaLR:
    """The scheduler a trial trains with; step it once per optimizer update.

    Args:
        optimizer: The optimizer whose ``lr`` is the peak (base) learning rate.
        name: A key of :data:`SCHEDULERS`.
        plan: The trial's :class:`StepPlan`.
        kwargs: Scheduler parameters (``train.scheduler_kwargs``); see :data:`SCHEDULERS`.
    """
    params = scheduler_kwargs_for(name, kwargs)
    if name in _CUSTOM:
        from torch.optim.lr_scheduler import LambdaLR

        return LambdaLR(optimizer, lr_lambda(name, plan=plan, kwargs=kwargs or {}))

    from transformers import get_scheduler

    if name == "warmup_stable_decay":
        params["num_decay_steps"] = max(
            1, round(params.pop("decay_ratio") * plan.num_training_steps)
        )
        if params["num_decay_steps"] > plan.num_training_steps - plan.num_warmup_steps:
            raise ConfigError(
                "train.scheduler_kwargs.decay_ratio leaves no room after warmup: "
                f"{params['num_decay_steps']} decay + {plan.num_warmup_steps} warmup steps > "
                f"{plan.num_training_steps} total."
            )
    elif name == "inverse_sqrt" and params["timescale"] is None:
        del params["timescale"]
    elif name == "polynomial":
        base_lr = optimizer.defaults["lr"]
        if not params["lr_end"] < base_lr:
            raise ConfigError(
                f"train.scheduler_kwargs.lr_end must be below the learning rate ({base_lr}) "
                f"but got {params['lr_end']}."
            )
    scheduler: LambdaLR = get_scheduler(
        name,
        optimizer,
        num_warmup_steps=plan.num_warmup_steps,
        num_training_steps=plan.num_training_steps,
        scheduler_specific_kwargs=params,
    )
    return scheduler


def peak_step(name: str, plan: StepPlan) -> int:
    """The 0-based update at which scheduler ``name`` first trains at the base LR.

    The end of warmup (``num_warmup_steps``), except ``cosine_warmup_with_min_lr``, whose
    warmup (transformers' own, ``(k + 1) / warmup``) reaches the base LR one update earlier,
    and ``constant``, which has no warmup.
    """
    if name == "constant":
        return 0
    if name == "cosine_warmup_with_min_lr" and plan.num_warmup_steps > 0:
        return plan.num_warmup_steps - 1
    return plan.num_warmup_steps


def probe_scheduler(
    *, name: str, plan: StepPlan, base_lr: float, kwargs: Mapping[str, Any] | None = None
) -> tuple[Optimizer, LambdaLR]:
    """The schedule built on a one-parameter optimizer (no model): to check or trace it."""
    import torch

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    return optimizer, build_scheduler(optimizer, name=name, plan=plan, kwargs=kwargs)


def lr_curve(
    *, name: str, plan: StepPlan, base_lr: float, kwargs: Mapping[str, Any] | None = None
) -> list[float]:
    """The learning rate of every optimizer update of a full trial (``num_training_steps``)."""
    optimizer, scheduler = probe_scheduler(name=name, plan=plan, base_lr=base_lr, kwargs=kwargs)
    curve = []
    for _ in range(plan.num_training_steps):
        curve.append(float(scheduler.get_last_lr()[0]))
        optimizer.step()
        scheduler.step()
    return curve
