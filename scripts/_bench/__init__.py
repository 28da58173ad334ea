"""Shared pieces of the benchmarks in ``scripts/``: repetitions, statistics, tables, machine.

Every benchmark runs its compared systems in one process run, interleaved repetition by
repetition (A B C, B C A, C A B, ...), so drift in the machine's load hits every arm alike, and
reports ratios of paired repetitions as median [min, max]. Absolute times are printed only next
to the ratios they come from.

Run the benchmarks from the repository root as modules (``python -m scripts.bench_loop``), so
that ``scripts`` is importable; what the quick modes share with the tests (the scripted
objective, the tiny model) is in ``sweeper.testing``.

One concept per module, all re-exported here (``from scripts import _bench``, ``_bench.X``):
:mod:`~scripts._bench.stats` (repetitions, spreads, verdicts), :mod:`~scripts._bench.report`
(tables, the machine header, silenced output), :mod:`~scripts._bench.args` (the common options,
work folders), :mod:`~scripts._bench.data` (data, model, a sweep's prepared data),
:mod:`~scripts._bench.timing` (seconds inside chosen methods).
"""

from __future__ import annotations

import os
from pathlib import Path

# The hub is unreachable here; without this every model load first waits for a timeout.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# MLflow logs table creation at INFO to stderr; keep the benchmark output to its tables.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent.parent

# After the environment above: the modules below import the libraries it sets up.
from scripts._bench.args import finish_args, missing_bench_extra, parser, unique, workdir  # noqa: E402
from scripts._bench.data import (  # noqa: E402
    DEFAULT_MODEL,
    Data,
    Prepared,
    data_for,
    glue_available,
    head,
    model_for,
    prepare,
)
from scripts._bench.report import (  # noqa: E402
    VERSIONED,
    cpu_name,
    header,
    machine,
    silenced,
    table,
    versions,
)
from scripts._bench.stats import Measure, Spread, column, interleaved, ratios, verdict  # noqa: E402
from scripts._bench.timing import Timer, time_spent_in  # noqa: E402

__all__ = [
    "DEFAULT_MODEL",
    "ROOT",
    "VERSIONED",
    "Data",
    "Measure",
    "Prepared",
    "Spread",
    "Timer",
    "column",
    "cpu_name",
    "data_for",
    "finish_args",
    "glue_available",
    "head",
    "header",
    "interleaved",
    "machine",
    "missing_bench_extra",
    "model_for",
    "parser",
    "prepare",
    "ratios",
    "silenced",
    "table",
    "time_spent_in",
    "unique",
    "verdict",
    "versions",
    "workdir",
]
