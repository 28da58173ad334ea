"""Figure 2: training throughput against ``transformers.Trainer`` (examples/s ratios).

Same model (fresh from the same checkpoint, same seed), same tokenized examples, batch size,
epochs (so the same optimizer steps), learning-rate schedule and weight decay. Four arms,
interleaved repetition by repetition:

* ``sweeper, defaults``: the project's ``fine_tune`` with the default train settings
  (``precision=auto``: bf16 on a CPU that runs it natively; length-grouped batches; dynamic
  padding).
* ``sweeper, fp32 + random order``: ``fine_tune`` with ``precision=fp32 group_by_length=false``
  (Trainer's defaults).
* ``Trainer, defaults``: ``Trainer.train()`` with its defaults (fp32 on a CPU, random order,
  dynamic padding by its default collator). Only the run's shape is set (batch, epochs, LR,
  warmup, weight decay), plus ``save_strategy=no`` and ``disable_tqdm`` (no checkpoint files, no
  progress bar).
* ``Trainer, matched``: ``bf16`` as sweeper resolves it and
  ``train_sampling_strategy=group_by_length``.

Each arm's time covers its training call only (``fine_tune`` / ``Trainer.train``); the model is
loaded before. ``fine_tune`` also runs one validation pass on 64 examples at the end (it always
evaluates; Trainer here never does), which counts against sweeper.

    python -m scripts.bench_trainer              # full size
    python -m scripts.bench_trainer --quick      # CI smoke
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from scripts import _bench
from scripts._bench import Spread, column, ratios, verdict


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=5)
    p.add_argument("--train-samples", type=int, default=2048, help="train examples (%(default)s)")
    p.add_argument("--epochs", type=int, default=1, help="(%(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="(%(default)s)")
    args = _bench.finish_args(p.parse_args(argv))
    if _bench.missing_bench_extra():
        return 0
    if args.quick:
        args.train_samples, args.batch_size = 64, 16

    import torch
    from transformers import Trainer, TrainingArguments, set_seed

    from objectives.glue.model import load_model
    from objectives.glue.train import fine_tune, resolve_precision
    from sweeper.schedule import plan_steps
    from sweeper.train_once import new_reporter, resolve_device

    with _bench.workdir(args.workdir) as work:
        model_name = _bench.model_for(args, work)
        data = _bench.data_for(args.glue_dir, train=args.train_samples, evals=64, quick=args.quick)
        prepared = _bench.prepare(
            [
                f"results_dir={work}",
                *data.overrides,
                f"model.name_or_path={model_name}",
                f"train.batch_size={args.batch_size}",
                "tracking=none",
            ]
        )
        # One evaluation, at the end; nothing may stop the run early.
        settings = prepared.settings.replace(
            {
                "num_epochs": args.epochs,
                "evals_per_epoch": 1,
                "patience": None,
                "divergence_factor": None,
            }
        )
        device = resolve_device(str(prepared.cfg["device"]))
        bf16 = resolve_precision("auto", torch.device(device)) == "bf16"
        small_eval = {"validation": _bench.head(prepared.validation, 64)}
        n_examples = len(prepared.train) * args.epochs
        plan = plan_steps(
            num_examples=len(prepared.train),
            batch_size=settings.batch_size,
            num_epochs=args.epochs,
            warmup_ratio=settings.warmup_ratio,
        )

        _bench.header(
            "Training throughput vs transformers.Trainer (figure 2)",
            [
                f"data: {data.label}",
                f"model: {model_name}",
                f"run: {args.epochs} epoch(s) x {plan.steps_per_epoch} steps of "
                f"{settings.batch_size} ({n_examples} examples), lr {settings.lr} "
                f"{settings.scheduler}, device {device}, bf16 native: {'yes' if bf16 else 'no'}",
                f"repetitions: {args.reps} (+{args.warmup} warm-up), arms interleaved",
            ],
        )

        def fresh_model() -> Any:
            set_seed(settings.seed)
            return load_model(prepared.cfg["model"], num_labels=prepared.task.num_labels)

        def sweeper_arm(overrides: dict[str, Any]) -> Any:
            run_settings = settings.replace(overrides)

            def arm(_rep: int) -> _bench.Measure:
                model = fresh_model()
                reporter = new_reporter(
                    run_settings, monitor="val_loss", direction="minimize", chance=None
                )
                started = time.perf_counter()
                fine_tune(
                    model,
                    tokenizer=prepared.tokenizer,
                    train_data=prepared.train,
                    eval_data=small_eval,
                    task=prepared.task,
                    settings=run_settings,
                    reporter=reporter,
                    device=torch.device(device),
                )
                seconds = time.perf_counter() - started
                if reporter.outcome.steps_trained != plan.num_training_steps:
                    raise RuntimeError(f"fine_tune stopped at {reporter.outcome.steps_trained}")
                return {"s": seconds, "ex_s": n_examples / seconds}

            return arm

        def trainer_arm(matched: bool) -> Any:
            extra: dict[str, Any] = (
                {"bf16": bf16, "train_sampling_strategy": "group_by_length"} if matched else {}
            )

            def arm(_rep: int) -> _bench.Measure:
                training_args = TrainingArguments(
                    output_dir=str(work / "trainer"),
                    per_device_train_batch_size=settings.batch_size,
                    num_train_epochs=args.epochs,
                    learning_rate=settings.lr,
                    lr_scheduler_type=settings.scheduler,
                    # A float below 1 is a ratio of the training steps (transformers >= 5).
                    warmup_steps=float(settings.warmup_ratio),
                    weight_decay=settings.weight_decay,
                    seed=settings.seed,
                    use_cpu=device == "cpu",
                    save_strategy="no",
                    report_to="none",
                    disable_tqdm=True,
                    **extra,
                )
                trainer = Trainer(
                    model=fresh_model(),
                    args=training_args,
                    train_dataset=prepared.train.dataset,
                    processing_class=prepared.tokenizer,
                )
                with _bench.silenced():  # Trainer prints its metrics dict at the end
                    started = time.perf_counter()
                    trainer.train()
                    seconds = time.perf_counter() - started
                if trainer.state.global_step != plan.num_training_steps:
                    raise RuntimeError(f"Trainer took {trainer.state.global_step} steps")
                return {"s": seconds, "ex_s": n_examples / seconds}

            return arm

        results = _bench.interleaved(
            {
                "sweeper defaults": sweeper_arm({}),
                "sweeper fp32 random": sweeper_arm({"precision": "fp32", "group_by_length": False}),
                "Trainer defaults": trainer_arm(matched=False),
                "Trainer matched": trainer_arm(matched=True),
            },
            reps=args.reps,
            warmup=args.warmup,
        )

    ex = {name: column(rows, "ex_s") for name, rows in results.items()}
    precision = "bf16" if bf16 else "fp32"
    comparisons = [
        (
            "defaults: sweeper (auto precision, length-grouped) vs Trainer (fp32, random order)",
            "sweeper defaults",
            "Trainer defaults",
            1.5,
        ),
        (
            f"matched {precision} + length grouping",
            "sweeper defaults",
            "Trainer matched",
            1.0,
        ),
        (
            "matched fp32 + random order (Trainer's defaults)",
            "sweeper fp32 random",
            "Trainer defaults",
            1.0,
        ),
    ]
    rows = []
    for label, ours, theirs, goal in comparisons:
        ratio = ratios(ex[ours], ex[theirs])
        rows.append(
            [
                label,
                Spread.of(ex[ours]).fmt(".1f"),
                Spread.of(ex[theirs]).fmt(".1f"),
                ratio.fmt(".2f", "x"),
                f">= {goal:.1f}x",
                verdict(ratio.median, goal, at_most=False),
            ]
        )
    print(
        _bench.table(
            ["comparison", "sweeper ex/s", "Trainer ex/s", "ratio", "goal", "verdict"], rows
        )
    )
    print()
    print(
        "- ex/s = training examples / wall seconds of the training call; ratio = sweeper / "
        "Trainer per repetition, median [min, max]"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
