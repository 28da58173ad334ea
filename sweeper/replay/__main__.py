"""``python -m sweeper.replay BANK...``: compare sweep policies on recorded learning curves.

    python -m sweeper.replay benchmarks/banks/*.json.gz                  # pruners x early stop
    python -m sweeper.replay benchmarks/banks/*.json.gz --samplers random qmc tpe gp \\
        --pruners none median curve --early-stopping on
    python -m sweeper.replay BANK --reps 20 --png regret.png --json figures.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank, load
from sweeper.replay import (
    BUILT_IN,
    PRUNERS,
    Grid,
    Policy,
    Summary,
    Trace,
    best_mean,
    default_policy,
    exhaustive_epochs,
    final_regret,
    group_node,
    make_policy,
    plot,
    quantiles,
    regret_curve,
    replay,
    space_of_bank,
    summarize,
    to_goal,
)

if TYPE_CHECKING:
    from sweeper.space import SearchSpace


def _fmt(values: Sequence[float], spec: str = ".1f") -> str:
    q25, med, q75 = values

    def show(v: float) -> str:
        return "never" if math.isinf(v) else format(v, spec)

    return f"{show(med)} [{show(q25)}, {show(q75)}]"


def _pct(values: Sequence[float]) -> str:
    return _fmt([v * 100 for v in values], ".2f")


def table(rows: Sequence[Summary], *, bank_epochs: float) -> str:
    head = [
        "policy",
        "epochs (median [IQR])",
        "of exhaustive",
        "minutes",
        "regret % at end",
        "sweeps <= 1 %",
        "epochs to <= 1 %",
        "minutes to <= 1 %",
        "sweeps <= 1 % of best seed mean",
        "epochs to <= 1 % of best seed mean",
        "pruned / early-stopped per sweep",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in rows:
        lines.append(
            "| "
            + " | ".join(
                [
                    s.policy,
                    _fmt(s.epochs),
                    f"{s.epochs[1] / bank_epochs:.0%}",
                    _fmt([v / 60 for v in s.seconds]),
                    _pct(s.regret),
                    f"{s.hit_rate:.0%}",
                    _fmt(s.to_goal_epochs),
                    _fmt([v / 60 for v in s.to_goal_seconds]),
                    f"{s.mean_hit_rate:.0%}",
                    _fmt(s.mean_to_goal_epochs),
                    f"{s.pruned:.1f} / {s.early:.1f}",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


Row = tuple[float, ...]  # compute share, regret, share to goal; the same two by seed means


def pooled_table(pooled: dict[str, list[Row]]) -> str:
    head = ["policy", "compute (share)", "regret % at end", "sweeps <= 1 %", "compute to <= 1 %"]
    head += ["sweeps <= 1 % of best seed mean", "compute to <= 1 % of best seed mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rows in pooled.items():
        rows = [(*r, *r[1:3]) if len(r) == 3 else r for r in rows]  # reports before seed means
        lines.append(
            "| "
            + " | ".join(
                [
                    name,
                    _fmt(quantiles([r[0] * 100 for r in rows]), ".0f") + " %",
                    _pct(quantiles([r[1] for r in rows])),
                    f"{sum(r[1] <= 0.01 for r in rows) / len(rows):.0%}",
                    _fmt(quantiles([r[2] * 100 for r in rows]), ".0f") + " %",
                    f"{sum(r[3] <= 0.01 for r in rows) / len(rows):.0%}",
                    _fmt(quantiles([r[4] * 100 for r in rows]), ".0f") + " %",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def policies_for(args: argparse.Namespace) -> list[Policy]:
    out = []
    es = {"on": [True], "off": [False], "both": [True, False]}[args.early_stopping]
    for sampler in args.samplers:
        for pruner in args.pruners:
            for early in es:
                out.append(make_policy(pruner, sampler=sampler, early_stopping=early))
    if args.default:
        out.append(default_policy())
    return out


def verdict(
    bank: Bank,
    traces: dict[str, list[Trace]],
    candidate: str,
    budgets: Sequence[float],
    curves: Mapping[str, Sequence[float]],
) -> dict[str, Any]:
    """The goal of issues 15 and 25 for ``candidate``: <= 1 % regret (against the best
    configuration's seed mean) at <= 1/3 of the exhaustive study's compute (median), and no
    worse than the best built-in pruner at any budget (``curves``: seed-mean regrets)."""
    mine = traces[candidate]
    to_goal_epochs = quantiles([to_goal(bank, t, mean=True)[0] for t in mine])
    sampler = candidate.split("/")[0].split()[-1].lstrip("(")  # "default (tpe/median/es)"
    built_in = [
        name
        for name in traces
        if name.count("/") == 2 and name.split("/")[0] == sampler and name.split("/")[1] in BUILT_IN
    ]
    curve = curves[candidate]
    rivals = {name: curves[name] for name in built_in}
    worse = []
    for i, budget in enumerate(budgets):
        best = min((r[i] for r in rivals.values()), default=math.inf)
        if curve[i] > best + 1e-12:
            worse.append((budget, curve[i] - best))
    third = exhaustive_epochs(bank) / 3
    hits = sum(to_goal(bank, t, mean=True)[0] <= third for t in mine) / len(mine)
    return {
        "hit_rate_within_third": hits,
        "candidate": candidate,
        "epochs_to_goal": to_goal_epochs,
        "third_of_exhaustive": third,
        "compute_goal_met": to_goal_epochs[1] <= third,
        "budgets": len(budgets),
        "budgets_worse_than_best_built_in": len(worse),
        "largest_gap_points": max((g for _, g in worse), default=0.0) * 100,
        "worse_at": [round(b, 1) for b, _ in worse][:12],
    }


def combine(paths: Sequence[Path], *, png: Path | None) -> int:
    """The pooled table and the figure from the ``--json`` reports of runs on single banks."""
    pooled: dict[str, list[Row]] = {}
    curves: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    meta = []
    for path in paths:
        report = json.loads(path.read_text())
        meta.append((report["trials"], report["reps"]))
        for task, task_report in report["tasks"].items():
            curves[task] = {k: (v[0], v[1]) for k, v in task_report["curves"].items()}
            for name, rows in task_report["per_rep"].items():
                pooled.setdefault(name, []).extend(tuple(r) for r in rows)
    print(f"## pooled over {len(curves)} banks (compute: share of each exhaustive study)")
    print(pooled_table(pooled))
    if png is not None:
        trials, reps = meta[0]
        plot(curves, png, title=f"{trials}-trial sweeps, {reps} replays each")
        print(f"\nfigure: {png}")
    return 0


def verdict_table(verdicts: Sequence[dict[str, Any]]) -> str:
    head = ["policy", "epochs to <= 1 % (median [IQR])", "<= 1/3 of exhaustive"]
    head += ["sweeps <= 1 % within 1/3", "budgets worse", "largest gap (points)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in verdicts:
        cells = [
            v["candidate"],
            _fmt(v["epochs_to_goal"]),
            "met" if v["compute_goal_met"] else "missed",
            f"{v['hit_rate_within_third']:.0%}",
            f"{v['budgets_worse_than_best_built_in']}/{v['budgets']}",
            f"{v['largest_gap_points']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def space_for(option: str, bank: Bank) -> SearchSpace:
    """The searched space for ``bank`` (see ``--space``)."""
    from sweeper.space import parse_space

    if option == "bank":
        return space_of_bank(bank)
    if Path(option).is_file():
        import yaml

        return parse_space(yaml.safe_load(Path(option).read_text()))
    node = group_node("search_space", "default" if option == "auto" else option)
    # num_epochs.high=auto fits the range to a live sweep's data; a bank holds only its
    # grid's horizons, so auto means the longest of them here.
    horizons = bank.grid.get("num_epochs") or [3]
    for entry in node.values():
        if isinstance(entry, dict) and entry.get("high") == "auto":
            entry["high"] = max(horizons)
    space = parse_space(node)
    if option == "auto":
        try:
            Grid(bank, space)
        except ValueError:
            return space_of_bank(bank)
    return space


def main(argv: Sequence[str] | None = None) -> int:
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
    p.add_argument("--png", type=Path, default=None, help="regret-vs-compute figure")
    p.add_argument("--json", type=Path, default=None, help="all figures, machine-readable")
    args = p.parse_args(argv)
    if args.combine:
        return combine(args.combine, png=args.png)
    if not args.banks:
        p.error("give bank files, or --combine with earlier --json reports.")
    if args.trials is None:
        args.trials = 10**9 if args.in_order else 20
    if args.trials < 1 or args.reps < 1:
        p.error(f"--trials and --reps must be >= 1 but got {args.trials} and {args.reps}.")

    policies = policies_for(args)
    report: dict[str, Any] = {"trials": args.trials, "reps": args.reps, "tasks": {}}
    curves: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    pooled: dict[str, list[Row]] = {p.name: [] for p in policies}
    for path in args.banks:
        bank = load(path)
        space = space_for(args.space, bank)
        exhaustive = exhaustive_epochs(bank)
        print(
            f"\n## {bank.task}: {path.name}, {len(bank.curves)} runs, best {bank.monitor} "
            f"{bank.best:.4f} (best config's seed mean {best_mean(bank):.4f}), exhaustive "
            f"compute {exhaustive:.0f} epochs (one run per configuration), searched "
            f"{sorted(space.names)}"
        )
        traces: dict[str, list[Trace]] = {}
        rows = []
        for policy in policies:
            started = time.perf_counter()
            n_trials = min(args.trials, len(bank.trained)) if args.in_order else args.trials
            traces[policy.name] = replay(
                bank,
                policy,
                space=space,
                n_trials=n_trials,
                reps=args.reps,
                seed=args.seed,
                in_order=args.in_order,
            )
            rows.append(summarize(bank, policy.name, traces[policy.name]))
            print(
                f"  .. {policy.name}: {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
                flush=True,
            )
        print(table(rows, bank_epochs=exhaustive))
        per_rep = {
            name: [
                (
                    t.total_epochs / exhaustive,
                    final_regret(bank, t),
                    to_goal(bank, t)[0] / exhaustive,
                    final_regret(bank, t, mean=True),
                    to_goal(bank, t, mean=True)[0] / exhaustive,
                )
                for t in ts
            ]
            for name, ts in traces.items()
        }
        for name, values in per_rep.items():
            pooled[name] += values
        top = max(t.total_epochs for ts in traces.values() for t in ts)
        budgets = [top * i / 100 for i in range(101)]
        curves[bank.task] = {
            name: (budgets, regret_curve(bank, ts, budgets, mean=True))
            for name, ts in traces.items()
        }
        task_report: dict[str, Any] = {
            "bank": str(path),
            "best": bank.best,
            "best_seed_mean": best_mean(bank),
            "exhaustive_epochs": exhaustive,
            "summaries": [s.__dict__ for s in rows],
            "curves": curves[bank.task],
            "per_rep": per_rep,
        }
        regrets = {name: curve for name, (_, curve) in curves[bank.task].items()}
        verdicts = [verdict(bank, traces, name, budgets, regrets) for name in traces]
        task_report["verdicts"] = verdicts
        print(
            f"\nGoal (issues 15, 25): <= 1 % regret against the best config's seed mean at "
            f"<= 1/3 of {exhaustive:.0f} epochs, and"
        )
        print("no worse than the best built-in pruner (same sampler) at any of 101 budgets:\n")
        print(verdict_table(verdicts))
        report["tasks"][bank.task] = task_report
    if len(args.banks) > 1:
        print(f"\n## pooled over {len(args.banks)} banks (compute: share of each exhaustive study)")
        print(pooled_table(pooled))
    if args.png is not None:
        plot(curves, args.png, title=f"{args.trials}-trial sweeps, {args.reps} replays each")
        print(f"\nfigure: {args.png}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
