"""Portfolio start vs the published recipes, replayed on the recorded curve banks (issue 22).

Per bank, side by side: each published recipe's grid (its best learning rate chosen on
validation, as its paper does) and sweeper's 8-trial default sweep (conf/config.yaml's sampler,
pruner and early stopping) started from each ``sweep.portfolio`` (recipes, none, learned), and
the recipes start ranked by each trial's single best evaluation (``train.select_window=0``),
replayed many times through the live code (:func:`sweeper.replay.replay`, the start queued by
:func:`sweeper.replay.portfolio_queue`). A score is the chosen configuration's value.

Never judged on what was selected: on a bank with several seeds per configuration the
configuration is chosen on one seed's curves and judged as it is used, trained on another seed
to the end of its schedule (every way round; the test split where the bank has one, and there
also at that run's own best validation checkpoint). With three seeds, ``sweeper.recommend`` is
replayed too: the sweep's best candidates re-run on the third seed. On a one-seed bank choice
and judgement share the curve (validation only: optimistic for every arm alike); the output
says which. On ``--objective val_loss`` a recommendation would end the schedule at the early
loss peak, which a bank of whole schedules cannot replay: the end of the schedule judges it
poorly there.

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
import math
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scripts import _bench
from scripts._portfolio_learned import (
    as_recipes,
    candidates,
    learn,
    recipes_regret,
    write_learned,
)
from scripts._portfolio_pairs import (
    N_TRIALS,
    Judged,
    Pair,
    _grid,
    bank_space,
    choose,
    filled,
    judge,
    pairs_of,
)

if TYPE_CHECKING:
    from sweeper.bank import Bank, Curve
    from sweeper.portfolio import Recipe
    from sweeper.replay import Policy, Trace

BANKS = _bench.ROOT / "benchmarks" / "banks"
SWEEP_ARMS = ("recipes", "none", "learned")
MIN_CONFIGS = 6  # fewer recorded configurations than this: no verdict on the bank
TOP_K = 3  # candidates a recommendation re-runs (conf/config.yaml: recommend.top_k)


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
        judged.append(None if chosen is None else judge(pair, chosen))
        epochs.append(sum(grid.runs[p][0].epochs for p in mapped))
    # Compute: every point of the paper's grid trained once (as the paper runs them), each
    # at the recorded run it maps to (two points may map to one run: both are counted).
    return Arm(name=name, judged=judged, epochs=epochs)


# ----------------------------------------------------------------------------- sweep arms


def _replayed(
    pair: Pair,
    *,
    policy: Policy,
    recipes: Sequence[Recipe],
    reps: int,
    seed: int,
    n_trials: int,
) -> tuple[list[dict[str, Any]], list[Trace]]:
    """The default sweep's queued start from ``recipes``, and ``reps`` replays of it on the
    pair's selection seed."""
    from sweeper.replay import portfolio_queue, replay

    space = bank_space(pair.select)
    queued = portfolio_queue(pair.select, policy, space=space, recipes=recipes, n_trials=n_trials)
    traces = replay(
        pair.select, policy, space=space, n_trials=n_trials, reps=reps, seed=seed, queued=queued
    )
    return queued, traces


def sweep_arm(
    name: str,
    pairs: Sequence[Pair],
    *,
    policy: Policy,
    recipes: Sequence[Recipe],
    reps: int,
    seed: int,
    n_trials: int = N_TRIALS,
) -> Arm:
    """``reps`` replays per pair of the default sweep started from ``recipes``; each judged by
    its answer's configuration (the best finished trial's, :func:`judge`)."""
    judged: list[Judged | None] = []
    epochs: list[float] = []
    searched = 0
    for pair in pairs:
        queued, traces = _replayed(
            pair, policy=policy, recipes=recipes, reps=reps, seed=seed, n_trials=n_trials
        )
        for trace in traces:
            epochs.append(trace.total_epochs)
            if trace.answer is None or trace.answer_trial is None:
                judged.append(None)  # every trial pruned: no answer
                continue
            searched += trace.answer_trial >= len(queued)
            judged.append(judge(pair, trace.answer[0]))
    return Arm(name=name, judged=judged, epochs=epochs, searched_won=searched / len(judged))


def recommend_arm(
    name: str,
    pairs: Sequence[Pair],
    *,
    policy: Policy,
    recipes: Sequence[Recipe],
    reps: int,
    seed: int,
    top_k: int = TOP_K,
    n_trials: int = N_TRIALS,
) -> Arm:
    """``sweeper.recommend`` after each replayed sweep: the sweep's ``top_k`` best distinct
    configurations re-run on the pair's ``rerun`` seed (early stopping as configured, no
    pruning), the one ranked best there chosen and judged as every arm is (:func:`judge`: at
    the end of its schedule; the bank holds no shorter schedule of a configuration, so a
    recommendation of fewer epochs is not replayed). Compute: the sweep's and the re-runs'.
    Live, recommend re-runs on 3 seeds and takes the median; a 3-seed bank leaves one seed for
    this (pairs without a ``rerun`` are skipped)."""
    from sweeper.replay import base_settings, reveal

    judged: list[Judged | None] = []
    epochs: list[float] = []
    for pair in pairs:
        if pair.rerun is None:
            continue
        _, traces = _replayed(
            pair, policy=policy, recipes=recipes, reps=reps, seed=seed, n_trials=n_trials
        )
        rerun, grid = pair.rerun, _grid(pair.rerun)
        base = base_settings(rerun, policy)
        sign = 1.0 if rerun.direction == "minimize" else -1.0
        for trace in traces:
            spent = trace.total_epochs
            best: tuple[float, Curve] | None = None
            for point in trace.top_points(top_k):
                curve = grid.runs[point][0]
                settings = base.replace(grid.params(point))
                outcome, _ = reveal(rerun, curve, settings, lambda *_: False)  # no pruning
                spent += outcome.epochs_trained
                got = outcome.best
                if (
                    got is not None
                    and math.isfinite(got.value)
                    and (best is None or sign * got.value < best[0])
                ):
                    best = (sign * got.value, curve)
            epochs.append(spent)
            judged.append(None if best is None else judge(pair, best[1]))
    return Arm(name=name, judged=judged, epochs=epochs)


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
    head += [f"test {metric}", f"test {metric} at its best checkpoint"] if test else []
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
                    *(
                        [
                            _stats(_values(arm, "test_metric")),
                            _stats(_values(arm, "checkpoint_test_metric")),
                        ]
                        if test
                        else []
                    ),
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
    kept = [v for v in _values(arm, field) if math.isfinite(v)]
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
    p.add_argument(
        "--trials", type=int, default=N_TRIALS, help="trials per sweep (%(default)s, as shipped)"
    )
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
    if min(args.reps, args.k, args.trials) < 1:
        p.error(
            f"--reps, --k and --trials must be >= 1 but got {args.reps}, {args.k} and "
            f"{args.trials}."
        )
    import optuna

    from sweeper.bank import load
    from sweeper.portfolio import RECIPES
    from sweeper.replay import default_policy

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    paths = args.banks or default_banks()
    if not paths:
        print(f"no bank under {BANKS}", file=sys.stderr)
        return 1
    banks = [load(path).selecting_on(args.objective) for path in paths]
    policy = default_policy()
    configs = candidates([pair.select for b in banks for pair in pairs_of(b)])
    print("# Portfolio start vs published recipes, replayed (issue 22)\n")
    print(
        f"banks: {', '.join(_shown_path(x) for x in paths)}; policy {policy.name}, "
        f"{args.trials} trials, {args.reps} replays per pair; every arm selects on "
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
                n_trials=args.trials,
                seed=args.seed,
            )
            for name in SWEEP_ARMS
            if name != "learned" or bank.task in learned
        ]
        if policy.select_window:
            # The shipped start ranked by the single best evaluation (before train.select_window):
            # what the median smoothing of the best point changes, side by side.
            sweeps.append(
                sweep_arm(
                    "sweep portfolio=recipes, select_window=0",
                    pairs,
                    policy=dataclasses.replace(policy, select_window=0),
                    recipes=RECIPES,
                    reps=args.reps,
                    n_trials=args.trials,
                    seed=args.seed,
                )
            )
        if pairs[0].rerun is not None:
            # What the user runs after the sweep: sweeper.recommend's re-ranking on a fresh seed.
            sweeps.append(
                recommend_arm(
                    "sweep + recommend (top 3 re-run on a fresh seed)",
                    pairs,
                    policy=policy,
                    recipes=RECIPES,
                    reps=args.reps,
                    n_trials=args.trials,
                    seed=args.seed,
                )
            )
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


if __name__ == "__main__":
    raise SystemExit(main())
