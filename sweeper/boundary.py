"""The search boundary as a finding: best trials at an edge of the space, and the range to try.

When the best trial sits at an edge of a numeric search-space entry (the highest learning rate
searched; the longest schedule, with its best evaluation at the schedule's end), the optimum
may lie outside the space, and a sweep that reports "the best" without saying so hides it.
:func:`edge_findings` finds those edges and proposes the widened bound as a command-line
override. Pure: it reads trial records and the parsed space, nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sweeper.formatting import fmt_value
from sweeper.results import TrialRecord
from sweeper.settings import RULES, Range, shown_key
from sweeper.space import ParamSpec, SearchSpace

# A value within this fraction of an entry's range (in log space for log entries) from a bound
# is at that edge: TPE and random draws rarely land exactly on a float bound.
EDGE_FRACTION = 0.05
# How far to widen: log entries by this factor, linear ones by half their range, int ones by
# half the bound (at least 1).
LOG_FACTOR = 3.0
TOP = 3  # the best trials looked at (the finding says how many of them sit at the edge)


@dataclass(frozen=True, kw_only=True)
class EdgeFinding:
    """One entry whose best trial sits at an edge of the space."""

    name: str
    edge: str  # "low" or "high"
    bound: float  # the current bound
    best_trial: int
    best_value: float  # the best trial's value of this entry
    at_edge: int  # of the top trials, how many sit at this edge
    top: int  # how many top trials were looked at
    widened: float | None  # the bound to try; None: the setting allows nothing further
    override: str | None  # e.g. "search_space.lr.high=0.0009"

    @property
    def text(self) -> str:
        """One sentence: where the best trial sits, and what to try."""
        where = f"search_space.{shown_key(self.name)}"
        if self.name == "num_epochs" and self.edge == "high":
            what = (
                f"the best trial (#{self.best_trial}) trained the longest schedule searched "
                f"({fmt_value(self.best_value)} epochs) and peaked at its end"
            )
        else:
            what = (
                f"the best trial (#{self.best_trial}, {fmt_value(self.best_value)}) sits at the "
                f"{self.edge} edge of {where} ({fmt_value(self.bound)})"
            )
        share = f"{self.at_edge} of the top {self.top} do" if self.top > 1 else ""
        tail = (
            f"; the optimum may lie outside: try {self.override}"
            if self.override
            else "; the setting allows no wider range"
        )
        return f"{self.name}: {what}" + (f" ({share})" if share else "") + tail


def _position(spec: ParamSpec, value: float) -> float:
    """Where ``value`` lies in the entry's range: 0 at low, 1 at high (log scale if log)."""
    assert spec.low is not None
    assert spec.high is not None
    low, high = float(spec.low), float(spec.high)
    if spec.log:
        low, high, value = math.log(low), math.log(high), math.log(max(value, 1e-300))
    return (value - low) / (high - low)


def _edge(spec: ParamSpec, value: float) -> str | None:
    if spec.type == "int":
        if value == spec.low:
            return "low"
        return "high" if value == spec.high else None
    position = _position(spec, value)
    if position <= EDGE_FRACTION:
        return "low"
    return "high" if position >= 1 - EDGE_FRACTION else None


def _allowed(name: str, value: float) -> bool:
    rule = RULES.get(name)
    return rule is None or rule(value) is None


def widened_bound(spec: ParamSpec, edge: str) -> float | None:
    """The bound to try past ``edge``, kept within what the setting allows (``None``: none)."""
    assert spec.low is not None
    assert spec.high is not None
    bound = float(spec.low if edge == "low" else spec.high)
    sign = -1.0 if edge == "low" else 1.0
    if spec.type == "int":
        new: float = bound + sign * max(1, math.ceil(bound / 2))
    elif spec.log:
        new = bound / LOG_FACTOR if edge == "low" else bound * LOG_FACTOR
    else:
        new = bound + sign * (float(spec.high) - float(spec.low)) / 2
    if not _allowed(spec.name, new):
        rule = RULES.get(spec.name)
        limit = None
        if isinstance(rule, Range):
            closed = not (rule.low_open if edge == "low" else rule.high_open)
            limit = (rule.low if edge == "low" else rule.high) if closed else None
        new = limit if limit is not None else math.nan
    if not math.isfinite(new) or new == bound or not _allowed(spec.name, new):
        return None
    return float(int(new)) if spec.type == "int" else float(f"{new:.3g}")


def _at_schedule_end(trial: TrialRecord) -> bool:
    """Whether the trial's best evaluation was its schedule's last (so longer might do better)."""
    horizon = trial.settings.get("num_epochs", trial.params.get("num_epochs"))
    best = trial.best_epoch
    return horizon is not None and best is not None and best >= float(horizon) - 1e-6


def edge_findings(
    space: SearchSpace, ranked_trials: Sequence[TrialRecord], *, top: int = TOP
) -> list[EdgeFinding]:
    """The numeric entries whose best trial sits at an edge of the space, with a wider range.

    Args:
        space: The search space the trials were drawn from (its bounds).
        ranked_trials: Complete trials, best first (:func:`sweeper.results.ranked`).
        top: How many of the best trials to count at the edge (reported, not required).

    Returns:
        One finding per entry and edge, in the space's order; empty when nothing sits at an
        edge. ``num_epochs`` counts at its high edge only when the best trial's best
        evaluation was at its schedule's end (an early peak says the range is long enough).
    """
    if not ranked_trials:
        return []
    best, leaders = ranked_trials[0], list(ranked_trials[:top])
    found = []
    for spec in space.params:
        if spec.type == "categorical" or spec.low == spec.high:
            continue
        value = best.params.get(spec.name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # a conditional entry the best trial did not sample
        edge = _edge(spec, float(value))
        if edge is None:
            continue
        if spec.name == "num_epochs" and edge == "high" and not _at_schedule_end(best):
            continue
        if spec.name == "num_epochs" and edge == "low":
            continue  # peaking on the shortest schedule: recommend's epoch verdict covers it
        widened = widened_bound(spec, edge)
        at_edge = sum(
            isinstance(v := t.params.get(spec.name), int | float) and _edge(spec, float(v)) == edge
            for t in leaders
        )
        override = None
        if widened is not None:
            shown = f"{int(widened)}" if spec.type == "int" else f"{widened:g}"
            override = f"search_space.{shown_key(spec.name)}.{edge}={shown}"
        found.append(
            EdgeFinding(
                name=spec.name,
                edge=edge,
                bound=float(spec.low if edge == "low" else spec.high),  # type: ignore[arg-type]
                best_trial=best.number,
                best_value=float(value),
                at_edge=at_edge,
                top=len(leaders),
                widened=widened,
                override=override,
            )
        )
    return found


__all__ = ["EdgeFinding", "edge_findings", "widened_bound"]
