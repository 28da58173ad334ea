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
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from sweeper.errors import ConfigError
from sweeper.formatting import fmt_value
from sweeper.rules import Range
from sweeper.settings import RULES, shown_key
from sweeper.space import ParamSpec, SearchSpace, parse_space
from sweeper.trial_record import TrialRecord

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
                f"({int(self.best_value)} epochs) and peaked at its end"
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


def _snap(spec: ParamSpec, value: float, *, edge: str, outward: bool) -> float:
    """``value`` on the entry's grid (``step`` counted from the bound that stays), rounded
    ``outward`` (away from the space) or inward; 3 significant digits where there is no step."""
    if spec.step is None:
        return float(int(value)) if spec.type == "int" else float(f"{value:.3g}")
    # In decimals, as the step check (and Optuna) compares them: 0.05 + 5 * 0.05 in floats is
    # 0.30000000000000004, which does not divide by 0.05.
    other = Decimal(str(spec.high if edge == "low" else spec.low))
    step = Decimal(str(spec.step))
    up = (edge == "high") == outward
    steps = ((Decimal(str(value)) - other) / step).to_integral_value(
        rounding=ROUND_CEILING if up else ROUND_FLOOR
    )
    return float(other + steps * step)


def _accepted(spec: ParamSpec, edge: str, value: float) -> bool:
    """Whether the entry with its ``edge`` bound set to ``value`` passes the config check."""
    entry: dict[str, Any] = {"type": spec.type, "low": spec.low, "high": spec.high}
    entry |= {"log": spec.log} if spec.log else {}
    entry |= {"step": spec.step} if spec.step is not None else {}
    entry[edge] = int(value) if spec.type == "int" else value
    try:
        parse_space({spec.name: entry})
    except ConfigError:
        return False
    return True


def widened_bound(spec: ParamSpec, edge: str) -> float | None:
    """The bound to try past ``edge``, one the config check accepts (``None``: there is none).

    The widened value is kept within what the setting allows (a closed end of its range at
    most), on the entry's ``step`` grid and valid for its scale: a printed override that the
    check then refuses would send the user round in a circle.
    """
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
    # Past the bound by the widening, on the grid: rounded outward, else inward (0.6 + 0.3 by
    # 0.2 is 1.0, past warmup_ratio < 1, where 0.8 is not); else the setting's closed end.
    tries = [_snap(spec, new, edge=edge, outward=out) for out in (True, False)]
    rule = RULES.get(spec.name)
    if isinstance(rule, Range) and not (rule.low_open if edge == "low" else rule.high_open):
        limit = rule.low if edge == "low" else rule.high  # as far as the setting goes
        if limit is not None:
            tries.append(_snap(spec, limit, edge=edge, outward=False))
    for value in tries:
        if math.isfinite(value) and sign * (value - bound) > 0 and _accepted(spec, edge, value):
            return value
    return None


def _shown(spec: ParamSpec, value: float) -> str:
    """``value`` as an override writes it: short, and read back as the same number."""
    if spec.type == "int":
        return str(int(value))
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


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
        ranked_trials: Complete trials, best first (:func:`sweeper.trial_record.ranked`).
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
            override = f"search_space.{shown_key(spec.name)}.{edge}={_shown(spec, widened)}"
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
