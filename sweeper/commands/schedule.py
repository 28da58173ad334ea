"""``python -m sweeper.schedule [key=value[,value...] ...]``: draw the LR schedules of given
settings before any training (:mod:`sweeper.preview`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sweeper.errors import ConfigError
from sweeper.preview import PREVIEW_KEYS, draw, lr_previews
from sweeper.schedule import SCHEDULER_PARAMS

_USAGE = """\
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


def _preview(args: Sequence[str]) -> int:
    """Parse ``key=value`` arguments, print each combination's numbers, draw the PNG."""
    grid: dict[str, list[Any]] = {}
    out = Path("lr_preview.png")
    log_scale = False
    allowed = {*PREVIEW_KEYS, *SCHEDULER_PARAMS}
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
    previews = lr_previews(grid)
    for p in previews:
        print(p.line())
    draw(previews, out, log_scale=log_scale)
    print(f"wrote {out}")
    return 0 if previews else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Preview the LR schedules ``argv`` describes; the exit code (2: a bad value)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(_USAGE.format(params=", ".join(sorted(SCHEDULER_PARAMS))))
        return 0
    try:
        return _preview(args)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


__all__ = ["main"]
