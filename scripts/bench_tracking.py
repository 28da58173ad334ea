"""Figure 6: MLflow writes per trial, batched (sweeper) vs one call per point, SQLite store.

Both writers record the same trial into the same SQLite MLflow store: a child run under a study
parent with the trial's params, every curve point (learning rate per update, train loss per
logging interval, val_loss, accuracy and epoch per evaluation), the summary metrics and tags,
then the run's end. The trial is the shape of a default sweep trial (8,000 examples, batch 64,
3 epochs, 2 evaluations per epoch, train loss every 10 updates), driven through the project's
``TrialReporter`` by the scripted objective of the tests (no model: only tracking is timed).

* ``sweeper (batched)``: ``MlflowTracker.start_trial`` + ``TrialReporter`` + ``MlflowRun``, which
  buffers points and writes them with ``log_batch`` at each evaluation and at the end;
* ``one call per point``: ``MlflowClient.log_param``/``log_metric``/``set_tag`` per item, the
  way a naive integration (or ``mlflow.log_metric`` in a loop) writes.

Tracking on vs ``tracking=none`` in real trials (issue 5: goal < 1 % of trial time) is measured
by ``python -m scripts.bench_loop``, which runs the same real trials both ways.

    python -m scripts.bench_tracking             # default trial shape, 5 repetitions
    python -m scripts.bench_tracking --quick     # CI smoke
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from scripts import _bench
from scripts._bench import Spread, column, ratios


class Recording:
    """A curve sink that keeps what the reporter sends (the points both writers must write)."""

    def __init__(self) -> None:
        self.points: list[tuple[str, float, int]] = []
        self.params: dict[str, Any] = {}

    def add(self, key: str, value: float, step: int) -> None:
        self.points.append((key, float(value), int(step)))

    def flush(self) -> None:
        pass

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=5)
    p.add_argument("--train-samples", type=int, default=8000, help="trial shape (%(default)s)")
    p.add_argument("--batch-size", type=int, default=64, help="(%(default)s)")
    p.add_argument("--epochs", type=int, default=3, help="(%(default)s)")
    args = _bench.finish_args(p.parse_args(argv))
    if args.quick:
        args.train_samples, args.batch_size, args.epochs = 320, 32, 1

    from mlflow import MlflowClient

    from sweeper.checks import check
    from sweeper.config import compose
    from sweeper.testing.fake_objective import QuadraticObjective
    from sweeper.tracking.mlflow import MlflowTracker
    from sweeper.train_once import new_reporter, train_once

    with _bench.workdir(args.workdir) as work:
        uri = f"sqlite:///{work}/mlflow.db"
        checked = check(
            compose(
                [
                    f"results_dir={work}",
                    "objective=sweeper.testing.fake_objective.QuadraticObjective",
                    "data=builtin",
                    f"data.builtin.num_train={args.train_samples}",
                    f"train.batch_size={args.batch_size}",
                    f"train.num_epochs={args.epochs}",
                    "train.evals_per_epoch=2",
                    "train.log_every_steps=10",
                    "train.patience=null",  # the full trial: every point is written
                ]
            )
        )
        settings = checked.train
        objective = QuadraticObjective(
            data=checked.cfg["data"], model=checked.cfg["model"], seed=settings.seed
        )
        info = objective.prepare()

        def trial(curves: Any) -> Any:
            reporter = new_reporter(
                settings, monitor="val_loss", direction="minimize", chance=None, curves=curves
            )
            return train_once(objective, settings, reporter, device="cpu")

        # What a trial writes, recorded once: both writers write exactly this.
        recording = Recording()
        trial_params = {**settings.as_params(), "data.source": info.source}
        recording.log_params(trial_params)
        done = trial(recording)
        summary = {
            k: float(v)
            for k, v in done.outcome.summary(info.metric).items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        tags = {"sweeper.reason": done.outcome.reason, "sweeper.stop": done.outcome.stop}
        n_points = len(recording.points) + len(summary)

        # The store, the experiment and the study's parent run exist before any trial.
        tracker = MlflowTracker(
            uri=uri,
            experiment="bench-tracking",
            artifact_location=str(work / "mlartifacts"),
            study_name="bench",
            storage_id="bench",
        )
        tracker.attach(tags={}, params={})
        client = MlflowClient(tracking_uri=uri)
        parent = tracker.parent_run_id

        _bench.header(
            "MLflow writes per trial (figure 6)",
            [
                f"store: {uri} (MLflow's SQLite store)",
                f"trial: {args.train_samples} examples, batch {args.batch_size}, "
                f"{args.epochs} epoch(s): {len(recording.params)} params, {n_points} metric "
                f"points, {len(tags) + 1} tags",
                f"repetitions: {args.reps} (+{args.warmup} warm-up), writers interleaved",
            ],
        )
        counter = iter(range(10**6))

        def batched(_rep: int) -> _bench.Measure:
            started = time.perf_counter()
            run = tracker.start_trial(next(counter), params=trial_params, tags={})
            outcome = trial(run).outcome
            run.finish("COMPLETE", summary=outcome.summary(info.metric), tags=tags)
            return {"s": time.perf_counter() - started, "calls": run.calls + 1}  # + create_run

        def per_point(_rep: int) -> _bench.Measure:
            started = time.perf_counter()
            run_id = client.create_run(
                tracker.experiment_id,
                run_name=f"trial-{next(counter):04d}",
                tags={"mlflow.parentRunId": str(parent)},
            ).info.run_id
            calls = 1
            for key, value in recording.params.items():  # the trial's and its step plan's
                client.log_param(run_id, key, str(value))
                calls += 1
            for key, value, step in recording.points:
                client.log_metric(run_id, key, value, step=step)
                calls += 1
            for key, value in summary.items():
                client.log_metric(run_id, key, value, step=0)
                calls += 1
            for key, value in {**tags, "optuna.state": "COMPLETE"}.items():
                client.set_tag(run_id, key, value)
                calls += 1
            client.set_terminated(run_id, "FINISHED")
            return {"s": time.perf_counter() - started, "calls": calls + 1}

        results = _bench.interleaved(
            {"batched": batched, "per point": per_point}, reps=args.reps, warmup=args.warmup
        )

    ours, theirs = column(results["batched"], "s"), column(results["per point"], "s")
    print(
        _bench.table(
            ["writer", "MLflow calls per trial", "wall s per trial", "vs batched"],
            [
                [
                    "sweeper (batched log_batch)",
                    f"{results['batched'][0]['calls']:.0f}",
                    Spread.of(ours).fmt(".3f"),
                    "1.00x",
                ],
                [
                    "one call per point",
                    f"{results['per point'][0]['calls']:.0f}",
                    Spread.of(theirs).fmt(".3f"),
                    ratios(theirs, ours).fmt(".1f", "x"),
                ],
            ],
        )
    )
    print()
    print(
        "- tracking on vs tracking=none in real trials (goal < 1 % of trial time): see "
        "`python -m scripts.bench_loop`"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
