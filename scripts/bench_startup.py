"""Figure 5: start-up, ``python -m sweeper +experiment=glue --cfg job`` (goal: <= 1.5 s).

Printing the composed config must not import the heavy libraries (torch, transformers, MLflow,
Optuna, datasets...): they load when training starts. Each command runs as a fresh process,
interleaved repetition by repetition, against two floors: the bare interpreter and the import
of Hydra itself (which any Hydra app pays). One more run with ``-X importtime`` lists the heavy
modules the command imported (the goal is none).

    python -m scripts.bench_startup              # 7 repetitions
    python -m scripts.bench_startup --quick      # CI smoke
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scripts import _bench
from scripts._bench import Spread, column, ratios, verdict

HEAVY = (
    "torch",
    "transformers",
    "accelerate",
    "mlflow",
    "optuna",
    "datasets",
    "sklearn",
    "scipy",
    "matplotlib",
    "pandas",
    "sqlalchemy",
    "numpy",
)
SWEEPER = "python -m sweeper +experiment=glue --cfg job"


def commands() -> dict[str, list[str]]:
    py = sys.executable
    return {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import hydra, omegaconf'": [py, "-c", "import hydra, omegaconf"],
        SWEEPER: [py, "-m", "sweeper", "+experiment=glue", "--cfg", "job"],
    }


def heavy_imports(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> list[str]:
    """Top-level heavy packages the command imports (from ``python -X importtime``)."""
    traced = [cmd[0], "-X", "importtime", *cmd[1:]]
    done = subprocess.run(traced, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    found = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip().split(".")[0]
            if name in HEAVY:
                found.add(name)
    return sorted(found)


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=7)
    args = _bench.finish_args(p.parse_args(argv))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with _bench.workdir(args.workdir) as work:
        _bench.header(
            "Start-up (figure 5)",
            [
                f"commands run as fresh processes from {work}",
                f"repetitions: {args.reps} (+{args.warmup} warm-up), commands interleaved",
            ],
        )

        def arm(cmd: list[str]) -> object:
            def timed(_rep: int) -> _bench.Measure:
                started = time.perf_counter()
                done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
                seconds = time.perf_counter() - started
                if done.returncode != 0:
                    raise RuntimeError(f"{cmd} failed ({done.returncode}): {done.stderr[-2000:]}")
                if cmd[-1] == "job" and "experiment_name: glue" not in done.stdout:
                    raise RuntimeError(f"{SWEEPER} printed no config: {done.stdout[:500]!r}")
                return {"s": seconds}

            return timed

        cmds = commands()
        results = _bench.interleaved(
            {name: arm(cmd) for name, cmd in cmds.items()},  # type: ignore[misc]
            reps=args.reps,
            warmup=args.warmup,
        )
        heavy = heavy_imports(cmds[SWEEPER], cwd=work, env=env)

    names = list(cmds)
    floor, hydra = column(results[names[0]], "s"), column(results[names[1]], "s")
    rows = []
    for name in names:
        seconds = column(results[name], "s")
        rows.append(
            [
                name,
                Spread.of(seconds).fmt(".3f"),
                ratios(seconds, floor).fmt(".1f", "x"),
                ratios(seconds, hydra).fmt(".2f", "x"),
            ]
        )
    print(_bench.table(["command", "wall s", "vs python -c pass", "vs import hydra"], rows))
    print()
    ours = Spread.of(column(results[SWEEPER], "s"))
    print(
        f"- goal 5, `{SWEEPER}` median <= 1.5 s: {ours.fmt('.3f', ' s')} -> "
        f"{verdict(ours.median, 1.5, at_most=True)}"
    )
    print(
        f"- heavy modules imported by it: {', '.join(heavy) if heavy else 'none'} "
        f"(checked: {', '.join(HEAVY)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
