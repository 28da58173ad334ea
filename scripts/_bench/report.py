"""What a benchmark prints: Markdown tables, the header naming the machine and versions the
figures come from, and the project's own console output kept out of the tables.
"""

from __future__ import annotations

import io
import os
import platform
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED = (
    "torch",
    "transformers",
    "accelerate",
    "optuna",
    "mlflow",
    "datasets",
    "hydra-core",
)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pastes into docs/benchmarks.md as it is)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def versions() -> str:
    found = []
    for name in VERSIONED:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"python {platform.python_version()}, " + ", ".join(found)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[str]:
    """Lines describing where the figures come from (the load shows how quiet it was)."""
    import torch

    from objectives.glue.train import cpu_supports_bf16

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = os.cpu_count() or 1
    note = " (busy: expect noisy figures)" if load > 0.5 * cores else ""
    return [
        f"machine: {cpu_name()}, {cores} logical cores, torch threads {torch.get_num_threads()}, "
        f"bf16 native: {'yes' if cpu_supports_bf16() else 'no'}, "
        f"GPU: {'yes' if torch.cuda.is_available() else 'no'}",
        f"versions: {versions()}",
        f"load average at start: {load:.2f}{note}",
    ]


def header(title: str, settings: Sequence[str]) -> None:
    print(f"## {title}\n")
    for line in [*machine(), *settings]:
        print(f"- {line}")
    print(flush=True)


@contextmanager
def silenced() -> Iterator[io.StringIO]:
    """The project's own console output (sweep summaries, banners) kept out of the tables."""
    buffer = io.StringIO()
    try:
        with redirect_stdout(buffer), redirect_stderr(buffer):
            yield buffer
    except BaseException:
        sys.stderr.write(buffer.getvalue())  # what the failing run said, for the diagnosis
        raise
