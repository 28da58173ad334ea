"""Step math, the learning-rate scheduler factory and the schedule preview.

This is the one place that knows how many optimizer steps a trial takes and which learning rate
each step uses. The training loop, the tracking code, the recommendation and the preview command
all call it, so what the preview draws is what trials run.

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
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.errors import ConfigError

if TYPE_CHECKING:
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LambdaLR

    from sweeper.settings import TrainSettings

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
_WSD_DECAY_TYPES = ("cosine", "linear", "1-sqrt")


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


# --------------------------------------------------------------------------- preview command

_PREVIEW_KEYS = (
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
_PREVIEW_USAGE = """\
usage: python -m sweeper.schedule [key=value[,value...] ...] [out=lr_preview.png]

Draws the LR curve of every combination of the given values, before any training, with the
same code trials use. Keys: scheduler, lr, warmup_ratio, warmup_steps, num_epochs,
num_examples, batch_size, grad_accum, drop_last, any scheduler parameter
({params}), out (PNG path), log (true: log-scale LR axis).
Unset keys come from `+experiment=glue` (train.* and data.max_train_samples).

example: python -m sweeper.schedule scheduler=cosine,linear,step warmup_ratio=0.1 num_epochs=3
"""


def _parse_value(key: str, text: str) -> Any:
    """One command-line value, by the YAML scalar rules of ``conf/`` (``1e-4``, ``false``)."""
    from omegaconf import OmegaConf

    try:
        parsed = OmegaConf.to_container(OmegaConf.create(f"v: {text}"))
    except Exception:  # any parse failure is the same bad value
        raise ConfigError(f"preview {key}={text!r} is not a YAML scalar.") from None
    assert isinstance(parsed, dict)
    return parsed["v"]


def _preview_base() -> tuple[TrainSettings, int]:
    """The train settings and training-set size of ``+experiment=glue``."""
    from sweeper.config import compose, resolve
    from sweeper.settings import TrainSettings

    cfg = resolve(compose(["+experiment=glue"]))
    return TrainSettings.from_mapping(cfg["train"]), int(cfg["data"]["max_train_samples"] or 8000)


def preview(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sweeper.schedule``; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(_PREVIEW_USAGE.format(params=", ".join(sorted(SCHEDULER_PARAMS))))
        return 0
    try:
        rows = _preview_rows(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0 if rows else 1


def _preview_rows(args: Sequence[str]) -> list[dict[str, Any]]:
    grid: dict[str, list[Any]] = {}
    out = Path("lr_preview.png")
    log_scale = False
    allowed = {*_PREVIEW_KEYS, *SCHEDULER_PARAMS}
    for arg in args:
        key, sep, text = arg.partition("=")
        if not sep:
            raise ConfigError(f"preview arguments are key=value but got {arg!r}.")
        if key == "out":
            out = Path(text)
        elif key == "log":
            log_scale = _parse_value(key, text)
            if not isinstance(log_scale, bool):
                raise ConfigError(f"preview log must be true or false but got {text!r}.")
        elif key in allowed:
            grid[key] = [_parse_value(key, v) for v in text.split(",")]
        else:
            raise ConfigError(
                f"preview key {key!r} is unknown; allowed: {sorted({*allowed, 'out', 'log'})}."
            )
    base, default_examples = _preview_base()
    keys = list(grid)
    rows = []
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
        rows.append({"label": label, "plan": plan, "curve": curve, "lr": settings.lr})
        print(
            f"{label}: steps/epoch={plan.steps_per_epoch} total={plan.num_training_steps} "
            f"warmup={plan.num_warmup_steps} peak_lr={max(curve):.3g} "
            f"final_lr={curve[-1]:.3g}"
        )
    from sweeper.plots import plot_lr_preview

    plot_lr_preview(rows, out, log_scale=log_scale)
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    raise SystemExit(preview())
