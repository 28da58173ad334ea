"""The options every benchmark takes (``--quick``, ``--reps``, ``--model``, ``--glue-dir``,
``--workdir``) and the working folder and study names they lead to.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts._bench.data import DEFAULT_MODEL


def parser(description: str, *, reps: int | None, warmup: int = 1) -> argparse.ArgumentParser:
    """The options every benchmark takes (``--reps``/``--warmup`` where it repeats runs)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        help="CI smoke size: a tiny random model, built-in data, 2 repetitions; checks that "
        "the benchmark runs, never how fast",
    )
    if reps is not None:
        p.add_argument("--reps", type=int, default=None, help=f"repetitions ({reps}; quick 2)")
        p.add_argument(
            "--warmup", type=int, default=None, help=f"unmeasured runs first ({warmup}; quick 0)"
        )
        p.set_defaults(_reps=reps, _warmup=warmup)
    p.add_argument(
        "--model",
        default=None,
        help=f"model.name_or_path (default {DEFAULT_MODEL}; quick: a tiny random BERT)",
    )
    p.add_argument(
        "--glue-dir",
        type=Path,
        default=os.environ.get("GLUE_DIR"),
        help="GLUE folder (original TSV layout; default: $GLUE_DIR); without one the built-in "
        "task is used",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where studies, MLflow stores and caches go (default: a temporary folder)",
    )
    return p


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the size defaults that depend on ``--quick``."""
    if hasattr(args, "_reps"):
        if args.reps is None:
            args.reps = 2 if args.quick else args._reps
        if args.warmup is None:
            args.warmup = 0 if args.quick else args._warmup
        if args.reps < 1 or args.warmup < 0:
            raise SystemExit("--reps must be >= 1 and --warmup >= 0")
    # Library chatter (Optuna's ExperimentalWarning, transformers' load report) off the tables,
    # as in a sweep.
    from sweeper.progress import quiet_libraries

    quiet_libraries(False)
    return args


@contextmanager
def workdir(path: Path | None) -> Iterator[Path]:
    """``path`` (created), or a temporary folder removed afterwards."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="sweeper-bench-") as tmp:
        yield Path(tmp)


def missing_bench_extra() -> bool:
    """Whether ``transformers.Trainer``'s dependency (the ``bench`` extra) is missing; says so."""
    import importlib.util

    if importlib.util.find_spec("accelerate") is not None:
        return False
    print("skipped: transformers.Trainer needs accelerate: pip install -e '.[bench]'")
    return True


def unique(prefix: str) -> str:
    """A study name no earlier run in the same ``--workdir`` used (an existing study with the
    same name would be resumed, already complete, and measure nothing)."""
    return f"{prefix}-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"
