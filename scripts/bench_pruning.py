"""Figure 3: pruning and early stopping pay off (>= 50 % less compute, best loss within 1 %).

For each seed (the config's ``seed``: sampler draws, data subset, model init), two sweeps with
the same trial count and the same default search space run through ``sweeper.run.run``:

* ``exhaustive``: ``pruner=none train.patience=null``: every trial trains its full schedule;
* ``defaults``: the shipped pruner (`pruner=curve` since issue 15; docs §3 measured the median
  pruner shipped before) and early stopping (patience 2 evaluations).

Compute is the epochs actually trained, summed over the trials (from each trial's record);
quality is the study's best validation loss. The two arms alternate which runs first. Results
are reported per seed and as mean [min, max] over the seeds.

    python -m scripts.bench_pruning              # full size (GLUE_DIR for real SST-2)
    python -m scripts.bench_pruning --quick      # CI smoke: the scripted objective, no model
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from scripts import _bench
from scripts._bench import Spread, verdict

ARMS: dict[str, list[str]] = {
    "exhaustive": ["pruner=none", "train.patience=null"],
    "defaults": [],
}


def study_figures(storage: str, name: str) -> dict[str, Any]:
    """Compute, quality and outcomes of one finished study."""
    import optuna

    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    records = [t.user_attrs.get("best") or {} for t in trials]
    stops = [str(r.get("stop", "failed")) for r in records]
    return {
        "epochs": sum(float(r.get("epochs_trained") or 0.0) for r in records),
        "steps": sum(int(r.get("steps_trained") or 0) for r in records),
        "best": float(study.best_value),
        "trials": len(trials),
        "pruned": sum(s in ("pruned", "diverged", "non_finite") for s in stops),
        "early": stops.count("early_stopping"),
    }


def _is_pruner(override: str) -> bool:
    return override.lstrip("+~").startswith(("pruner.", "pruner="))


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="%(default)s")
    p.add_argument("--trials", type=int, default=6, help="per sweep (%(default)s)")
    p.add_argument("--train-samples", type=int, default=1536, help="(%(default)s)")
    p.add_argument("--eval-samples", type=int, default=512, help="(%(default)s)")
    p.add_argument(
        "overrides",
        nargs="*",
        help="config overrides for both arms (pruner.* ones for the defaults arm only, the "
        "exhaustive arm has no pruner), e.g. pruner.n_warmup_steps=1",
    )
    args = _bench.finish_args(p.parse_args(argv))
    if args.quick:
        args.seeds = args.seeds[:2]

    from sweeper.config import compose
    from sweeper.run import run

    with _bench.workdir(args.workdir) as work:
        if args.quick:
            # The scripted objective: the sweep machinery end to end without a model.
            data_label = (
                "scripted objective (sweeper.testing.fake_objective.QuadraticObjective), no model"
            )
            base = [
                "objective=sweeper.testing.fake_objective.QuadraticObjective",
                "data=builtin",
                "data.builtin.num_train=320",
                "train.batch_size=32",
                "+data.overfit=0.5",
                "tracking=none",
            ]
            args.trials = min(args.trials, 4)
        else:
            data = _bench.data_for(
                args.glue_dir, train=args.train_samples, evals=args.eval_samples, quick=False
            )
            data_label = data.label
            base = [
                *data.overrides,
                f"model.name_or_path={args.model or _bench.DEFAULT_MODEL}",
                "train.batch_size=64",
            ]
        base = [
            f"results_dir={work}",
            *base,
            f"sweep.n_trials={args.trials}",
            "quiet=true",
        ]
        storage = f"sqlite:///{work}/optuna.db"
        run_tag = _bench.unique("prune")
        _bench.header(
            "Pruning and early stopping (figure 3)",
            [
                f"data: {data_label}",
                f"sweep: {args.trials} trials, default search space (lr, warmup_ratio, "
                "num_epochs fitted to the data, scheduler), the shipped sampler, "
                "2 evaluations per epoch",
                f"seeds: {args.seeds}; arms: exhaustive ({' '.join(ARMS['exhaustive'])}) vs "
                "defaults (shipped pruner, patience 2)",
                f"overrides: {' '.join(args.overrides) or '-'} (pruner.* in the defaults arm only)",
            ],
        )

        per_seed: list[dict[str, dict[str, Any]]] = []
        for i, seed in enumerate(args.seeds):
            order = list(ARMS) if i % 2 == 0 else list(reversed(ARMS))
            figures: dict[str, dict[str, Any]] = {}
            for arm in order:
                name = f"{run_tag}-{arm}-{seed}"
                extra = [o for o in args.overrides if arm == "defaults" or not _is_pruner(o)]
                cfg = compose(
                    [*base, *ARMS[arm], *extra, f"seed={seed}", f"sweep.study_name={name}"]
                )
                started = time.perf_counter()
                with _bench.silenced():
                    run(cfg)
                wall = time.perf_counter() - started
                figures[arm] = {**study_figures(storage, name), "wall": wall}
                print(f"  .. seed {seed} {arm}: {wall:.1f}s", file=sys.stderr, flush=True)
            per_seed.append(figures)

    rows = []
    saved, delta, wall_ratio = [], [], []
    for seed, figures in zip(args.seeds, per_seed, strict=True):
        ex, de = figures["exhaustive"], figures["defaults"]
        saved.append(1 - de["epochs"] / ex["epochs"])
        delta.append(de["best"] / ex["best"] - 1)
        wall_ratio.append(de["wall"] / ex["wall"])
        rows.append(
            [
                seed,
                f"{ex['epochs']:.1f}",
                f"{de['epochs']:.1f} ({de['pruned']} pruned, {de['early']} early-stopped)",
                f"{saved[-1]:.1%}",
                f"{ex['best']:.4f}",
                f"{de['best']:.4f}",
                f"{delta[-1]:+.2%}",
                f"{wall_ratio[-1]:.2f}x",
            ]
        )
    print(
        _bench.table(
            [
                "seed",
                "epochs: exhaustive",
                "epochs: defaults",
                "compute saved",
                "best val_loss: exhaustive",
                "best val_loss: defaults",
                "best: defaults vs exhaustive",
                "wall: defaults / exhaustive",
            ],
            rows,
        )
    )
    print()
    mean_saved, mean_delta = statistics.mean(saved), statistics.mean(delta)
    saved_verdict = verdict(mean_saved, 0.5, at_most=False, points=True)
    delta_verdict = verdict(max(mean_delta, 0.0), 0.01, at_most=True, points=True)
    print(
        f"- compute saved, mean over {len(saved)} seeds: {mean_saved:.1%} "
        f"[{min(saved):.1%}, {max(saved):.1%}] -> {saved_verdict} (goal >= 50 %)"
    )
    print(
        f"- best val_loss, defaults vs exhaustive, mean: {mean_delta:+.2%} "
        f"[{min(delta):+.2%}, {max(delta):+.2%}] -> "
        f"{delta_verdict} (goal: within 1 %; negative = defaults found a better one)"
    )
    print(f"- wall time, defaults / exhaustive: {Spread.of(wall_ratio).fmt('.2f', 'x')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
