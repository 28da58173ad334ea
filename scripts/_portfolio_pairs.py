"""Banks as (select, judge) pairs and the choices judged on them, for scripts/bench_portfolio.py.

A configuration is chosen on one seed's curves and judged as it is used: trained on another
seed, at the end of its schedule (the config as written, what ``sweeper.recommend`` writes),
and on the test split where the bank has one (also at that run's own best validation
checkpoint, early stopping's pick), so no arm is judged on what it selected on. With three or
more seeds a pair also names a third seed (``rerun``) on which a recommendation re-runs the
sweep's best candidates, as ``sweeper.recommend`` does on fresh seeds: the sweep's seed selects
them, the re-run's seed picks one, the judging seed judges it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeper.bank import Bank, Curve
    from sweeper.replay import Grid
    from sweeper.space import SearchSpace

N_TRIALS = 8  # the default budget (conf/config.yaml sweep.n_trials)


# ----------------------------------------------------------------------------- banks


@dataclass(frozen=True, kw_only=True)
class Pair:
    """Where a choice is made (``select``) and where it is judged (``judge``)."""

    select: Bank
    judge: Bank
    label: str
    rerun: Bank | None = None  # a third seed's runs (None: the bank has two seeds or one)


def sub_bank(bank: Bank, seed: Any) -> Bank:
    """The runs of one seed, the seed dropped from the grid and the parameters."""
    curves = tuple(
        dataclasses.replace(c, params=_config(c.params))
        for c in bank.curves
        if c.params.get("seed") == seed
    )
    grid = {k: v for k, v in bank.grid.items() if k != "seed"}
    return dataclasses.replace(bank, grid=grid, curves=curves, train={**bank.train, "seed": seed})


def _config(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "seed"}


def pairs_of(bank: Bank) -> list[Pair]:
    """Select on one seed and judge on another, each way round; one seed: the same curves.
    None where no configuration has a run on every seed."""
    seeds = bank.grid.get("seed") or []
    if len(seeds) < 2:
        return [Pair(select=bank, judge=bank, label="one seed: selected and judged on it")]
    # Only configurations recorded on every seed: a choice must have a curve to be judged on
    # (a partial recording would otherwise count against the arms that choose its gaps).
    recorded: dict[tuple[tuple[str, Any], ...], set[Any]] = {}
    for c in bank.trained:
        recorded.setdefault(_key(_config(c.params)), set()).add(c.params.get("seed"))
    common = {config for config, got in recorded.items() if got >= set(seeds)}
    kept = tuple(c for c in bank.curves if _key(_config(c.params)) in common)
    if not common:
        return []
    bank = dataclasses.replace(bank, curves=kept)
    subs = {s: sub_bank(bank, s) for s in seeds}
    if len(seeds) == 2:
        return [
            Pair(select=subs[a], judge=subs[b], label=f"selected on seed {a}, judged on seed {b}")
            for a, b in itertools.permutations(seeds, 2)
        ]
    # Every ordered (sweep, re-run, judge) triple of three distinct seeds: each (select, judge)
    # pair appears len(seeds) - 2 times, once per re-run seed, so arms without a re-run are
    # weighted as with pairs.
    return [
        Pair(
            select=subs[a],
            rerun=subs[r],
            judge=subs[b],
            label=f"swept on seed {a}, candidates re-run on seed {r}, judged on seed {b}",
        )
        for a, r, b in itertools.permutations(seeds, 3)
    ]


def bank_space(bank: Bank) -> SearchSpace:
    """conf/search_space/default.yaml fitted to the bank as a live sweep fits it to the data:
    ``num_epochs.high: auto`` is the longest recorded horizon, ``batch_size`` (auto, or absent
    before it joined the default space) the recorded batches where the bank varies them; every
    entry searches the bank's grid (the replay's nearest recorded point)."""
    from sweeper.replay import group_node
    from sweeper.space import parse_space

    node = group_node("search_space", "default")
    out: dict[str, Any] = {}
    for name, entry in node.items():
        if name not in bank.grid:
            continue  # not recorded: the bank's fixed train value
        if isinstance(entry, dict) and entry.get("high") == "auto":
            entry = {**entry, "high": max(bank.grid[name])}
        if isinstance(entry, dict) and entry.get("choices") == "auto":
            entry = {**entry, "choices": list(bank.grid[name])}
        out[name] = entry
    for name, values in bank.grid.items():
        out.setdefault(name, {"type": "categorical", "choices": list(values)})
    return parse_space(out)


# ----------------------------------------------------------------------------- choices


@dataclass(frozen=True, kw_only=True)
class Judged:
    """The chosen configuration's run on the judging seed, at the end of its schedule."""

    val_loss: float
    metric: float
    value: float  # the selection objective's value (val_loss or the metric)
    # The same on the bank's test split (NaN: the bank has none): a split no choice saw.
    test_metric: float = math.nan
    test_value: float = math.nan
    # The test metric at that run's own best validation checkpoint (NaN: no test split).
    checkpoint_test_metric: float = math.nan


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def best_index(bank: Bank, curve: Curve) -> int | None:
    """The evaluation a recipe keeps: its best validation checkpoint (best monitored value, the
    first of ties; None: all NaN). A sweep ranks its trials on their median-smoothed curves
    instead (:func:`sweeper.trial_reporter.best_point`, through the replay)."""
    values = bank.values(curve)
    finite = [k for k, v in enumerate(values) if not math.isnan(v)]
    if not finite:
        return None
    sign = 1.0 if bank.direction == "minimize" else -1.0
    return min(finite, key=lambda k: (sign * values[k], k))


def judge(pair: Pair, curve: Curve) -> Judged | None:
    """``curve``'s configuration (a run of ``pair.select``) judged on ``pair.judge``: that
    configuration's run there, at its last evaluation (None: not recorded there).

    Not at the step where ``curve`` peaked: a peak on one seed says nothing of where another
    seed's run peaks, and no user keeps that step of a fresh run. They keep its end, or its
    best validation checkpoint (``checkpoint_test_metric``).
    """
    for other in pair.judge.trained:
        if _key(other.params) == _key(curve.params):
            end = len(other.step) - 1
            test = pair.judge.test_values(other)
            kept = best_index(pair.judge, other)
            return Judged(
                val_loss=other.val_loss[end],
                metric=other.metric[end],
                value=pair.judge.values(other)[end],
                test_metric=other.test_metric[end] if other.test_metric else math.nan,
                test_value=test[end] if test else math.nan,
                checkpoint_test_metric=(
                    other.test_metric[kept] if other.test_metric and kept is not None else math.nan
                ),
            )
    return None


def choose(pair: Pair, grid: Grid, points: Sequence[tuple[Any, ...]]) -> Curve | None:
    """The best run among ``points`` on the selection curves (each at its best evaluation)."""
    bank = pair.select
    sign = 1.0 if bank.direction == "minimize" else -1.0
    best: tuple[float, Curve] | None = None
    for point in dict.fromkeys(points):
        curve = grid.runs[point][0]
        k = best_index(bank, curve)
        if k is not None and (best is None or sign * bank.values(curve)[k] < best[0]):
            best = (sign * bank.values(curve)[k], curve)
    return None if best is None else best[1]


def filled(bank: Bank, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with every grid entry it lacks at the bank's fixed train value."""
    return {**{k: bank.train.get(k, v[0]) for k, v in bank.grid.items()}, **settings}


_GRIDS: dict[int, tuple[Bank, Grid]] = {}


def _grid(bank: Bank) -> Grid:
    from sweeper.replay import Grid

    cached = _GRIDS.get(id(bank))
    if cached is None or cached[0] is not bank:
        cached = (bank, Grid(bank, bank_space(bank)))
        _GRIDS[id(bank)] = cached
    return cached[1]
