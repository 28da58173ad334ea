"""Every benchmark in sequence, each in a fresh process, with their tables in one report.

    python -m scripts.bench_all                       # the full set (about 35-40 min, 2 cores)
    python -m scripts.bench_all --quick               # CI smoke of every script
    python -m scripts.bench_all --only loop trainer   # a subset

Output is Markdown (the tables paste into docs/benchmarks.md); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from scripts import _bench

# The figures of docs/benchmarks.md, cheap ones first: a broken environment shows in seconds,
# not after the long runs.
SCRIPTS = ("startup", "tracking", "storage", "loop", "trainer", "pruning", "hpsearch", "replay")
# Benchmarks run only when named with --only (not part of the 30-minute set).
OPTIONAL: tuple[str, ...] = ()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="the smoke size of every benchmark")
    p.add_argument("--only", nargs="+", choices=SCRIPTS + OPTIONAL, default=list(SCRIPTS))
    p.add_argument("--glue-dir", type=Path, default=None, help="passed on (default: GLUE_DIR)")
    p.add_argument("--workdir", type=Path, default=None, help="parent of each script's workdir")
    args = p.parse_args(argv)

    print("# sweeper benchmarks\n")
    for line in _bench.machine():
        print(f"- {line}")
    print(flush=True)
    durations: list[list[str]] = []
    failed = []
    for name in [s for s in SCRIPTS + OPTIONAL if s in args.only]:
        cmd = [sys.executable, "-m", f"scripts.bench_{name}"]
        if args.quick:
            cmd.append("--quick")
        if args.glue_dir is not None:
            cmd += ["--glue-dir", str(args.glue_dir)]
        if args.workdir is not None:
            cmd += ["--workdir", str(args.workdir / name)]
        print(f"== {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        code = subprocess.run(cmd, cwd=_bench.ROOT).returncode
        seconds = time.perf_counter() - started
        durations.append([name, f"{seconds:.0f}", "ok" if code == 0 else f"exit code {code}"])
        if code != 0:
            failed.append(name)
        print(flush=True)
    print("## Benchmark run times\n")
    print(_bench.table(["benchmark", "wall s", "status"], durations))
    total = sum(float(row[1]) for row in durations)
    print(f"\n- total: {total / 60:.1f} min")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
