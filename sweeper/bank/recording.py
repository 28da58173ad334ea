"""Recording a bank: the exhaustive grid study run through :func:`sweeper.run.run` (unpruned,
no early stopping, every point queued), exported with its measured seconds and its provenance.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import platform
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sweeper.bank.exporting import export
from sweeper.bank.file import Bank, save
from sweeper.bank.grid import grid_overrides
from sweeper.bank.timing import TimedObjective, read_timings


def provenance(argv: Sequence[str]) -> dict[str, Any]:
    """Where and how a bank was made: command, commit, machine, versions, date."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    versions = {}
    for name in ("torch", "transformers", "optuna"):
        with contextlib.suppress(ImportError):
            versions[name] = importlib.import_module(name).__version__
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "command": " ".join(["python -m sweeper.bank", *argv]),
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu,
            "cores": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version(),
            **versions,
        },
    }


def record(
    *,
    out: Path,
    results_dir: Path,
    grid: Mapping[str, Sequence[Any]],
    overrides: Sequence[str],
    argv: Sequence[str] = (),
) -> Bank:
    """Run the exhaustive grid study (resuming it if it exists) and export its bank to ``out``.

    Every trial trains its whole schedule: ``pruner=none``, ``train.patience=null`` and
    ``train.divergence_factor=null`` (a replay re-applies divergence from the recorded initial
    loss), every evaluation recorded. ``overrides`` (data, model, train...) come last.
    """
    import optuna

    from sweeper.config import compose
    from sweeper.run import run

    n = math.prod(len(v) for v in grid.values())
    results_dir.mkdir(parents=True, exist_ok=True)
    name_cfg = compose([f"results_dir={results_dir}", *overrides])
    study_name = f"bank-{name_cfg.data.task}"
    log = results_dir / f"{study_name}.timings.jsonl"
    # Class attributes: sweeper builds the objective from its class name, with no other way in.
    TimedObjective.inner = str(name_cfg.objective)
    TimedObjective.log = log
    cfg = compose(
        [
            f"results_dir={results_dir}",
            "objective=sweeper.bank.TimedObjective",
            *grid_overrides(grid),
            "sampler=random",
            "pruner=none",
            "storage=sqlite",
            "tracking=none",
            "train.patience=null",
            "train.divergence_factor=null",
            "sweep.portfolio=none",  # the grid is the whole start (and the bank's identity)
            f"sweep.n_trials={n}",
            f"sweep.study_name={study_name}",
            "quiet=true",
            # The objective named there runs inside TimedObjective (set above).
            *(o for o in overrides if not o.startswith("objective=")),
        ]
    )
    started = time.perf_counter()
    run(cfg)
    wall = time.perf_counter() - started
    storage = f"sqlite:///{results_dir / 'optuna.db'}"
    study = optuna.load_study(study_name=study_name, storage=storage)
    cfg_model = dict(cfg.model)
    data = {
        k: cfg.data.get(k)
        for k in (
            "task",
            "source",
            "max_train_samples",
            "max_eval_samples",
            "max_seq_length",
            "validation",
        )
    }
    bank = export(
        study,
        grid=grid,
        timings=read_timings(log),
        provenance={
            **provenance(argv),
            "data": data,
            "model": {k: cfg_model.get(k) for k in ("name_or_path", "num_hidden_layers")},
            "grid_size": n,
            "wall_s_this_run": round(wall, 1),
            "overrides": list(overrides),
            "note": "GLUE examples are not in the bank: only the curves of our own runs.",
        },
    )
    save(bank, out)
    return bank
