"""What a replay reports: regret against the bank's best run (or best seed mean), compute to
reach the regret goal, a policy's :class:`Summary` over repetitions, and the regret plot.

Separate from the replay: the figures read finished :class:`~sweeper.replay.trial.Trace` s only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sweeper.bank import Bank
from sweeper.replay.grid import best_mean
from sweeper.replay.trial import Trace

REGRET_GOAL = 0.01


def regret(bank: Bank, value: float, *, best: float | None = None) -> float:
    """Relative regret of ``value`` against the bank's best run, or ``best`` (0: found the
    best; inf: none)."""
    if not math.isfinite(value):
        return math.inf
    best = bank.best if best is None else best
    gap = value - best if bank.direction == "minimize" else best - value
    return max(0.0, gap) / abs(best)


def quantiles(values: Sequence[float], qs: Sequence[float] = (0.25, 0.5, 0.75)) -> list[float]:
    """Nearest-rank quantiles (``inf`` stays ``inf``: "never" is a valid outcome)."""
    ordered = sorted(values)
    return [ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] for q in qs]


def _incumbents(bank: Bank, trace: Trace, mean: bool) -> tuple[list[float], float]:
    """The trace's incumbents and the best they are judged against: the single best run, or
    (``mean``) the incumbent configurations' seed means against the best seed mean."""
    if mean:
        return trace.incumbent_mean, best_mean(bank)
    return trace.incumbent, bank.best


def to_goal(
    bank: Bank, trace: Trace, *, goal: float = REGRET_GOAL, mean: bool = False
) -> tuple[float, float]:
    """(epochs, seconds) spent when the incumbent first came within ``goal`` regret (inf:
    never); ``mean``: judged by seed means (:func:`_incumbents`)."""
    values, best = _incumbents(bank, trace, mean)
    for epochs, seconds, value in zip(trace.epochs, trace.seconds, values, strict=True):
        if regret(bank, value, best=best) <= goal:
            return epochs, seconds
    return math.inf, math.inf


def final_regret(bank: Bank, trace: Trace, *, mean: bool = False) -> float:
    values, best = _incumbents(bank, trace, mean)
    return regret(bank, values[-1] if values else math.inf, best=best)


def regret_at(bank: Bank, trace: Trace, budget: float, *, mean: bool = False) -> float:
    """Regret of the incumbent with ``budget`` epochs spent (trials finished by then)."""
    values, best = _incumbents(bank, trace, mean)
    value = math.inf
    for epochs, incumbent in zip(trace.epochs, values, strict=True):
        if epochs > budget + 1e-9:
            break
        value = incumbent
    return regret(bank, value, best=best)


@dataclass(frozen=True, kw_only=True)
class Summary:
    """A policy's figures on one bank over its repetitions (medians and IQRs)."""

    policy: str
    reps: int
    epochs: list[float]  # total, [q25, median, q75]
    seconds: list[float]
    regret: list[float]  # final, against the best run
    hit_rate: float  # share of sweeps ending within the regret goal (best run)
    to_goal_epochs: list[float]
    to_goal_seconds: list[float]
    # The same, judged by seed means (the incumbent's configuration vs the best configuration).
    mean_regret: list[float]
    mean_hit_rate: float
    mean_to_goal_epochs: list[float]
    pruned: float  # mean trials pruned per sweep
    early: float  # mean trials early-stopped per sweep


def summarize(bank: Bank, policy: str, traces: Sequence[Trace]) -> Summary:
    goals = [to_goal(bank, t) for t in traces]
    finals = [final_regret(bank, t) for t in traces]
    mean_finals = [final_regret(bank, t, mean=True) for t in traces]
    return Summary(
        policy=policy,
        reps=len(traces),
        epochs=quantiles([t.total_epochs for t in traces]),
        seconds=quantiles([t.total_seconds for t in traces]),
        regret=quantiles(finals),
        hit_rate=sum(r <= REGRET_GOAL for r in finals) / len(finals),
        to_goal_epochs=quantiles([g[0] for g in goals]),
        to_goal_seconds=quantiles([g[1] for g in goals]),
        mean_regret=quantiles(mean_finals),
        mean_hit_rate=sum(r <= REGRET_GOAL for r in mean_finals) / len(mean_finals),
        mean_to_goal_epochs=quantiles([to_goal(bank, t, mean=True)[0] for t in traces]),
        pruned=sum(sum(s in ("pruned", "diverged") for s in t.stops) for t in traces) / len(traces),
        early=sum(t.stops.count("early_stopping") for t in traces) / len(traces),
    )


def regret_curve(
    bank: Bank, traces: Sequence[Trace], budgets: Sequence[float], *, mean: bool = False
) -> list[float]:
    """Median regret over ``traces`` at each compute budget (epochs)."""
    return [
        quantiles([regret_at(bank, t, b, mean=mean) for t in traces], (0.5,))[0] for b in budgets
    ]


def plot(
    curves: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]],
    path: Any,
    *,
    title: str,
) -> None:
    """Median regret vs compute, one panel per task: ``curves[task][policy] = (budgets,
    regrets)``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(5.2 * len(curves), 4.6), squeeze=False)
    for ax, (task, lines) in zip(axes[0], curves.items(), strict=True):
        for name, (budgets, regrets) in lines.items():
            shown = [min(r, 1.0) * 100 for r in regrets]
            style = "-" if "curve" in name or "default" in name else "--"
            ax.step(budgets, shown, where="post", label=name, linestyle=style, linewidth=1.4)
        ax.axhline(REGRET_GOAL * 100, color="grey", linewidth=0.8, linestyle=":")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("compute spent (epochs trained, all trials)")
        ax.set_ylabel("median regret of best trial found (%)")
        ax.set_title(task)
        ax.grid(True, alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
