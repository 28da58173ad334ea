"""The learned portfolio for scripts/bench_portfolio.py: the recorded configurations whose best
(chosen on validation) has the smallest worst regret over the banks, leave one task out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts._portfolio_pairs import (
    N_TRIALS,
    Pair,
    _grid,
    _key,
    bank_space,
    best_index,
    filled,
    judge,
    pairs_of,
)

if TYPE_CHECKING:
    from sweeper.bank import Bank
    from sweeper.portfolio import Recipe
    from sweeper.replay import Policy


def candidates(banks: Sequence[Bank]) -> list[dict[str, Any]]:
    """Every recorded configuration of every bank, each filled to the union of the grids."""
    names = sorted({n for b in banks for n in b.grid if n != "seed"})
    out: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    for bank in banks:
        for curve in bank.trained:
            params = {n: curve.params.get(n, bank.train.get(n)) for n in names}
            if any(v is None for v in params.values()):
                continue
            params = {n: v for n, v in params.items() if n != "seed"}
            out.setdefault(_key(params), params)
    return list(out.values())


def regret_table(
    pairs: Sequence[Pair], configs: Sequence[Mapping[str, Any]]
) -> list[tuple[list[float], list[float]]]:
    """Per pair: each config's selection value (sign: smaller is better) and judged regret
    (relative to the best judged run of the pair; inf where it has no judged value)."""
    out = []
    for pair in pairs:
        grid = _grid(pair.select)
        sign = 1.0 if pair.select.direction == "minimize" else -1.0
        runs: dict[tuple[Any, ...], tuple[float, float]] = {}
        for point, curves in grid.runs.items():
            k = best_index(pair.select, curves[0])
            got = None if k is None else judge(pair, curves[0])
            if k is not None and got is not None and not math.isnan(got.value):
                runs[point] = (sign * pair.select.values(curves[0])[k], sign * got.value)
        if not runs:
            continue
        top = min(j for _, j in runs.values())
        sel, reg = [], []
        for config in configs:
            point = grid.nearest(filled(pair.select, config))
            s, j = runs.get(point, (math.inf, math.inf))
            sel.append(s)
            reg.append((j - top) / (abs(top) or 1.0) if math.isfinite(j) else math.inf)
        out.append((sel, reg))
    return out


def portfolio_regret(
    table: Sequence[tuple[list[float], list[float]]], chosen: Sequence[int]
) -> float:
    """Mean over pairs of the judged regret of the config the portfolio picks on selection."""
    total = 0.0
    for sel, reg in table:
        pick = min(chosen, key=lambda c: (sel[c], c))
        total += reg[pick]
    return total / len(table)


def learn(
    banks: Sequence[Bank], configs: Sequence[Mapping[str, Any]], *, k: int
) -> tuple[list[int], float, float]:
    """The ``k`` configs with the smallest worst regret over ``banks`` (ties: smaller mean
    regret, then less compute); returns their indices, worst and mean regret. Fewer configs
    than ``k`` (a partial bank): all of them; no bank with a judged run: none (regret inf)."""
    tables = [regret_table(pairs_of(b), configs) for b in banks]
    tables = [t for t in tables if t]
    if not tables or not configs:
        return [], math.inf, math.inf
    best: tuple[float, float, float, tuple[int, ...]] | None = None
    for chosen in itertools.combinations(range(len(configs)), min(k, len(configs))):
        regrets = [portfolio_regret(t, chosen) for t in tables]
        worst = max(regrets)
        if best is not None and worst > best[0]:
            continue
        cost = sum(float(configs[c].get("num_epochs", 0)) for c in chosen)
        key = (worst, sum(regrets) / len(regrets), cost, chosen)
        if best is None or key < best:
            best = key
    assert best is not None
    return list(best[3]), best[0], best[1]


def as_recipes(configs: Sequence[Mapping[str, Any]], *, note: str) -> tuple[Recipe, ...]:
    from sweeper.portfolio import Recipe

    return tuple(
        Recipe(name=f"learned-{i + 1}", citation=note, settings=dict(c))
        for i, c in enumerate(configs)
    )


def recipes_regret(bank: Bank, recipes: Sequence[Recipe], policy: Policy) -> float:
    """The regret of a queued start alone (its best on selection, judged)."""
    from sweeper.replay import portfolio_queue

    pairs = pairs_of(bank)
    if not pairs:
        return math.inf
    queued = portfolio_queue(
        pairs[0].select,
        policy,
        space=bank_space(pairs[0].select),
        recipes=recipes,
        n_trials=N_TRIALS,
    )
    table = regret_table(pairs, queued)
    return portfolio_regret(table, range(len(queued))) if table and queued else math.inf


def write_learned(
    path: Path, configs: Sequence[Mapping[str, Any]], *, paths: Sequence[Path], k: int
) -> None:
    import yaml

    head = (
        "# sweep.portfolio=learned: the configs a sweep starts from, in queue order, instead\n"
        "# of the published recipes (sweeper/portfolio.py RECIPES); fitted to the search space\n"
        "# and the data like the recipes. Learned by\n"
        "# `python -m scripts.bench_portfolio --learned-out` on\n"
        f"# {', '.join(p.name for p in paths)}: the {k} recorded configs whose best (chosen on\n"
        "# validation) has the smallest worst regret over those banks (docs/benchmarks.md §7).\n"
    )
    items = [
        {"name": f"learned-{i + 1}", "citation": "bank replay 2026-12-03", "settings": dict(c)}
        for i, c in enumerate(configs)
    ]
    path.write_text(head + yaml.safe_dump(items, sort_keys=False), encoding="utf-8")
