"""Per-trial storage overhead: the Optuna storages sqlite, journal and postgres on the same trials.

Each arm runs the same sweep in-process (``sweeper.run.run``: the real trial loop with its
sampler, pruner, heartbeats, slot claims and stop checks) with the scripted objective of the
tests (no model, tracking off), so the trials are identical (per-trial seeded sampler) and only
the storage differs. Measured from the first trial to the end of the trial loop:

* ``storage ms/trial``: time spent inside Optuna storage calls on the sweep's thread (outermost
  calls only), divided by the trials. The heartbeat thread's writes run beside the trial, not
  on its path, and are not counted;
* ``calls/trial``: those storage calls per trial;
* ``loop ms/trial``: the whole trial loop per trial (with a real model, training dominates).

Every repetition starts a new study (a new file for sqlite and journal); the study grows to
``--trials`` trials within it, and samplers and pruners read the whole history each trial, so
the figures are means over a study of that size. PostgreSQL runs only when a URL is given.

    python -m scripts.bench_storage                               # sqlite vs journal
    python -m scripts.bench_storage --postgres-url "$SWEEPER_STORAGE_URL"
    python -m scripts.bench_storage --quick                       # CI smoke
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from scripts import _bench
from scripts._bench import Spread, column, ratios


def storage_time() -> AbstractContextManager[_bench.Timer]:
    """Seconds and calls inside Optuna storage methods on the main thread (the heartbeat
    thread's writes left out)."""
    from optuna.storages import BaseStorage, JournalStorage, RDBStorage
    from optuna.storages._cached_storage import _CachedStorage

    names = [n for n, v in vars(BaseStorage).items() if callable(v) and not n.startswith("__")]
    names += ["record_heartbeat", "_get_stale_trial_ids"]
    targets = [
        (cls, name)
        for cls in (_CachedStorage, RDBStorage, JournalStorage)
        for name in names
        if name in cls.__dict__
    ]
    return _bench.time_spent_in(targets, main_thread_only=True)


@contextmanager
def trial_loop_gate(timer: _bench.Timer) -> Iterator[dict[str, float]]:
    """Count with ``timer`` from the first trial until the summary starts, so opening the
    storage, creating tables and the summary's reads are not counted."""
    import optuna

    import sweeper.sweep_summary

    optimize, finish = optuna.Study.optimize, sweeper.sweep_summary.finish
    span = {"start": 0.0, "end": 0.0}
    timer.active = False

    def gated_optimize(self: optuna.Study, *a: Any, **k: Any) -> None:
        if not timer.active:
            timer.active = True
            span["start"] = time.perf_counter()
        optimize(self, *a, **k)

    def gated_finish(**k: Any) -> float | None:
        timer.active = False
        span["end"] = time.perf_counter()
        return finish(**k)

    optuna.Study.optimize = gated_optimize  # type: ignore[method-assign]
    sweeper.sweep_summary.finish = gated_finish
    try:
        yield span
    finally:
        optuna.Study.optimize = optimize  # type: ignore[method-assign]
        sweeper.sweep_summary.finish = finish


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=3)
    p.add_argument("--trials", type=int, default=30, help="trials per study (quick: 6)")
    p.add_argument(
        "--postgres-url",
        default=None,
        help="postgresql+psycopg://USER:PASSWORD@HOST/DB to add PostgreSQL (a database the "
        "benchmark may create studies in)",
    )
    args = _bench.finish_args(p.parse_args(argv))
    if args.quick:
        args.trials = 6

    from sweeper.config import compose
    from sweeper.run import run
    from sweeper.secrets import redact, register_url

    register_url(args.postgres_url)
    with _bench.workdir(args.workdir) as work:
        base = [
            "objective=sweeper.testing.fake_objective.QuadraticObjective",
            "data=builtin",
            "data.builtin.num_train=320",
            "train.batch_size=32",  # 2 evaluations per epoch, 1-3 epochs per trial
            "train.log_every_steps=5",
            "tracking=none",
            "quiet=true",
            f"sweep.n_trials={args.trials}",
        ]

        def storage_args(kind: str, rep: int) -> list[str]:
            folder = Path(work) / f"{kind}-{rep}"
            if kind == "sqlite":
                return ["storage=sqlite", f"storage.url=sqlite:///{folder}/optuna.db"]
            if kind == "journal":
                return ["storage=journal", f"storage.path={folder}/optuna.journal"]
            return ["storage=postgres", f"storage.url={args.postgres_url}"]

        def arm(kind: str) -> Callable[[int], _bench.Measure]:
            def measure(rep: int) -> _bench.Measure:
                overrides = [
                    f"results_dir={work}/{kind}-{rep}",
                    *base,
                    *storage_args(kind, rep),
                    f"sweep.study_name={_bench.unique(f'bench-storage-{rep}')}",
                ]
                with storage_time() as timer, trial_loop_gate(timer) as span, _bench.silenced():
                    run(compose(overrides))
                return {
                    "storage_ms": 1000 * timer.seconds / args.trials,
                    "calls": timer.calls / args.trials,
                    "loop_ms": 1000 * (span["end"] - span["start"]) / args.trials,
                }

            return measure

        kinds = ["sqlite", "journal"] + (["postgres"] if args.postgres_url else [])
        _bench.header(
            "Per-trial storage overhead (sqlite vs journal vs postgres)",
            [
                f"storages: {', '.join(kinds)}"
                + (f" (postgres: {redact(args.postgres_url)})" if args.postgres_url else ""),
                f"study: {args.trials} trials of the scripted objective (no model), tracking "
                "off, default sampler (TPE), pruner (median) and heartbeats (30 s)",
                f"repetitions: {args.reps} (+{args.warmup} warm-up), arms interleaved",
            ],
        )
        results = _bench.interleaved(
            {kind: arm(kind) for kind in kinds}, reps=args.reps, warmup=args.warmup
        )

    baseline = column(results["sqlite"], "storage_ms")
    rows = []
    for kind in kinds:
        storage_ms = column(results[kind], "storage_ms")
        loop_ms = column(results[kind], "loop_ms")
        rows.append(
            [
                kind,
                Spread.of(storage_ms).fmt(".1f"),
                ratios(storage_ms, baseline).fmt(".2f", "x"),
                f"{Spread.of(column(results[kind], 'calls')).median:.0f}",
                Spread.of(loop_ms).fmt(".0f"),
                Spread.of([s / w for s, w in zip(storage_ms, loop_ms, strict=True)]).fmt(".0%"),
            ]
        )
    print(
        _bench.table(
            [
                "storage",
                "storage ms/trial",
                "vs sqlite",
                "calls/trial",
                "loop ms/trial",
                "storage share of loop",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
