"""``python -m sweeper.schedule``: draw the LR schedules of given settings before any training.

The command apart from the step math it calls (:mod:`sweeper.schedule`): it composes
``+experiment=glue`` for unset values, checks values as trials do, and draws a PNG.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.errors import ConfigError
from sweeper.schedule import SCHEDULER_PARAMS, lr_curve

if TYPE_CHECKING:
    from sweeper.settings import TrainSettings


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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sweeper.schedule [key=value ...]``; the exit code."""
    return preview(argv)


__all__ = ["main", "preview"]
