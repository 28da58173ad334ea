"""``python -m sweeper.replay BANK...``: compare sweep policies on recorded learning curves.

    python -m sweeper.replay benchmarks/banks/*.json.gz                  # pruners x early stop
    python -m sweeper.replay benchmarks/banks/*.json.gz --samplers random qmc tpe gp \\
        --pruners none median curve --early-stopping on
    python -m sweeper.replay BANK --reps 20 --png regret.png --json figures.json

What is replayed and judged: :mod:`sweeper.replay.compare`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sweeper.bank import load
from sweeper.replay import PRUNERS, best_mean, exhaustive_epochs, plot
from sweeper.replay.compare import (
    Curves,
    Row,
    compare,
    policies_for,
    pool_reports,
    pooled_table,
    space_for,
    table,
    verdict_table,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sweeper.replay",
        description="Replay sweep policies (sampler, pruner, early stopping) on curve banks.",
    )
    p.add_argument("banks", nargs="*", type=Path, help="bank files (python -m sweeper.bank)")
    p.add_argument(
        "--combine",
        nargs="+",
        type=Path,
        default=None,
        help="no replay: pool the --json reports of earlier runs (one per bank) and draw --png",
    )
    p.add_argument(
        "--trials", type=int, default=None, help="trials per sweep (20; --in-order: every run)"
    )
    p.add_argument("--reps", type=int, default=200, help="sweeps per policy and bank")
    p.add_argument("--seed", type=int, default=0, help="first sweep's seed (%(default)s)")
    p.add_argument("--samplers", nargs="+", default=["tpe"], help="conf/sampler options")
    p.add_argument(
        "--pruners", nargs="+", default=list(PRUNERS), help=f"from {list(PRUNERS)} or conf/pruner"
    )
    p.add_argument("--early-stopping", choices=("on", "off", "both"), default="both")
    p.add_argument("--default", action="store_true", help="add the shipped default policy")
    p.add_argument(
        "--in-order",
        action="store_true",
        help="replay the bank's runs in recorded order, once (a finished exhaustive sweep: what "
        "each policy would have decided on the same trials); --trials defaults to all of them",
    )
    p.add_argument(
        "--space",
        default="auto",
        help="conf/search_space option, a YAML file, 'bank' (a categorical of each grid entry) "
        "or 'auto' (the default space if it covers the bank's grid, else 'bank')",
    )
    p.add_argument(
        "--objective",
        choices=("val_loss", "metric"),
        default="val_loss",
        help="what the replayed sweeps select on and regret is measured in: the validation "
        "loss, or the task metric (sweep.objective=auto's choice for classification)",
    )
    p.add_argument("--png", type=Path, default=None, help="regret-vs-compute figure")
    p.add_argument("--json", type=Path, default=None, help="all figures, machine-readable")
    return p


def _combine(paths: Sequence[Path], *, png: Path | None) -> int:
    """The pooled table and the figure from the ``--json`` reports of runs on single banks."""
    pooled, curves, title = pool_reports(paths)
    print(f"## pooled over {len(curves)} banks (compute: share of each exhaustive study)")
    print(pooled_table(pooled))
    if png is not None:
        plot(curves, png, title=title)
        print(f"\nfigure: {png}")
    return 0


def _replayed(name: str, seconds: float) -> None:
    print(f"  .. {name}: {seconds:.1f}s", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Replay the chosen policies on each bank and print the tables; the exit code."""
    p = _parser()
    args = p.parse_args(argv)
    if args.combine:
        return _combine(args.combine, png=args.png)
    if not args.banks:
        p.error("give bank files, or --combine with earlier --json reports.")
    if args.trials is None:
        args.trials = 10**9 if args.in_order else 20
    if args.trials < 1 or args.reps < 1:
        p.error(f"--trials and --reps must be >= 1 but got {args.trials} and {args.reps}.")

    policies = policies_for(
        samplers=args.samplers,
        pruners=args.pruners,
        early_stopping=args.early_stopping,
        default=args.default,
    )
    report: dict[str, Any] = {"trials": args.trials, "reps": args.reps, "tasks": {}}
    curves: dict[str, Curves] = {}
    pooled: dict[str, list[Row]] = {p.name: [] for p in policies}
    try:  # every bank read before any replay: a bad file costs nothing
        banks = [load(path).selecting_on(args.objective) for path in args.banks]
    except ValueError as err:
        print(f"python -m sweeper.replay: {err}", file=sys.stderr)
        return 2
    for path, bank in zip(args.banks, banks, strict=True):
        space = space_for(args.space, bank)
        exhaustive = exhaustive_epochs(bank)
        print(
            f"\n## {bank.task}: {path.name}, {len(bank.curves)} runs, best {bank.monitor} "
            f"{bank.best:.4f} (best config's seed mean {best_mean(bank):.4f}), exhaustive "
            f"compute {exhaustive:.0f} epochs (one run per configuration), searched "
            f"{sorted(space.names)}"
        )
        result = compare(
            bank,
            policies,
            path=path,
            space=space,
            trials=args.trials,
            reps=args.reps,
            seed=args.seed,
            in_order=args.in_order,
            replayed=_replayed,
        )
        print(table(result.rows, bank_epochs=exhaustive))
        for name, values in result.per_rep.items():
            pooled[name] += values
        curves[bank.task] = result.curves
        print(
            f"\nGoal (issues 15, 25): <= 1 % regret against the best config's seed mean at "
            f"<= 1/3 of {exhaustive:.0f} epochs, and"
        )
        print("no worse than the best built-in pruner (same sampler) at any of 101 budgets:\n")
        print(verdict_table(result.verdicts))
        report["tasks"][bank.task] = result.report
    if len(args.banks) > 1:
        print(f"\n## pooled over {len(args.banks)} banks (compute: share of each exhaustive study)")
        print(pooled_table(pooled))
    if args.png is not None:
        plot(curves, args.png, title=f"{args.trials}-trial sweeps, {args.reps} replays each")
        print(f"\nfigure: {args.png}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


__all__ = ["main"]
