"""Figure 8: sweep policies replayed on the committed learning-curve banks (issue 15).

Two tables per task and pooled over the tasks: every pruner (as shipped, median with warm-up,
the curve-aware one) with and without early stopping under TPE; and every sampler with no
pruning, the median pruner and the shipped default. 20-trial sweeps, 200 replays each, from
``python -m sweeper.replay`` (the live pruner, early-stopping and sampler code; see
docs/benchmarks.md section 8).

Then issue 25's policies past rank and optimism rules, under the shipped random sampler with
early stopping: every built-in pruner, the curve pruner (shipped), the probability pruner
(``pruner=beat``) and the horizon ladder, on every bank including the multi-seed ones under
``benchmarks/banks/v2/`` (regret against the best run and the best configuration's seed mean).

    python -m scripts.bench_replay            # full size (about 40 min on 2 busy cores)
    python -m scripts.bench_replay --quick    # CI smoke: 3 replays, one bank
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts import _bench

BANKS = _bench.ROOT / "benchmarks" / "banks"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="3 replays on one bank")
    p.add_argument("--reps", type=int, default=200, help="replays per policy and bank")
    p.add_argument("--gp-reps", type=int, default=100, help="replays with sampler=gp (slow)")
    p.add_argument("--png", type=Path, default=None, help="regret-vs-compute figure")
    p.add_argument("--glue-dir", type=Path, default=None, help="unused (banks are recorded)")
    p.add_argument("--workdir", type=Path, default=None, help="unused")
    args = p.parse_args(argv)
    from sweeper.commands.replay import main as replay

    banks = sorted(str(b) for b in BANKS.glob("*.json.gz"))
    seeded = sorted(str(b) for b in BANKS.glob("v2/*.json.gz"))  # multi-seed banks (issue 25)
    if not banks:
        print(f"no bank under {BANKS}: record them with scripts/record_banks.sh", file=sys.stderr)
        return 1
    reps = 3 if args.quick else args.reps
    if args.quick:
        banks, seeded = banks[:1], seeded[:1]
    print("# Replayed sweep policies (figure 8)\n")
    print("## Pruners x early stopping (TPE, 20 trials)")
    code = replay(
        [*banks, "--reps", str(reps), "--default", "--early-stopping", "both"]
        + (["--png", str(args.png)] if args.png else [])
    )
    print("\n## Samplers (20 trials, early stopping on)")
    for sampler, n in (("random", reps), ("qmc", reps), ("gp", 3 if args.quick else args.gp_reps)):
        code |= replay(
            [
                *banks,
                "--reps",
                str(n),
                "--samplers",
                sampler,
                "--early-stopping",
                "on",
                "--pruners",
                "none",
                "median",
                "curve",
            ]
        )
    print("\n## Past rank and optimism rules (issue 25; random sampler, early stopping on)")
    code |= replay(
        [
            *banks,
            *seeded,
            "--reps",
            str(reps),
            "--samplers",
            "random",
            "--early-stopping",
            "on",
            "--pruners",
            *ISSUE_25,
        ]
    )
    return code


# Issue 25's comparison: the built-in pruners, the shipped curve pruner, the probability pruner
# at two thresholds and the horizon ladder (see sweeper.replay.PRUNERS and LADDERS).
ISSUE_25 = (
    "none",
    "median",
    "median-warm2",
    "percentile",
    "successive_halving",
    "hyperband",
    "patient",
    "curve",
    "beat",
    "beat-p02",
    "ladder",
)


if __name__ == "__main__":
    raise SystemExit(main())
