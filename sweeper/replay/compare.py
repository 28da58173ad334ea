"""Sweep policies compared on banks: each policy replayed on a bank, its summary, the regret
curves, the verdict against the goal of issues 15 and 25, and the tables that show them.

``python -m sweeper.replay`` (:mod:`sweeper.commands.replay`) prints what this computes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweeper.bank import Bank
from sweeper.replay import (
    BUILT_IN,
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


def policies_for(
    *, samplers: Sequence[str], pruners: Sequence[str], early_stopping: str, default: bool
) -> list[Policy]:
    """Every sampler x pruner x early stopping (``on``, ``off`` or ``both``), and the shipped
    default policy when ``default``."""
    out = []
    es = {"on": [True], "off": [False], "both": [True, False]}[early_stopping]
    for sampler in samplers:
        for pruner in pruners:
            for early in es:
                out.append(make_policy(pruner, sampler=sampler, early_stopping=early))
    if default:
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


Curves = dict[str, tuple[list[float], list[float]]]  # policy -> (budgets, seed-mean regrets)


def pool_reports(paths: Sequence[Path]) -> tuple[dict[str, list[Row]], dict[str, Curves], str]:
    """The pooled rows, each task's curves and the figure's title from the ``--json`` reports
    of runs on single banks."""
    pooled: dict[str, list[Row]] = {}
    curves: dict[str, Curves] = {}
    meta = []
    for path in paths:
        report = json.loads(path.read_text())
        meta.append((report["trials"], report["reps"]))
        for task, task_report in report["tasks"].items():
            curves[task] = {k: (v[0], v[1]) for k, v in task_report["curves"].items()}
            for name, rows in task_report["per_rep"].items():
                pooled.setdefault(name, []).extend(tuple(r) for r in rows)
    trials, reps = meta[0]
    return pooled, curves, f"{trials}-trial sweeps, {reps} replays each"


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


@dataclass
class Comparison:
    """Every policy replayed on one bank: what the tables, the figure and ``--json`` show."""

    rows: list[Summary]
    per_rep: dict[str, list[Row]]  # policy -> one row per replayed sweep
    curves: Curves
    verdicts: list[dict[str, Any]]
    report: dict[str, Any]  # the task's part of the ``--json`` report


def compare(
    bank: Bank,
    policies: Sequence[Policy],
    *,
    path: Path,
    space: SearchSpace,
    trials: int,
    reps: int,
    seed: int,
    in_order: bool,
    replayed: Callable[[str, float], None] | None = None,
) -> Comparison:
    """Replay each of ``policies`` ``reps`` times on ``bank`` (``path``: where it was read).

    Args:
        trials: Trials per sweep (capped at the bank's runs with ``in_order``).
        in_order: Replay the bank's runs in recorded order, once.
        replayed: Called with each policy's name and the seconds its replays took.
    """
    exhaustive = exhaustive_epochs(bank)
    traces: dict[str, list[Trace]] = {}
    rows = []
    for policy in policies:
        started = time.perf_counter()
        n_trials = min(trials, len(bank.trained)) if in_order else trials
        traces[policy.name] = replay(
            bank, policy, space=space, n_trials=n_trials, reps=reps, seed=seed, in_order=in_order
        )
        rows.append(summarize(bank, policy.name, traces[policy.name]))
        if replayed is not None:
            replayed(policy.name, time.perf_counter() - started)
    per_rep: dict[str, list[Row]] = {
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
    top = max(t.total_epochs for ts in traces.values() for t in ts)
    budgets = [top * i / 100 for i in range(101)]
    curves = {
        name: (budgets, regret_curve(bank, ts, budgets, mean=True)) for name, ts in traces.items()
    }
    regrets = {name: curve for name, (_, curve) in curves.items()}
    verdicts = [verdict(bank, traces, name, budgets, regrets) for name in traces]
    report: dict[str, Any] = {
        "bank": str(path),
        "best": bank.best,
        "best_seed_mean": best_mean(bank),
        "exhaustive_epochs": exhaustive,
        "summaries": [s.__dict__ for s in rows],
        "curves": curves,
        "per_rep": per_rep,
        "verdicts": verdicts,
    }
    return Comparison(rows, per_rep, curves, verdicts, report)


__all__ = [
    "Comparison",
    "Row",
    "compare",
    "policies_for",
    "pool_reports",
    "pooled_table",
    "space_for",
    "table",
    "verdict",
    "verdict_table",
]
