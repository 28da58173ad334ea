"""How numbers, parameter sets and durations are shown: the one home for display formats."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def fmt_params(params: Mapping[str, Any]) -> str:
    """``lr=1.2e-04 warmup_ratio=0.12 scheduler=cosine`` (scheduler_kwargs. prefixes dropped)."""
    parts = []
    for key, value in params.items():
        name = key.removeprefix("scheduler_kwargs.")
        if isinstance(value, float):
            parts.append(f"{name}={value:.3g}" if abs(value) >= 1e-3 else f"{name}={value:.2e}")
        else:
            parts.append(f"{name}={value}")
    return " ".join(parts)


def fmt_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``1h02m``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def fmt_value(value: Any, digits: int = 4) -> str:
    """A table cell: floats to ``digits`` decimals (tiny ones in e-notation), ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


__all__ = ["fmt_duration", "fmt_params", "fmt_value"]
