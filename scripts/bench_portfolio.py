"""Portfolio start vs the published recipes, replayed on the recorded curve banks (issue 22).

Per bank, side by side: each published recipe's grid (its best learning rate chosen on
validation, as its paper does) and sweeper's 8-trial default sweep (conf/config.yaml's sampler,
pruner and early stopping) started from each ``sweep.portfolio`` (recipes, none, learned),
replayed many times through the live code (:func:`sweeper.replay.replay`, the start queued by
:func:`sweeper.replay.portfolio_queue`). A score is the chosen configuration's value.

Never judged on what was selected: on a bank with several seeds per configuration the choice
(configuration and evaluation) is made on one seed's curves and judged on the other seed's
curve at the same step, both ways round. On a one-seed bank choice and judgement share the
curve (validation only: optimistic for every arm alike); the output says which.

The learned portfolio: the ``--k`` grid configurations whose best (chosen on validation) has the
smallest worst regret over the banks, leave one task out (learned on the other tasks, judged on
the held-out one); the sweeps of ``sweep.portfolio=learned`` on a bank start from the portfolio
learned without its task. ``--learned-out`` writes the one learned on every bank (the
conf/learned_portfolio.yaml format).

    python -m scripts.bench_portfolio                       # committed banks, 200 replays each
    python -m scripts.bench_portfolio BANK... --reps 20 --objective metric
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import math
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts import _bench

if TYPE_CHECKING:
    from sweeper.bank import Bank, Curve
    from sweeper.portfolio import Recipe
    from sweeper.replay import Grid, Policy
    from sweeper.space import SearchSpace

BANKS = _bench.ROOT / "benchmarks" / "banks"
N_TRIALS = 8  # the default budget (conf/config.yaml sweep.n_trials)
SWEEP_ARMS = ("recipes", "none", "learned")
MIN_CONFIGS = 6  # fewer recorded configurations than this: no verdict on the bank


# ----------------------------------------------------------------------------- banks


@dataclass(frozen=True, kw_only=True)
class Pair:
    """Where a choice is made (``select``) and where it is judged (``judge``)."""

    select: Bank
    judge: Bank
    label: str


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
    return [
        Pair(select=subs[a], judge=subs[b], label=f"selected on seed {a}, judged on seed {b}")
        for a, b in itertools.permutations(seeds, 2)
    ]


def with_objective(bank: Bank, objective: str) -> Bank:
    """``metric``: the bank as a sweep with ``sweep.objective=metric`` sees it (maximized)."""
    if objective == "val_loss":
        return bank
    return dataclasses.replace(bank, monitor=bank.metric, direction="maximize")


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
    """A chosen run's values at the chosen evaluation, on the judging curve."""

    val_loss: float
    metric: float
    value: float  # the selection objective's value (val_loss or the metric)
    # The same on the bank's test split (NaN: the bank has none): a split no choice saw.
    test_metric: float = math.nan
    test_value: float = math.nan


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def best_index(bank: Bank, curve: Curve) -> int | None:
    """The evaluation a sweep keeps (best monitored value, the first of ties; None: all NaN)."""
    values = bank.values(curve)
    finite = [k for k, v in enumerate(values) if not math.isnan(v)]
    if not finite:
        return None
    sign = 1.0 if bank.direction == "minimize" else -1.0
    return min(finite, key=lambda k: (sign * values[k], k))


def judge(pair: Pair, curve: Curve, k: int) -> Judged | None:
    """``curve`` (a run of ``pair.select``) judged on ``pair.judge``: the same configuration's
    run there, at the same step (None: that run was not recorded, or stopped before)."""
    step = curve.step[k]
    for other in pair.judge.trained:
        if _key(other.params) == _key(curve.params) and step in other.step:
            j = other.step.index(step)
            test = other.test_loss if pair.judge.monitor == "val_loss" else other.test_metric
            return Judged(
                val_loss=other.val_loss[j],
                metric=other.metric[j],
                value=pair.judge.values(other)[j],
                test_metric=other.test_metric[j] if other.test_metric else math.nan,
                test_value=test[j] if test else math.nan,
            )
    return None


def choose(pair: Pair, grid: Grid, points: Sequence[tuple[Any, ...]]) -> tuple[Curve, int] | None:
    """The best run among ``points`` on the selection curves, and its kept evaluation."""
    bank = pair.select
    sign = 1.0 if bank.direction == "minimize" else -1.0
    best: tuple[float, Curve, int] | None = None
    for point in dict.fromkeys(points):
        curve = grid.runs[point][0]
        k = best_index(bank, curve)
        if k is not None and (best is None or sign * bank.values(curve)[k] < best[0]):
            best = (sign * bank.values(curve)[k], curve, k)
    return None if best is None else (best[1], best[2])


# ----------------------------------------------------------------------------- recipe arms


def recipe_grids() -> dict[str, list[dict[str, Any]]]:
    """Each paper's grid, from the live recipe table (sweeper.portfolio.RECIPES): BERT lr
    {2, 3, 5}e-5; RoBERTa style lr {1, 2, 3}e-5 x batch {16, 32}; Mosbach et al. lr 2e-5."""
    from sweeper.portfolio import RECIPES

    base = {}
    for recipe in RECIPES:
        base.setdefault(recipe.citation, dict(recipe.settings))
    grids = {"BERT": ("Devlin", [2e-5, 3e-5, 5e-5], [None])}
    grids["RoBERTa"] = ("RoBERTa", [1e-5, 2e-5, 3e-5], [16, 32])
    grids["Mosbach"] = ("Mosbach", [2e-5], [None])
    out = {}
    for name, (cite, lrs, batches) in grids.items():
        settings = next(s for c, s in base.items() if cite in c)
        out[name] = [
            {**settings, "lr": lr, **({} if b is None else {"batch_size": b})}
            for lr in lrs
            for b in batches
        ]
    return out


def filled(bank: Bank, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with every grid entry it lacks at the bank's fixed train value."""
    return {**{k: bank.train.get(k, v[0]) for k, v in bank.grid.items()}, **settings}


@dataclass(frozen=True, kw_only=True)
class Arm:
    """One arm's judged values over pairs (recipes) or replays (sweeps)."""

    name: str
    judged: list[Judged | None]
    epochs: list[float]
    searched_won: float | None = None  # share of sweeps whose answer is a searched trial


def recipe_arm(name: str, grid_settings: Sequence[Mapping[str, Any]], pairs: Sequence[Pair]) -> Arm:
    judged: list[Judged | None] = []
    epochs: list[float] = []
    for pair in pairs:
        grid = _grid(pair.select)
        mapped = [grid.nearest(filled(pair.select, s)) for s in grid_settings]
        chosen = choose(pair, grid, mapped)
        judged.append(None if chosen is None else judge(pair, *chosen))
        epochs.append(sum(grid.runs[p][0].epochs for p in mapped))
    # Compute: every point of the paper's grid trained once (as the paper runs them), each
    # at the recorded run it maps to (two points may map to one run: both are counted).
    return Arm(name=name, judged=judged, epochs=epochs)


_GRIDS: dict[int, tuple[Bank, Grid]] = {}


def _grid(bank: Bank) -> Grid:
    from sweeper.replay import Grid

    cached = _GRIDS.get(id(bank))
    if cached is None or cached[0] is not bank:
        cached = (bank, Grid(bank, bank_space(bank)))
        _GRIDS[id(bank)] = cached
    return cached[1]


# ----------------------------------------------------------------------------- sweep arms


def sweep_arm(
    name: str,
    pairs: Sequence[Pair],
    *,
    policy: Policy,
    recipes: Sequence[Recipe],
    reps: int,
    seed: int,
) -> Arm:
    """``reps`` replays per pair of the default sweep started from ``recipes``; each judged by
    its answer (the best finished trial, at its best evaluation) on the judging curve."""
    from sweeper.replay import portfolio_queue, replay

    judged: list[Judged | None] = []
    epochs: list[float] = []
    searched = 0
    for pair in pairs:
        space = bank_space(pair.select)
        grid = _grid(pair.select)
        queued = portfolio_queue(
            pair.select, policy, space=space, recipes=recipes, n_trials=N_TRIALS
        )
        traces = replay(
            pair.select, policy, space=space, n_trials=N_TRIALS, reps=reps, seed=seed, queued=queued
        )
        for trace in traces:
            epochs.append(trace.total_epochs)
            final = trace.incumbent[-1]
            if not math.isfinite(final):
                judged.append(None)  # every trial pruned: no answer
                continue
            i = trace.incumbent.index(final)  # the trial that found it
            searched += i >= len(queued)
            found = [
                (c, k)
                for c in grid.runs[trace.points[i]]
                for k, v in enumerate(pair.select.values(c))
                if v == final
            ]
            judged.append(judge(pair, *found[0]) if found else None)
    return Arm(name=name, judged=judged, epochs=epochs, searched_won=searched / len(judged))


# ----------------------------------------------------------------------------- learned


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
            got = None if k is None else judge(pair, curves[0], k)
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


# ----------------------------------------------------------------------------- output


def _stats(values: Sequence[float]) -> str:
    kept = sorted(v for v in values if math.isfinite(v))
    if not kept:
        return "n/a"
    if len(kept) == 1:
        return f"{kept[0]:.3f}"
    med = statistics.median(kept)
    if len(kept) <= 3:
        return f"{med:.3f} ({', '.join(f'{v:.3f}' for v in kept)})"
    q = statistics.quantiles(kept, n=4)
    return f"{med:.3f} [{q[0]:.3f}, {q[2]:.3f}]"


def _values(arm: Arm, field: str) -> list[float]:
    return [getattr(j, field) if j is not None else math.nan for j in arm.judged]


def table(arms: Sequence[Arm], *, metric: str, reference: float, test: bool) -> str:
    head = ["arm", "val_loss (median [IQR])", f"{metric}"]
    head += [f"test {metric}"] if test else []
    head += ["no answer", "epochs", "x recipe", "answer from a searched trial"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for arm in arms:
        none = sum(j is None for j in arm.judged)
        epochs = statistics.median(arm.epochs)
        lines.append(
            "| "
            + " | ".join(
                [
                    arm.name,
                    _stats(_values(arm, "val_loss")),
                    _stats(_values(arm, "metric")),
                    *([_stats(_values(arm, "test_metric"))] if test else []),
                    f"{none}/{len(arm.judged)}",
                    f"{epochs:.1f}",
                    f"{epochs / reference:.2f}" if reference else "n/a",
                    "" if arm.searched_won is None else f"{arm.searched_won:.0%}",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def _median(arm: Arm, field: str = "value") -> float:
    kept = [getattr(j, field) for j in arm.judged if j is not None]
    kept = [v for v in kept if math.isfinite(v)]
    return statistics.median(kept) if kept else math.nan


def has_test(bank: Bank) -> bool:
    """Every run of ``bank`` has a test curve (recorded with data.validation=from_train)."""
    return bool(bank.curves) and all(c.test_loss for c in bank.curves)


def best_recipe(bank: Bank, recipes: Sequence[Arm]) -> Arm:
    """The recipe arm with the best median judged value (the first where none has one)."""
    sign = 1.0 if bank.direction == "minimize" else -1.0
    scored = [(sign * _median(a), i) for i, a in enumerate(recipes) if math.isfinite(_median(a))]
    return recipes[min(scored)[1]] if scored else recipes[0]


def verdict(bank: Bank, recipes: Sequence[Arm], sweep: Arm) -> tuple[str, dict[str, Any]]:
    """Issue 22's done-when on one bank: the sweep's median answer at least the best recipe's,
    ahead by a recipe seed-std, at no more than 2x that recipe's grid compute. Judged on the
    test split where the bank has one (the best recipe is still the one best on validation)."""
    sign = 1.0 if bank.direction == "minimize" else -1.0
    best = best_recipe(bank, recipes)
    field = "test_value" if has_test(bank) else "value"
    if not math.isfinite(_median(best, field)):
        return f"{sweep.name}: no recipe arm has a judged value (runs missing on a seed)", {}
    mine = _median(sweep, field)
    values = [getattr(j, field) for j in best.judged if j is not None]
    std = statistics.stdev(values) if len(values) > 1 else math.nan
    gap = sign * (_median(best, field) - mine)  # > 0: the sweep is ahead
    ratio = statistics.median(sweep.epochs) / statistics.median(best.epochs)
    facts = {
        "judged_on": "test" if field == "test_value" else "validation",
        "best_recipe": best.name,
        "recipe": _median(best, field),
        "sweep": mine,
        "ahead_by": gap,
        "recipe_seed_std": std,
        "compute_ratio": ratio,
        "not_worse": gap >= 0,
        "ahead_by_a_std": bool(std == std and gap >= std),
        "within_2x": ratio <= 2,
    }
    line = (
        f"{sweep.name} {'test' if field == 'test_value' else 'validation'} {bank.monitor} "
        f"{mine:.4f} vs best recipe {best.name} "
        f"{_median(best, field):.4f}: {'not worse' if gap >= 0 else 'WORSE'} "
        f"(ahead by {gap:+.4f}; recipe seed-std {'n/a (one seed)' if std != std else f'{std:.4f}'})"
        f", compute {ratio:.2f}x the recipe grid ({'within' if ratio <= 2 else 'OVER'} 2x)"
    )
    return line, facts


# ----------------------------------------------------------------------------- main


def default_banks() -> list[Path]:
    return sorted(BANKS.glob("*.json.gz")) + sorted(BANKS.glob("v2/*.json.gz"))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("banks", nargs="*", type=Path, help="bank files (default: the committed ones)")
    p.add_argument("--reps", type=int, default=200, help="replays per sweep arm and pair")
    p.add_argument("--seed", type=int, default=0, help="first replay's seed (%(default)s)")
    p.add_argument("--k", type=int, default=3, help="configs in the learned portfolio")
    p.add_argument(
        "--objective",
        choices=("val_loss", "metric"),
        default="val_loss",
        help="what every arm selects on (the sweep's sweep.objective; recipes alike)",
    )
    p.add_argument("--learned-out", type=Path, default=None, help="write the learned portfolio")
    p.add_argument(
        "--min-configs",
        type=int,
        default=MIN_CONFIGS,
        help="fewer configurations recorded (on every seed) than this: no verdict on a bank",
    )
    p.add_argument("--json", type=Path, default=None, help="the verdicts, machine-readable")
    args = p.parse_args(argv)
    if args.reps < 1 or args.k < 1:
        p.error(f"--reps and --k must be >= 1 but got {args.reps} and {args.k}.")
    import optuna

    from sweeper.bank import load
    from sweeper.portfolio import RECIPES
    from sweeper.replay import default_policy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    paths = args.banks or default_banks()
    if not paths:
        print(f"no bank under {BANKS}", file=sys.stderr)
        return 1
    banks = [with_objective(load(path), args.objective) for path in paths]
    policy = default_policy()
    configs = candidates([pair.select for b in banks for pair in pairs_of(b)])
    print("# Portfolio start vs published recipes, replayed (issue 22)\n")
    print(
        f"banks: {', '.join(_shown_path(x) for x in paths)}; policy {policy.name}, "
        f"{N_TRIALS} trials, {args.reps} replays per pair; every arm selects on "
        f"{'val_loss' if args.objective == 'val_loss' else 'the task metric'}; "
        f"learned portfolio: {args.k} of {len(configs)} recorded configs, worst regret, "
        "leave one task out"
    )

    # The learned portfolio, leave one task out, and the one learned on every bank.
    tasks = sorted({b.task for b in banks})
    learned: dict[str, tuple[Recipe, ...]] = {}
    print("\n## Learned portfolio (leave one task out)\n")
    print(
        "Regret of the queued start alone (its best on selection, judged) on the held-out task:\n"
    )
    print("| held-out task | learned on | learned configs | learned regret | recipes regret |")
    print("|---|---|---|---|---|")
    for task in tasks:
        train = [b for b in banks if b.task != task]
        if not train:
            print(f"| {task} | (no other task) | - | - | - |")
            continue
        chosen, _, _ = learn(train, configs, k=args.k)
        picked = [configs[c] for c in chosen]
        learned[task] = as_recipes(picked, note=f"bank replay, without {task}")
        for bank in (b for b in banks if b.task == task):
            mine = recipes_regret(bank, learned[task], policy)
            theirs = recipes_regret(bank, RECIPES, policy)
            shown = "; ".join(_show(c) for c in picked)
            mine_s, theirs_s = (f"{r:.2%}" if math.isfinite(r) else "n/a" for r in (mine, theirs))
            print(
                f"| {task} ({bank.provenance.get('task_info', {}).get('num_train', '?')} ex) | "
                f"{', '.join(sorted({b.task for b in train}))} | {shown} | {mine_s} | {theirs_s} |"
            )
    chosen, worst, mean = learn(banks, configs, k=args.k)
    everywhere = [configs[c] for c in chosen]
    print(
        f"\nlearned on every bank: {'; '.join(_show(c) for c in everywhere)} "
        f"(worst regret {worst:.2%}, mean {mean:.2%})"
    )
    if args.learned_out is not None:
        write_learned(args.learned_out, everywhere, paths=paths, k=args.k)
        print(f"written: {args.learned_out}")

    report: dict[str, Any] = {}
    for path, bank in zip(paths, banks, strict=True):
        pairs = pairs_of(bank)
        if not pairs:
            print(f"\n## {bank.task}: {path.name}: no configuration recorded on every seed yet")
            continue
        started = time.perf_counter()
        recipe_arms = [recipe_arm(f"recipe {n}", g, pairs) for n, g in recipe_grids().items()]
        sweeps = [
            sweep_arm(
                f"sweep portfolio={name}",
                pairs,
                policy=policy,
                recipes={"recipes": RECIPES, "none": (), "learned": learned.get(bank.task, ())}[
                    name
                ],
                reps=args.reps,
                seed=args.seed,
            )
            for name in SWEEP_ARMS
            if name != "learned" or bank.task in learned
        ]
        reference = statistics.median(best_recipe(bank, recipe_arms).epochs)
        info = bank.provenance.get("task_info", {})
        print(
            f"\n## {bank.task}: {path.name} ({info.get('num_train', '?')} training examples, "
            f"{len(bank.trained)} recorded runs; {pairs[0].label}"
            f"{' and back' if len(pairs) > 1 else ''})\n"
        )
        common = len(pairs[0].select.trained)
        if len(pairs) > 1:
            print(f"{common} configurations recorded on every seed (only those are replayed).")
        if common < args.min_configs:
            print(
                f"Too few configurations to tell arms apart (under {args.min_configs}: every arm "
                "lands on the same runs); figures shown, no verdict drawn.\n"
            )
        print(
            table(
                [*recipe_arms, *sweeps],
                metric=bank.metric,
                reference=reference,
                test=has_test(bank),
            )
        )
        print(
            f"\n(epochs: median per sweep, or the recipe grid's, every grid point once; x recipe: "
            f"over the best recipe's grid, {reference:.1f} epochs)"
        )
        for sweep in sweeps if common >= args.min_configs else ():
            line, facts = verdict(bank, recipe_arms, sweep)
            print(f"- {line}")
            report.setdefault(path.name, {})[sweep.name] = facts
        print(f"  .. {path.name}: {time.perf_counter() - started:.1f}s", file=sys.stderr)
    if args.json is not None:
        import json

        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(_bench.ROOT))
    except ValueError:
        return str(path)


def _show(config: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items())


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


if __name__ == "__main__":
    raise SystemExit(main())
