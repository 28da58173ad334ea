"""MLflow server down for 60 s in the middle of a 3-trial sweep vs an undisturbed sweep (issue 17).

Both sweeps log to one MLflow tracking server (``mlflow server`` over SQLite) through a loopback
proxy (sweeper.testing.servers.Proxy). In the disturbed sweep the proxy is cut when trial 1 starts,
so the server is unreachable to the sweep (connections refused and dropped, as when it stops) for
``--outage-s`` seconds, then restored. The trials are the scripted objective of the tests with a
fixed wall time per evaluation (``--eval-s``), so the only difference between the two sweeps is the
outage. Reported side by side: trials failed, metric points in MLflow afterwards (counted through
the server, against what the study says each trial logged), wall time and its ratio (goal: within 5
%), and the lines the user saw.

    python -m scripts.bench_faults              # 60 s outage, trials of about 40 s
    python -m scripts.bench_faults --quick      # CI smoke: 3 s outage, 2 s trials
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scripts import _bench

KEYS = ("lr", "train_loss", "val_loss", "accuracy", "epoch")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("tracking:"):
            self.lines.append(message)


def _sweep(
    work: Path, *, name: str, uri: str, eval_s: float, outage: tuple[Any, float] | None
) -> dict[str, Any]:
    import optuna

    from sweeper.config import compose
    from sweeper.run import run
    from sweeper.testing.fake_objective import fake_overrides

    results = work / name
    args = fake_overrides(
        results,
        f"sweep.study_name={name}",
        f"tracking.uri={uri}",
        "tracking.artifact_location=null",
        f"tracking.experiment={name}",
        "sweep.n_trials=3",
        "search_space=none",
        "train.num_epochs=2",
        "train.patience=null",
        f"+data.sleep_per_eval={eval_s}",
    )
    lines = _Lines()
    logging.getLogger().addHandler(lines)
    done: list[BaseException | None] = []

    def target() -> None:
        try:
            with _bench.silenced():
                run(compose(args))
            done.append(None)
        except BaseException as err:  # reported below
            done.append(err)

    started = time.perf_counter()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    cut_at = None
    if outage is not None:
        proxy, seconds = outage
        storage = f"sqlite:///{results}/optuna.db"
        while thread.is_alive():  # the middle of the sweep: trial 1 has started
            try:
                trials = optuna.load_study(study_name=name, storage=storage).trials
            except Exception:  # not created yet
                trials = []
            if len(trials) >= 2:
                break
            time.sleep(0.2)
        proxy.cut()
        cut_at = time.perf_counter() - started
        time.sleep(seconds)
        proxy.restore()
    thread.join()
    wall = time.perf_counter() - started
    logging.getLogger().removeHandler(lines)
    if done and done[0] is not None:
        raise done[0]
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{results}/optuna.db")
    return {"study": study, "wall": wall, "lines": lines.lines, "cut_at": cut_at}


def _points(uri: str, name: str, study: Any) -> tuple[int, int]:
    """(metric points found in MLflow, points the trials logged by the study's records)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    found = 0
    if experiment is not None:
        for child in client.search_runs([experiment.experiment_id], max_results=1000):
            if child.data.tags.get("sweeper.role") == "trial":
                found += sum(len(client.get_metric_history(child.info.run_id, k)) for k in KEYS)
    expected = 0
    for trial in study.trials:
        steps = int(trial.user_attrs["best"]["steps_trained"])
        evals = len(trial.user_attrs["evals"])
        expected += steps + steps // 5 + 3 * evals  # lr per step, train loss every 5, 3 per eval
    return found, expected


def main(argv: Sequence[str] | None = None) -> int:
    p = _bench.parser(__doc__.split("\n\n")[0], reps=None)
    p.add_argument("--outage-s", type=float, default=60.0, help="seconds down (%(default)s)")
    p.add_argument(
        "--eval-s",
        type=float,
        default=10.0,
        help="seconds per evaluation, 4 per trial (%(default)s)",
    )
    args = _bench.finish_args(p.parse_args(argv))
    if args.quick:
        args.outage_s, args.eval_s = 3.0, 0.5

    from sweeper.testing.servers import Proxy, free_port, serve

    with _bench.workdir(args.workdir) as work:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = [sys.executable, "-m", "mlflow", "server", "--workers", "1"]
        server += ["--backend-store-uri", f"sqlite:///{work}/server.db"]
        server += ["--artifacts-destination", str(work / "server-artifacts")]
        server += ["--host", "127.0.0.1", "--port", str(port)]
        # Without MLflow's job runner (worker processes for its GenAI features), as sweeper.ui.
        env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with serve(server, f"{base}/health", work / "server.out", cwd=work, env=env):
            _bench.header(
                "MLflow server down mid-sweep vs undisturbed (issue 17)",
                [
                    f"server: mlflow server over SQLite at {base}, reached through a proxy",
                    f"sweep: 3 trials x 4 evaluations x {args.eval_s:g} s (scripted objective)",
                    f"outage: {args.outage_s:g} s, from the start of trial 1",
                ],
            )
            results = {}
            # Unmeasured first: imports, the server's first writes and caches.
            for name, outage in (("warm-up", False), ("undisturbed", False), ("outage", True)):
                proxy = Proxy(port)
                uri = f"http://127.0.0.1:{proxy.port}"
                result = _sweep(
                    work,
                    name=name,
                    uri=uri,
                    eval_s=0.05 if name == "warm-up" else args.eval_s,
                    outage=(proxy, args.outage_s) if outage else None,
                )
                proxy.cut()
                result["points"] = _points(base, name, result["study"])
                results[name] = result

    calm, hit = results["undisturbed"], results["outage"]
    rows = []
    for name, r in (("undisturbed", calm), ("MLflow down", hit)):
        states = [t.state.name for t in r["study"].trials]
        found, expected = r["points"]
        rows.append(
            [
                name,
                f"{states.count('FAIL')} of {len(states)}",
                f"{found} / {expected}",
                f"{r['wall']:.1f}",
                f"{r['wall'] / calm['wall']:.3f}",
            ]
        )
    print(
        _bench.table(
            ["sweep", "trials failed", "points in MLflow / logged", "wall s", "vs undisturbed"],
            rows,
        )
    )
    ratio = hit["wall"] / calm["wall"]
    print()
    cut = hit["cut_at"]
    print(f"- outage from {cut:.1f}s to {cut + args.outage_s:.1f}s of the sweep")
    verdict = _bench.verdict(ratio - 1, 0.05, at_most=True, points=True)
    print(f"- wall time ratio {ratio:.3f} (goal: within 5 %): {verdict}")
    for line in hit["lines"]:
        print(f"- the user saw: {line}")
    lost = hit["points"][1] - hit["points"][0]
    failed = sum(t.state.name == "FAIL" for t in hit["study"].trials)
    return 0 if (lost == 0 and failed == 0) or args.quick else 1


if __name__ == "__main__":
    raise SystemExit(main())
