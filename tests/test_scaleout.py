"""Scale-out: several workers on one study (PostgreSQL, journal file), one MLflow parent, and
surviving SIGKILL / SIGINT / SIGTERM. Workers are real ``python -m sweeper`` processes; the
worker that resumes after a kill runs in-process (same code path, no second start-up cost).

PostgreSQL tests need ``SWEEPER_TEST_PG_ADMIN`` (``.ci/run`` starts a server and sets it); each
creates its own database and user and drops them afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from sweeper.commands.sweep import main
from sweeper.config import compose
from sweeper.run import run
from sweeper.study import (
    HEARTBEAT_ATTR,
    claims_a_slot,
    fail_stale_trials,
    open_storage,
    release_trial,
)
from sweeper.tracking.mlflow import MlflowTracker
from sweeper.trial_record import records
from tests import fake_objective
from tests.postgres import Database, exists, temp_database
from tests.servers import free_port, mlflow_server

ROOT = Path(__file__).resolve().parent.parent
STUDY = "scale"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# Trial 0 runs 3 epochs (6 evaluations), so a worker can be stopped in the middle of it.
LONG_FIRST = "sweep.enqueue=[{lr: 1.0e-4, num_epochs: 3}]"


# Heartbeats: every second; a trial without one for 3 s is stale (the kill tests), or for 30 s
# (elsewhere, so that a busy test machine never makes a live worker look dead).
FAST_STALE = ["storage.heartbeat_interval=1", "storage.grace_period=3"]
SLOW_STALE = ["storage.heartbeat_interval=1", "storage.grace_period=30"]


def overrides(root: Path, *extra: str) -> list[str]:
    """A scripted sweep (no model, a few seconds of CPU) on ``root``."""
    from tests.fake_objective import fake_overrides

    return fake_overrides(root, f"sweep.study_name={STUDY}", *extra)


@dataclass
class Backend:
    """Where the study lives: the overrides and environment that select it, and a reader."""

    kind: str
    root: Path
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    storage: Any = None  # opened on first use, closed when the backend goes

    def study(self) -> optuna.Study:
        if self.storage is None:
            if self.kind == "journal":
                path = str(self.root / "optuna.journal")
                self.storage = JournalStorage(JournalFileBackend(path))
            else:
                url = self.url if self.kind == "postgres" else f"sqlite:///{self.root}/optuna.db"
                self.storage = optuna.storages.RDBStorage(str(url))
        return optuna.load_study(study_name=STUDY, storage=self.storage)

    def close(self) -> None:
        if isinstance(self.storage, optuna.storages.RDBStorage):
            self.storage.engine.dispose()


@contextmanager
def backend(kind: str, root: Path) -> Iterator[Backend]:
    if kind == "postgres":
        with temp_database() as db:
            where = Backend(
                kind, root, ["storage=postgres"], env={"SWEEPER_STORAGE_URL": db.url}, url=db.url
            )
            try:
                yield where
            finally:
                where.close()
    else:
        where = Backend(kind, root, [f"storage={kind}"])
        try:
            yield where
        finally:
            where.close()


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Workers:
    """Starts ``python -m sweeper`` processes; any still running at the end are killed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[Worker] = []

    def start(self, args: list[str], env: dict[str, str]) -> Worker:
        log = self.root / f"worker-{len(self.started)}.out"
        pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        with log.open("wb") as handle:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sweeper", *args],
                cwd=self.root,
                env={
                    **os.environ,
                    "PYTHONPATH": pythonpath,
                    "HF_HUB_OFFLINE": "1",
                    "MLFLOW_LOGGING_LEVEL": "WARNING",
                    **env,
                },
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(proc, log)
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait(timeout=30)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


def wait_for(condition: Callable[[], bool], *, what: str, worker: Worker, timeout: float) -> None:
    """Poll ``condition``; fail with the worker's output if it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.proc.poll() is not None:
            pytest.fail(
                f"worker exited ({worker.proc.returncode}) before {what}:\n{worker.output()}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {timeout}s:\n{worker.output()}")
        time.sleep(0.2)


def mid_trial(backend_: Backend, number: int) -> bool:
    """Whether trial ``number`` is RUNNING with two evaluations reported (so the curves of the
    first are in MLflow: a trial reports to Optuna just before it writes its curves)."""
    try:
        trials = backend_.study().get_trials(deepcopy=False)
    except Exception:  # no study (or no tables) yet: the worker is still starting
        backend_.close()
        backend_.storage = None
        return False
    return any(
        t.number == number and t.state == TrialState.RUNNING and len(t.intermediate_values) >= 2
        for t in trials
    )


def mlflow_runs(uri: str) -> tuple[list[Any], list[Any]]:
    """Active (not deleted) parent and trial runs of the study."""
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("default")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("sweeper.role") == "study"]
    children = [r for r in runs if r.data.tags.get("sweeper.role") == "trial"]
    return parents, children


# ----------------------------------------------------------------- two workers, one study

N_TRIALS = 6


@dataclass
class TwoWorkers:
    backend: Backend
    tracking_uri: str
    returncodes: list[int]
    outputs: list[str]
    study: optuna.Study


def _two_workers(root: Path, backend_: Backend, tracking: list[str], uri: str) -> TwoWorkers:
    pool = Workers(root)
    args = overrides(
        root / "results",
        *backend_.args,
        *SLOW_STALE,
        *tracking,
        f"sweep.n_trials={N_TRIALS}",
        "+data.sleep_per_eval=0.3",  # trials long enough to overlap
    )
    try:
        # Started at the same moment: both create the schema, the study and an MLflow parent.
        started = [pool.start(args, backend_.env), pool.start(args, backend_.env)]
        codes = [w.proc.wait(timeout=240) for w in started]
    finally:
        pool.stop_all()
    return TwoWorkers(backend_, uri, codes, [w.output() for w in started], backend_.study())


@pytest.fixture(scope="module")
def pg_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWorkers]:
    """Two workers on one PostgreSQL study (password in the URL), MLflow in a SQLite file."""
    root = tmp_path_factory.mktemp("pg-workers")
    with backend("postgres", root) as pg:
        uri = f"sqlite:///{root}/results/mlflow.db"
        yield _two_workers(root, pg, [], uri)


@pytest.fixture(scope="module")
def journal_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoWorkers]:
    """Two workers on one journal-file study, both logging to one MLflow tracking server."""
    root = tmp_path_factory.mktemp("journal-workers")
    with (
        backend("journal", root / "results") as journal,
        mlflow_server(
            f"sqlite:///{root}/server-mlflow.db",
            root / "mlflow-server.out",
            "--artifacts-destination",
            str(root / "server-artifacts"),
            cwd=root,
        ) as uri,
    ):
        # artifact_location=null: artifacts go through the server, as on several machines.
        yield _two_workers(
            root, journal, [f"tracking.uri={uri}", "tracking.artifact_location=null"], uri
        )


@pytest.fixture(
    params=[pytest.param("pg_workers", marks=pytest.mark.postgres), "journal_workers"],
)
def shared(request: pytest.FixtureRequest) -> TwoWorkers:
    result: TwoWorkers = request.getfixturevalue(request.param)
    return result


def _started(output: str) -> list[int]:
    return [
        int(line.split("trial ")[1].split()[0])
        for line in output.splitlines()
        if " starts (" in line
    ]


@pytest.mark.slow
def test_two_workers_reach_exactly_n_trials_with_distinct_trials(shared: TwoWorkers) -> None:
    assert shared.returncodes == [0, 0], "\n".join(shared.outputs)
    trials = shared.study.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in FINISHED]
    assert len(finished) == N_TRIALS
    # No trial failed or was left running; a trial one worker started past the target is put
    # back in the queue (WAITING), never run.
    assert {t.state for t in trials} <= {*FINISHED, TrialState.WAITING}
    assert len({t.number for t in finished}) == N_TRIALS
    assert len({json.dumps(t.params, sort_keys=True) for t in finished}) == N_TRIALS
    # Both workers ran trials, and no trial ran in both.
    ran = [_started(out) for out in shared.outputs]
    assert all(ran), "\n".join(shared.outputs)
    assert sorted(ran[0] + ran[1]) == sorted(t.number for t in finished)


@pytest.mark.slow
def test_two_workers_nest_all_children_under_one_parent(shared: TwoWorkers) -> None:
    parents, children = mlflow_runs(shared.tracking_uri)
    assert len(parents) == 1
    parent = parents[0]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    finished = [t for t in shared.study.trials if t.state in FINISHED]
    by_number = {int(c.data.tags["optuna.trial_number"]): c for c in children}
    assert len(children) == len(by_number) == N_TRIALS  # one run per trial, none twice
    for trial in finished:
        child = by_number[trial.number]
        assert child.info.run_id == trial.user_attrs["tracking_run_id"]
        assert child.data.tags["optuna.state"] == trial.state.name
    assert parent.info.status == "FINISHED"
    assert shared.study.user_attrs["tracking_parent_run_id"] == parent.info.run_id
    # The parent's artifacts (through the server's artifact proxy in the journal case).
    artifacts = MlflowClient(tracking_uri=shared.tracking_uri).list_artifacts(parent.info.run_id)
    assert {"config.yaml", "summary.txt"} <= {a.path for a in artifacts}


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_password_is_never_written_anywhere(pg_workers: TwoWorkers) -> None:
    assert pg_workers.returncodes == [0, 0], "\n".join(pg_workers.outputs)
    url = pg_workers.backend.url
    assert url is not None
    password = url.split(":", 2)[2].split("@", 1)[0]
    secret = password.encode()
    results = pg_workers.backend.root / "results"
    files = [p for p in results.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    # Everything the sweep writes is there to search (logs, config, summary, MLflow, plots).
    assert {"sweeper.log", "config.yaml", "summary.txt", "mlflow.db"} <= names
    assert any("mlartifacts" in p.parts for p in files)
    leaks = [str(p) for p in files if secret in p.read_bytes()]
    assert leaks == []
    assert all(password not in out for out in pg_workers.outputs)
    # The URL itself is written, masked: the search above looked where the password would be.
    config = next(p for p in files if p.name == "config.yaml").read_text()
    assert f"postgresql+psycopg://{url.split('//')[1].split(':')[0]}:***@" in config
    # MLflow: every param, tag and metric name of every run, and the experiment's tags.
    client = MlflowClient(tracking_uri=pg_workers.tracking_uri)
    for experiment in client.search_experiments():
        assert password not in json.dumps(experiment.tags)
        for r in client.search_runs([experiment.experiment_id], max_results=1000):
            recorded = {
                "params": r.data.params,
                "tags": r.data.tags,
                "metrics": sorted(r.data.metrics),
                "name": r.info.run_name,
            }
            assert password not in json.dumps(recorded)
    # Nor in what the study itself records.
    study = pg_workers.study
    assert password not in json.dumps(study.user_attrs, default=str)
    for trial in study.trials:
        assert password not in json.dumps([trial.user_attrs, trial.system_attrs], default=str)


# ----------------------------------------------------------------- faults


@pytest.mark.slow
@pytest.mark.parametrize("kind", [pytest.param("postgres", marks=pytest.mark.postgres), "journal"])
def test_sigkilled_workers_trial_is_retried_by_a_new_worker(
    kind: str,
    tmp_path: Path,
    workers: Workers,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    results = tmp_path / "results"
    with backend(kind, results) as where:
        args = overrides(results, *where.args, *FAST_STALE, "sweep.n_trials=3", LONG_FIRST)
        doomed = workers.start([*args, "+data.sleep_per_eval=1.0"], where.env)
        wait_for(lambda: mid_trial(where, 0), what="trial 0 midway", worker=doomed, timeout=120)
        doomed.proc.kill()  # SIGKILL: no clean-up at all, trial 0 stays RUNNING
        assert doomed.proc.wait(timeout=30) == -signal.SIGKILL
        killed = where.study().trials[0]
        assert killed.state == TrialState.RUNNING

        for key, value in where.env.items():
            monkeypatch.setenv(key, value)
        run(compose(args))  # a new worker, same command

        trials = where.study().trials
        first = trials[0]
        assert first.state == TrialState.FAIL
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == 0]
        assert len(retries) == 1
        retry = retries[0]
        assert retry.state in FINISHED
        assert retry.params == killed.params
        assert retry.user_attrs["retry_of"] == 0
        assert sum(t.state in FINISHED for t in trials) == 3
        assert not [t for t in trials if t.state == TrialState.RUNNING]

        parents, children = mlflow_runs(f"sqlite:///{results}/mlflow.db")
        assert len(parents) == 1
        client = MlflowClient(tracking_uri=f"sqlite:///{results}/mlflow.db")
        dangling = client.get_run(killed.user_attrs["tracking_run_id"])
        # Closed by the stale-trial hook (its reason), with the curves it had logged.
        assert dangling.info.status == "FAILED"
        assert dangling.data.tags["optuna.state"] == "FAIL"
        assert dangling.data.tags["sweeper.reason"] == "worker stopped sending heartbeats"
        assert "trial 0 fail: worker stopped sending heartbeats" in capsys.readouterr().out
        assert client.get_metric_history(dangling.info.run_id, "val_loss")
        again = client.get_run(retry.user_attrs["tracking_run_id"])
        assert again.data.tags["retry_of"] == "0"
        assert again.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert {c.info.status for c in children} <= {"FINISHED", "KILLED", "FAILED"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "kind", "code"),
    [(signal.SIGINT, "sqlite", 130), (signal.SIGTERM, "journal", 143)],
)
def test_signal_closes_the_trial_and_the_same_command_resumes(
    sig: signal.Signals, kind: str, code: int, tmp_path: Path, workers: Workers
) -> None:
    results = tmp_path / "results"
    with backend(kind, results) as where:
        args = overrides(
            results,
            *where.args,
            *SLOW_STALE,
            "sweep.n_trials=2",
            "sweep.enqueue=[{lr: 1.0e-4, num_epochs: 1}, {lr: 1.0e-4, num_epochs: 3}]",
        )
        worker = workers.start([*args, "+data.sleep_per_eval=1.0"], where.env)
        wait_for(lambda: mid_trial(where, 1), what="trial 1 midway", worker=worker, timeout=120)
        worker.proc.send_signal(sig)
        assert worker.proc.wait(timeout=60) == code
        out = worker.output()
        assert "Traceback" not in out
        said = [line for line in out.splitlines() if "interrupted by" in line]
        assert len(said) == 1
        assert (
            f"interrupted by {sig.name}: study '{STUDY}' has 1/2 finished trials; run the same "
            "command again to resume." in said[0]
        )

        before = where.study().trials
        # The interrupted trial's settings wait to run again (as after kill -9): issue 23 #11.
        assert [t.state for t in before] == [
            TrialState.COMPLETE,
            TrialState.FAIL,
            TrialState.WAITING,
        ]
        assert before[1].user_attrs["reason"] == f"interrupted ({sig.name})"
        assert before[2].params == before[1].params
        assert before[2].system_attrs["failed_trial"] == 1
        uri = f"sqlite:///{results}/mlflow.db"
        client = MlflowClient(tracking_uri=uri)
        cut = client.get_run(before[1].user_attrs["tracking_run_id"])
        assert cut.info.status == "KILLED"
        assert cut.data.tags["optuna.state"] == "FAIL"
        assert client.get_metric_history(cut.info.run_id, "val_loss")  # its curves so far
        assert client.get_metric_history(cut.info.run_id, "lr")
        parents, _ = mlflow_runs(uri)
        assert [p.info.status for p in parents] == ["KILLED"]

        run(compose(args))  # the same command again

        after = where.study().trials
        assert sum(t.state in FINISHED for t in after) == 2
        assert after[2].state in FINISHED and after[2].user_attrs["retry_of"] == 1
        assert after[0].state == TrialState.COMPLETE and after[0].value == before[0].value
        assert after[0].datetime_complete == before[0].datetime_complete  # not run again
        parents, children = mlflow_runs(uri)
        assert [p.info.status for p in parents] == ["FINISHED"]
        numbers = sorted(int(c.data.tags["optuna.trial_number"]) for c in children)
        assert numbers == [t.number for t in after]  # one run per trial, none repeated


def _start_error(
    url: str, root: Path, capsys: pytest.CaptureFixture[str], *, secrets: list[str]
) -> str:
    """Run a sweep on storage ``url``; check it stops at start with one line and exit code 2,
    before any training and without any of ``secrets`` in its output or log. The line."""
    calls = len(fake_objective.CALLS)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SWEEPER_STORAGE_URL", url)
        code = main(overrides(root, "storage=postgres", "tracking=none"))
    out, err = capsys.readouterr()
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert len(fake_objective.CALLS) == calls  # no training started
    assert " starts (" not in out
    logs = list(root.rglob("sweeper.log"))
    assert logs
    for secret in secrets:
        assert secret not in out + err
        assert all(secret not in p.read_text() for p in logs)
    return lines[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "nonexistent.invalid"])
def test_unreachable_database_is_a_one_line_error_without_the_password(
    host: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "pw-never-shown-8c1f"
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://sweeper:{password}@{host}:{port}/sweeper"
    line = _start_error(url, tmp_path, capsys, secrets=[password])
    assert line.startswith(
        f"error: storage=postgres: cannot open postgresql+psycopg://sweeper:***@{host}:{port}/"
    )


@pytest.mark.postgres
def test_wrong_password_is_a_one_line_error_without_either_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    with temp_database() as db:
        wrong = "pw-wrong-5e0a93"
        url = db.url.replace(db.password, wrong)
        try:
            psycopg.connect(url.replace("+psycopg", "")).close()
            pytest.skip("this server accepts any password (trust auth); .ci/run's checks them")
        except psycopg.OperationalError:
            pass
        line = _start_error(url, tmp_path, capsys, secrets=[wrong, db.password])
    assert line.startswith(
        f"error: storage=postgres: cannot open postgresql+psycopg://{db.user}:***@"
    )
    assert "password authentication failed" in line


# ----------------------------------------------------------------- the pieces, in-process


@pytest.mark.postgres
def test_test_databases_are_created_and_dropped() -> None:
    import psycopg

    with temp_database() as db:
        assert exists(db) == (True, True)
        with psycopg.connect(db.url.replace("+psycopg", "")) as conn:
            assert conn.execute("SELECT current_user").fetchone() == (db.user,)
        kept: Database = db
    assert exists(kept) == (False, False)


def test_a_trial_past_the_target_is_put_back_not_run() -> None:
    study = optuna.create_study()
    first, second, extra = study.ask(), study.ask(), study.ask()
    assert claims_a_slot(first, 2) and claims_a_slot(second, 2)
    assert not claims_a_slot(extra, 2)
    release_trial(extra)
    assert study.trials[2].state == TrialState.WAITING
    study.tell(first, 1.0)
    study.tell(second, state=TrialState.FAIL)  # a failed trial frees its slot...
    again = study.ask()
    assert again.number == extra.number  # ...and the released trial is the next one run
    assert claims_a_slot(again, 2)


def test_journal_heartbeats_fail_and_retry_a_stale_trial(tmp_path: Path) -> None:
    storage, stale = open_storage(
        {
            "kind": "journal",
            "path": str(tmp_path / "optuna.journal"),
            "heartbeat_interval": 1,
            "grace_period": 2,
            "max_retry": 1,
        }
    )
    assert stale is not None
    closed: list[int] = []
    stale.hook = lambda _study, trial: closed.append(trial.number)
    study = optuna.create_study(storage=storage, study_name="s")

    def objective(trial: optuna.Trial) -> float:
        return trial.suggest_float("x", 0.0, 1.0)

    study.optimize(objective, n_trials=1)  # Optuna's own heartbeat thread beats for it
    assert HEARTBEAT_ATTR in study.trials[0].system_attrs

    # ask() stands in for a worker's trial (Optuna warns that heartbeats expect optimize()).
    with pytest.warns(UserWarning, match="Heartbeat"):
        lost = study.ask()
    x = lost.suggest_float("x", 0.0, 1.0)
    storage.set_trial_system_attr(lost._trial_id, HEARTBEAT_ATTR, time.time() - 60)
    fail_stale_trials(study)
    assert study.trials[lost.number].state == TrialState.RUNNING  # started < grace_period ago
    time.sleep(2.5)  # past grace_period since its start and its last heartbeat
    fail_stale_trials(study)
    trials = study.trials
    assert trials[lost.number].state == TrialState.FAIL
    # The summary's "trial N fail: <reason>" line reads the reason from the records.
    assert records(study)[lost.number].reason == "worker stopped sending heartbeats"
    assert closed == [lost.number]
    assert trials[-1].state == TrialState.WAITING
    assert trials[-1].params == {"x": x}
    assert trials[-1].system_attrs["failed_trial"] == lost.number

    with pytest.warns(UserWarning, match="Heartbeat"):
        retry = study.ask()  # inherits the lost trial's old heartbeat, but has just started
    assert retry.number == trials[-1].number
    fail_stale_trials(study)
    assert study.trials[retry.number].state == TrialState.RUNNING


class FailedElsewhere(fake_objective.QuadraticObjective):
    """The first trial is failed from outside while it trains, as another worker's stale-trial
    check does to a worker that sent no heartbeat for ``grace_period`` (suspended, swapping)."""

    def train(self, settings: Any, reporter: Any, *, device: str) -> None:
        if not getattr(self, "failed_one", False):
            self.failed_one = True
            other = JournalStorage(JournalFileBackend(str(self.data["journal"])))
            study_id = other.get_study_id_from_name(STUDY)
            (mine,) = other.get_all_trials(study_id, states=(TrialState.RUNNING,))
            other.set_trial_state_values(mine._trial_id, TrialState.FAIL)
        super().train(settings, reporter, device=device)


def test_a_worker_whose_trial_was_failed_elsewhere_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "optuna.journal"
    args = overrides(
        tmp_path,
        "storage=journal",
        *SLOW_STALE,
        "tracking=none",
        "sweep.n_trials=2",
        f"objective={__name__}.FailedElsewhere",
        f"+data.journal={journal}",
    )
    run(compose(args))  # no crash: Optuna would raise telling a trial that is already FAIL
    study = optuna.load_study(
        study_name=STUDY, storage=JournalStorage(JournalFileBackend(str(journal)))
    )
    assert [t.state for t in study.trials] == [
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    assert "trial 0 was failed by another worker" in caplog.text


def test_workers_attaching_at_the_same_moment_share_one_parent(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    MlflowTracker(  # create the store first: this test is about the parent run, not the schema
        uri=uri, experiment="default", artifact_location=None, study_name="x", storage_id="s"
    )
    barrier = threading.Barrier(3)
    ids: list[str] = []

    def attach() -> None:
        tracker = MlflowTracker(
            uri=uri, experiment="default", artifact_location=None, study_name=STUDY, storage_id="s"
        )
        barrier.wait()
        ids.append(tracker.attach(tags={}, params={}))

    threads = [threading.Thread(target=attach) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(ids) == 3 and len(set(ids)) == 1
    parents, _ = mlflow_runs(uri)
    assert [p.info.run_id for p in parents] == ids[:1]
