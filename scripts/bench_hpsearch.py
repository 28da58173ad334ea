"""Figure 4: against ``Trainer.hyperparameter_search`` (optuna backend); goal: a better best loss.

For each seed, both searches get the same data (the same seeded subsets, tokenized once), the
same model checkpoint and init seed, batch size, evaluation points (twice per epoch, on the same
validation examples), precision (bf16 where native), length-grouped batches, weight decay, and
the same search space, read from the sweeper config: lr (log-uniform), warmup ratio, epochs
and scheduler type. They get the same number of trials, the same sampler settings (TPE with the
config's arguments and the seed) and the same pruner (the config's median pruner).

What still differs is what each tool does with a trial, and that is what is compared:

* sweeper (``sweeper.run.run``, defaults: SQLite storage, MLflow tracking) scores a trial by its
  best evaluation and stops it early after 2 evaluations without improvement;
* Trainer scores a trial by its last evaluation and trains every trial that is not pruned to its
  full epoch count (early stopping there needs checkpoints and ``load_best_model_at_end``).

Reported: trials finished, compute (epochs trained), wall time, the best validation loss each
tool reports and its task metric, the lowest loss any evaluation saw, and the lowest loss
Trainer saw within the compute sweeper used (equal compute).

    python -m scripts.bench_hpsearch             # full size (GLUE_DIR for real SST-2)
    python -m scripts.bench_hpsearch --quick     # CI smoke: tiny model, built-in data
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts import _bench
from scripts._bench import Spread, verdict


def _within(curve: list[tuple[float, float]], budget: float) -> float:
    """Lowest loss among (cumulative epochs, val_loss) points reached within ``budget``."""
    inside = [loss for spent, loss in curve if spent <= budget + 1e-9]
    return min(inside) if inside else math.nan


def sweeper_figures(storage: str, name: str, metric: str) -> dict[str, Any]:
    import optuna

    study = optuna.load_study(study_name=name, storage=storage)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    spent, curve = 0.0, []
    for t in trials:
        for e in t.user_attrs.get("evals", []):
            curve.append((spent + float(e["epoch"]), float(e["val_loss"])))
        spent += float((t.user_attrs.get("best") or {}).get("epochs_trained") or 0.0)
    best = study.best_trial
    states = [t.state.name for t in trials]
    return {
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "epochs": spent,
        "reported": float(study.best_value),
        "metric": float(best.user_attrs["best"].get(f"best_{metric}") or math.nan),
        "lowest": min((loss for _, loss in curve), default=math.nan),
        "curve": curve,
    }


def run_sweeper(base: list[str], *, seed: int, storage: str, metric: str) -> dict[str, Any]:
    """sweeper's search: ``sweeper.run.run`` with the config as shipped."""
    from sweeper.config import compose
    from sweeper.run import run

    name = _bench.unique(f"hp-sweeper-{seed}")
    config = compose([*base, f"seed={seed}", f"sweep.study_name={name}"])
    started = time.perf_counter()
    with _bench.silenced():
        run(config)
    wall = time.perf_counter() - started
    return {**sweeper_figures(storage, name, metric), "wall": wall}


def run_trainer(
    prepared: _bench.Prepared, *, seed: int, trials: int, bf16: bool, spe: int, out: Path
) -> dict[str, Any]:
    """Trainer's search, set up as described in the module docstring."""
    import optuna
    from hydra.utils import instantiate
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from objectives.glue.metrics import compute_metrics
    from objectives.glue.model import load_model
    from sweeper.study import build_pruner
    from sweeper.train_once import resolve_device

    cfg, settings, task = prepared.cfg, prepared.settings, prepared.task
    metric, space = prepared.info.metric, cfg["search_space"]

    class Recorder(TrainerCallback):
        """Every evaluation and the steps trained, per ``train()`` call (one per trial)."""

        def __init__(self) -> None:
            self.trials: list[dict[str, Any]] = []

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.trials.append({"evals": [], "steps": 0})

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.trials[-1]["steps"] = state.global_step

        def on_evaluate(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            metrics = kw.get("metrics") or {}
            self.trials[-1]["evals"].append(
                {
                    "step": state.global_step,
                    "val_loss": float(metrics["eval_loss"]),
                    "metric": float(metrics.get(f"eval_{metric}", math.nan)),
                }
            )

    def hp_space(trial: optuna.Trial) -> dict[str, Any]:
        lr, warm = space["lr"], space["warmup_ratio"]
        epochs, sched = space["num_epochs"], space["scheduler"]
        return {
            "learning_rate": trial.suggest_float(
                "learning_rate", lr["low"], lr["high"], log=bool(lr.get("log"))
            ),
            # transformers 5: a float below 1 is a ratio of the training steps.
            "warmup_steps": trial.suggest_float("warmup_ratio", warm["low"], warm["high"]),
            "num_train_epochs": trial.suggest_int(
                "num_train_epochs", epochs["low"], epochs["high"]
            ),
            "lr_scheduler_type": trial.suggest_categorical(
                "lr_scheduler_type", list(sched["choices"])
            ),
        }

    def metrics_fn(pred: Any) -> dict[str, float]:
        predictions = pred.predictions
        if isinstance(predictions, tuple):
            predictions = predictions[0]
        return compute_metrics(task, predictions.argmax(-1).tolist(), pred.label_ids.tolist())

    recorder = Recorder()
    training_args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.eval_batch_size,
        eval_strategy="steps",
        eval_steps=max(1, round(spe / settings.evals_per_epoch)),
        learning_rate=settings.lr,
        # A float start value: hyperparameter_search casts each sampled value to the type of
        # the argument's current value, and the default warmup_steps is the int 0, which would
        # truncate every sampled ratio to 0 steps.
        warmup_steps=float(settings.warmup_ratio),
        num_train_epochs=float(settings.num_epochs),
        weight_decay=settings.weight_decay,
        max_grad_norm=settings.max_grad_norm or 0.0,
        seed=seed,
        bf16=bf16,
        train_sampling_strategy="group_by_length",
        use_cpu=resolve_device(str(cfg["device"])) == "cpu",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model_init=lambda: load_model(cfg["model"], num_labels=task.num_labels),
        args=training_args,
        train_dataset=prepared.train.dataset,
        eval_dataset=prepared.validation.dataset,
        processing_class=prepared.tokenizer,
        compute_metrics=metrics_fn,
        callbacks=[recorder],
    )
    sampler_cfg = {k: v for k, v in cfg["sampler"].items() if k != "seed"}
    study_storage = optuna.storages.InMemoryStorage()
    started = time.perf_counter()
    with _bench.silenced():  # Trainer prints every evaluation's metrics
        best = trainer.hyperparameter_search(
            hp_space=hp_space,
            compute_objective=lambda m: m["eval_loss"],
            n_trials=trials,
            direction="minimize",
            backend="optuna",
            sampler=instantiate(sampler_cfg, seed=seed),
            pruner=build_pruner(cfg["pruner"]),
            storage=study_storage,
            study_name="trainer",
        )
    wall = time.perf_counter() - started
    assert not isinstance(best, list)  # one objective: one best run
    study = optuna.load_study(study_name="trainer", storage=study_storage)
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    if len(recorder.trials) != len(states):
        raise RuntimeError(f"{len(recorder.trials)} trainings recorded for {len(states)} trials")
    spent, curve = 0.0, []
    for record in recorder.trials:
        for e in record["evals"]:
            curve.append((spent + e["step"] / spe, e["val_loss"]))
        spent += record["steps"] / spe
    best_evals = recorder.trials[int(best.run_id)]["evals"]
    return {
        "complete": states.count("COMPLETE"),
        "pruned": states.count("PRUNED"),
        "epochs": spent,
        "reported": float(best.objective),
        "metric": best_evals[-1]["metric"] if best_evals else math.nan,
        "lowest": min((loss for _, loss in curve), default=math.nan),
        "curve": curve,
        "wall": wall,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="%(default)s")
    p.add_argument("--trials", type=int, default=6, help="per search (%(default)s)")
    p.add_argument("--train-samples", type=int, default=1536, help="(%(default)s)")
    p.add_argument("--eval-samples", type=int, default=512, help="(%(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="(%(default)s)")
    args = _bench.finish_args(p.parse_args(argv))
    if _bench.missing_bench_extra():
        return 0
    if args.quick:
        args.seeds, args.trials = args.seeds[:1], 3
        args.train_samples, args.eval_samples, args.batch_size = 96, 32, 16

    import torch

    from objectives.glue.train import resolve_precision
    from sweeper.schedule import plan_steps
    from sweeper.train_once import resolve_device

    results: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    metric = "metric"
    with _bench.workdir(args.workdir) as work:
        model_name = _bench.model_for(args, work)
        data = _bench.data_for(
            args.glue_dir, train=args.train_samples, evals=args.eval_samples, quick=args.quick
        )
        base = [
            f"results_dir={work}",
            *data.overrides,
            f"model.name_or_path={model_name}",
            f"train.batch_size={args.batch_size}",
            "train.evals_per_epoch=2",
            f"sweep.n_trials={args.trials}",
            "quiet=true",
            # Quick: no MLflow store to create (bench_loop's smoke run covers tracking).
            *(["tracking=none"] if args.quick else []),
        ]
        storage = f"sqlite:///{work}/optuna.db"
        for i, seed in enumerate(args.seeds):
            # The seed picks the data subsets too: prepared per seed, as the sweep does.
            prepared = _bench.prepare([*base, f"seed={seed}", "tracking=none"])
            cfg, settings, metric = prepared.cfg, prepared.settings, prepared.info.metric
            device = resolve_device(str(cfg["device"]))
            bf16 = resolve_precision(settings.precision, torch.device(device)) == "bf16"
            spe = plan_steps(
                num_examples=len(prepared.train), batch_size=settings.batch_size, num_epochs=1
            ).steps_per_epoch
            if i == 0:
                uneven = spe % settings.evals_per_epoch != 0
                _bench.header(
                    "Against Trainer.hyperparameter_search (figure 4)",
                    [
                        f"data: {data.label}",
                        f"model: {model_name}",
                        f"search: {args.trials} trials per tool, space "
                        f"{sorted(cfg['search_space'])}, sampler {cfg['sampler']['_target_']}, "
                        f"pruner {cfg['pruner']['_target_']}",
                        f"{spe} steps per epoch of {settings.batch_size}, "
                        f"{settings.evals_per_epoch} evaluations per epoch"
                        + (" (uneven: evaluation points differ slightly)" if uneven else "")
                        + f"; bf16: {'yes' if bf16 else 'no'}; seeds {args.seeds}",
                    ],
                )
            figures: dict[str, dict[str, Any]] = {}
            # Alternate which search runs first, so drift in the machine's load evens out.
            for label in ("sweeper", "Trainer") if i % 2 == 0 else ("Trainer", "sweeper"):
                if label == "sweeper":
                    figures[label] = run_sweeper(base, seed=seed, storage=storage, metric=metric)
                else:
                    figures[label] = run_trainer(
                        prepared,
                        seed=seed,
                        trials=args.trials,
                        bf16=bf16,
                        spe=spe,
                        out=work / f"hp-trainer-{seed}",
                    )
                print(f"  .. seed {seed} {label}: {figures[label]['wall']:.1f}s", file=sys.stderr)
            results.append((seed, figures["sweeper"], figures["Trainer"]))

    summary: dict[str, list[float]] = {"reported": [], "within": [], "epochs": [], "wall": []}
    for seed, ours, theirs in results:
        within = _within(theirs["curve"], ours["epochs"])
        summary["reported"].append(theirs["reported"] / ours["reported"])
        summary["within"].append(within / ours["reported"])
        summary["epochs"].append(theirs["epochs"] / ours["epochs"])
        summary["wall"].append(theirs["wall"] / ours["wall"])

        def finished(f: dict[str, Any]) -> str:
            return f"{f['complete'] + f['pruned']} ({f['complete']} + {f['pruned']})"

        print(f"### seed {seed}\n")
        print(
            _bench.table(
                ["", "sweeper", "Trainer.hyperparameter_search", "Trainer / sweeper"],
                [
                    ["trials finished (complete + pruned)", finished(ours), finished(theirs), "-"],
                    [
                        "compute: epochs trained",
                        f"{ours['epochs']:.2f}",
                        f"{theirs['epochs']:.2f}",
                        f"{summary['epochs'][-1]:.2f}x",
                    ],
                    [
                        "wall s",
                        f"{ours['wall']:.1f}",
                        f"{theirs['wall']:.1f}",
                        f"{summary['wall'][-1]:.2f}x",
                    ],
                    [
                        "best val_loss reported (sweeper: best eval; Trainer: last eval)",
                        f"{ours['reported']:.4f}",
                        f"{theirs['reported']:.4f}",
                        f"{summary['reported'][-1]:.3f}x",
                    ],
                    [
                        f"{metric} at that evaluation",
                        f"{ours['metric']:.4f}",
                        f"{theirs['metric']:.4f}",
                        "-",
                    ],
                    [
                        "lowest val_loss at any evaluation",
                        f"{ours['lowest']:.4f}",
                        f"{theirs['lowest']:.4f}",
                        f"{theirs['lowest'] / ours['lowest']:.3f}x",
                    ],
                    [
                        f"lowest val_loss within sweeper's compute ({ours['epochs']:.2f} epochs)",
                        f"{ours['reported']:.4f}",
                        f"{within:.4f}",
                        f"{summary['within'][-1]:.3f}x",
                    ],
                ],
            )
        )
        print()
    reported, within_all = Spread.of(summary["reported"]), Spread.of(summary["within"])
    print(
        f"- best val_loss, Trainer / sweeper at equal trials: {reported.fmt('.3f', 'x')} -> "
        f"{verdict(reported.median, 1.0, at_most=False)} (goal: > 1, sweeper's loss lower)"
    )
    print(
        f"- at equal compute (Trainer's lowest within sweeper's epochs): "
        f"{within_all.fmt('.3f', 'x')} -> {verdict(within_all.median, 1.0, at_most=False)}"
    )
    print(
        f"- compute, Trainer / sweeper: {Spread.of(summary['epochs']).fmt('.2f', 'x')}; wall: "
        f"{Spread.of(summary['wall']).fmt('.2f', 'x')}; loss ratio mean over seeds: "
        f"{statistics.mean(summary['reported']):.3f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
