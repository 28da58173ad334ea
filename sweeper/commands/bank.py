"""``python -m sweeper.bank record|export|merge|show``: the command line of :mod:`sweeper.bank`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sweeper.bank import (
    DEFAULT_GRID,
    describe,
    export,
    load,
    merge,
    parse_grid,
    provenance,
    read_timings,
    record,
    save,
)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sweeper.bank record|export|merge|show ...``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(
        prog="python -m sweeper.bank", description="Record, export or show a learning-curve bank."
    )
    sub = p.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run the exhaustive grid study and export its bank")
    rec.add_argument("--out", type=Path, required=True, help="bank file (.json or .json.gz)")
    rec.add_argument("--results-dir", type=Path, required=True, help="study, cache, logs")
    rec.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2",
        help=f"replace one grid entry (default grid: {DEFAULT_GRID})",
    )
    rec.add_argument("overrides", nargs="*", help="sweeper config overrides (data, model...)")
    exp = sub.add_parser("export", help="export a finished unpruned study to a bank file")
    exp.add_argument("--storage", required=True, help="Optuna storage URL")
    exp.add_argument("--study", required=True, help="study name")
    exp.add_argument("--out", type=Path, required=True)
    exp.add_argument("--timings", type=Path, default=None, help="a .timings.jsonl of record")
    exp.add_argument("--note", default=None, help="added to the provenance (how it was made)")
    join = sub.add_parser("merge", help="join banks recorded in chunks (e.g. a seed at a time)")
    join.add_argument("banks", type=Path, nargs="+", help="bank files of one experiment")
    join.add_argument("--out", type=Path, required=True)
    show = sub.add_parser("show", help="summarize a bank file")
    show.add_argument("bank", type=Path)
    args = p.parse_args(argv)

    if args.command == "record":
        try:
            grid = parse_grid(args.grid)
        except ValueError as err:
            p.error(str(err))
        bank = record(
            out=args.out,
            results_dir=args.results_dir,
            grid=grid,
            overrides=args.overrides,
            argv=argv,
        )
        print(describe(bank, args.out))
    elif args.command == "export":
        import optuna

        study = optuna.load_study(study_name=args.study, storage=args.storage)
        timings = read_timings(args.timings) if args.timings else None
        extra = provenance(argv)
        if args.note:
            extra["note"] = args.note
        bank = export(study, timings=timings, provenance=extra)
        save(bank, args.out)
        print(describe(bank, args.out))
    else:
        try:
            if args.command == "merge":
                bank = merge([load(path) for path in args.banks])
                save(bank, args.out)
                print(describe(bank, args.out))
            else:
                print(describe(load(args.bank), args.bank))
        except ValueError as err:  # a bank that cannot be read, or chunks that do not match
            print(f"python -m sweeper.bank {args.command}: {err}", file=sys.stderr)
            return 2
    return 0


__all__ = ["main"]
