"""Figure 7: sweeper's recommended defaults against the published fine-tuning recipes.

Per task, on the same model and data (``data.validation=from_train``: the validation split
that every choice is made on is carved from GLUE train; the GLUE dev set is a **test** split
that no choice sees), each arm is run over the same number of seeds:

* ``bert``: Devlin et al. 2019: lr in {5, 3, 2}e-5, 3 epochs, 10 % warmup, linear decay,
  batch 32, no early stopping; the lr with the best mean validation metric over the seeds is
  the recipe's answer (its runs are the reported ones);
* ``roberta``: Liu et al. 2019 style: lr in {1, 2, 3}e-5, 6 % warmup, linear, batch 32, up to
  10 epochs with early stopping on the validation metric (patience 2 epochs), chosen like bert;
* ``mosbach``: Mosbach et al. 2021: lr 2e-5, 20 epochs, 10 % warmup, linear, batch 32, early
  stopping on the validation metric (patience 2 epochs);
* ``sweeper``: the default sweep (``+experiment=glue``: 8 trials, its own pruning and early
  stopping) and ``sweeper.recommend`` at its defaults (top 3 x 3 fresh seeds); the reported
  runs are the recommendation's confirmation: the written config retrained as written on
  held-out seeds.

Recipes evaluate once per epoch and report the evaluation their early stopping keeps (bert:
the last); sweeper reports the end of its confirmation runs. Compute is the epochs trained,
summed over every run an arm needed (a grid, a sweep and its recommendation), and wall seconds.

    python -m scripts.bench_recipes                 # full size: GLUE_DIR, MRPC, CoLA, SST-2
    python -m scripts.bench_recipes --quick         # CI smoke: a tiny model, built-in data
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scripts import _bench
from scripts._recipes import (
    PATIENCE,
    RECIPES,
    Arm,
    Recipe,
    Run,
    counted_epochs,
    run_recipe,
    run_sweeper,
)

__all__ = [
    "PATIENCE",
    "RECIPES",
    "SEEDS",
    "TASKS",
    "Arm",
    "Recipe",
    "Run",
    "counted_epochs",
    "main",
    "run_recipe",
    "run_sweeper",
    "task_base",
    "verdict_line",
]

SEEDS = (1, 2, 3)

# Per task: data sizes and sequence length (full mode). Subsets keep the whole benchmark near an
# hour on the shared 2-core machine; validation is carved from GLUE train, test is GLUE dev.
# MRPC's sentence pairs are the longest: its runs use the first 3 of MiniLM's 6 layers (as its
# curve bank does, docs/benchmarks.md), the other tasks the whole model.
TASKS: dict[str, dict[str, int]] = {
    "mrpc": {"train": 200, "val": 100, "test": 200, "seq": 128, "layers": 3},
    # CoLA at 200 examples learns nothing in any arm (its curve bank's 800 on 3 layers did not
    # either): 1,000 on the whole model, short sentences at 64 tokens.
    "cola": {"train": 1000, "val": 200, "test": 500, "seq": 64, "layers": 0},
    "sst2": {"train": 400, "val": 100, "test": 200, "seq": 64, "layers": 0},
}


def _fmt(stat: tuple[float, float], digits: int = 3) -> str:
    mean, std = stat
    return "n/a" if not math.isfinite(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def task_base(task: str, args: Any, work: Path) -> tuple[list[str], str]:
    """Overrides giving every arm the same data and model."""
    if args.quick:
        model = _bench.model_for(args, work)
        base = [
            "data=builtin",
            "data.builtin.num_train=240",
            "data.builtin.num_eval=64",
            "data.validation=from_train",
            "data.validation_size=48",
            f"model.name_or_path={model}",
            "data.max_seq_length=32",
        ]
        return base, "built-in task, 192 train / 48 validation / 64 test, tiny random BERT"
    size = TASKS[task]
    glue = _bench.glue_available(args.glue_dir)
    if glue is None:
        raise SystemExit("bench_recipes needs GLUE data: --glue-dir or GLUE_DIR")
    base = [
        "data=glue",
        f"data.task={task}",
        "data.source=glue_dir",
        f"data.glue_dir={glue}",
        "data.validation=from_train",
        f"data.validation_size={size['val']}",
        f"data.max_train_samples={size['train']}",
        f"data.max_eval_samples={max(size['val'], size['test'])}",
        f"data.max_seq_length={size['seq']}",
        "quiet=true",
        *([f"model.num_hidden_layers={size['layers']}"] if size["layers"] else []),
    ]
    if args.model:
        base.append(f"model.name_or_path={args.model}")
    label = (
        f"{task}: {size['train']} train, {size['val']} validation (from GLUE train), "
        f"GLUE dev as test (up to {max(size['val'], size['test'])}), max_seq_length "
        f"{size['seq']}" + (f", first {size['layers']} layers" if size["layers"] else "")
    )
    return base, label


def verdict_line(arms: dict[str, Arm]) -> str:
    """sweeper vs the best recipe on the test metric: by >= 1 recipe std, at <= 2x its grid."""
    recipes = [a for n, a in arms.items() if n != "sweeper"]
    sweeper_arm = arms["sweeper"]
    best = max(recipes, key=lambda a: a.stat("test_metric")[0])
    (s_mean, _), (r_mean, r_std) = sweeper_arm.stat("test_metric"), best.stat("test_metric")
    grid = best.epochs  # what the recipe it is compared with spent (its whole grid)
    cost = sweeper_arm.epochs / grid if grid else math.nan
    margin = s_mean - r_mean
    # Beating means a positive margin of at least the recipe's seed spread (a tie is no win).
    quality = "met" if margin > 0 and margin >= r_std else f"MISSED by {r_std - margin:.3f}"
    compute = "met" if cost <= 2 else f"MISSED: {cost:.1f}x"
    return (
        f"best recipe on test: {best.name} ({r_mean:.3f} ± {r_std:.3f}); sweeper "
        f"{s_mean:.3f}: margin {margin:+.3f} (goal >= +{r_std:.3f}: {quality}); compute "
        f"{sweeper_arm.epochs:.0f} epochs = {cost:.2f}x that recipe's grid "
        f"({grid:.0f} epochs; goal <= 2x: {compute})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=None)
    p.add_argument("--tasks", nargs="+", default=list(TASKS), help="%(default)s")
    p.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="%(default)s")
    p.add_argument("--arms", nargs="+", default=[*(r.name for r in RECIPES), "sweeper"])
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument(
        "--patience", type=int, default=PATIENCE, help="recipes' early stopping (%(default)s)"
    )
    p.add_argument(
        "--sweeper-overrides",
        nargs="+",
        default=[],
        help="config overrides for the sweeper arm only, e.g. sweep.objective=metric (select on "
        "the task metric, as the recipes do)",
    )
    args = _bench.finish_args(p.parse_args(argv))
    if args.quick:
        args.tasks, args.seeds = args.tasks[:1], args.seeds[:2]
    report: dict[str, Any] = {"tasks": {}}
    with _bench.workdir(args.workdir) as work:
        _bench.header(
            "7. Recommended defaults vs published recipes",
            [
                f"seeds {args.seeds}; arms {args.arms}; recipes' patience {args.patience} epochs; "
                f"sweeper overrides {' '.join(args.sweeper_overrides) or '-'}"
            ],
        )
        for task in args.tasks:
            base, label = task_base(task, args, work)
            print(f"### {'built-in task' if args.quick else task}\n\n- data: {label}\n", flush=True)
            arms: dict[str, Arm] = {}
            facts: dict[str, Any] = {}
            for recipe in RECIPES:
                if recipe.name in args.arms:
                    if args.quick:
                        recipe = replace(recipe, epochs=min(recipe.epochs, 3))
                    with _bench.silenced():
                        arms[recipe.name] = run_recipe(
                            recipe, base=base, seeds=args.seeds, patience=args.patience
                        )
                    print(f"  .. {recipe.name} {arms[recipe.name].seconds:.0f}s", file=sys.stderr)
            if "sweeper" in args.arms:
                extra = ["sweep.n_trials=3", "recommend.top_k=2"] if args.quick else []
                extra += args.sweeper_overrides
                arms["sweeper"], facts = run_sweeper(base=[*base, *extra], work=work, task=task)
                print(f"  .. sweeper {arms['sweeper'].seconds:.0f}s", file=sys.stderr)
            rows = [
                [
                    a.name,
                    a.note,
                    len(a.runs),
                    _fmt(a.stat("metric")),
                    _fmt(a.stat("val_loss")),
                    _fmt(a.stat("test_metric")),
                    _fmt(a.stat("test_loss")),
                    f"{a.epochs:.0f}",
                    f"{a.seconds:.0f}",
                ]
                for a in arms.values()
            ]
            print(
                _bench.table(
                    [
                        "arm",
                        "chosen",
                        "seeds",
                        "val metric",
                        "val loss",
                        "test metric",
                        "test loss",
                        "epochs",
                        "s",
                    ],
                    rows,
                )
            )
            if facts:
                print(
                    f"\n- sweep: {facts['trials']} trials, {facts['pruned']} pruned; best trial "
                    f"{facts['best_trial']}; searched trials better than the enqueued default "
                    f"(trial 0, {facts['default_state']}): {facts['searched_beat_default']}; "
                    f"epochs searched {facts['epoch_range']}"
                )
                print(f"- recommend: {facts['verdict']}")
            if "sweeper" in arms and len(arms) > 1:
                print(f"- verdict: {verdict_line(arms)}")
            print(flush=True)
            report["tasks"][task] = {
                "data": label,
                "arms": {
                    n: {
                        "note": a.note,
                        "epochs": a.epochs,
                        "seconds": a.seconds,
                        "runs": [vars(r) for r in a.runs],
                    }
                    for n, a in arms.items()
                },
                "sweep": facts,
            }
            if args.json is not None:
                args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
