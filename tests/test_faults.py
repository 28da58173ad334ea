"""Faults survived: each fault injected into a real (scripted, tiny) sweep, asserting the study's
trials, their states and values, what MLflow holds afterwards and what the user saw.

Covered elsewhere, not repeated here (docs/faults.md lists them all):
  * kill -9 of a worker mid-trial, retried through heartbeats:
    tests/test_scaleout.py::test_sigkilled_workers_trial_is_retried_by_a_new_worker
  * SIGINT / SIGTERM mid-trial, then the same command resumes:
    tests/test_scaleout.py::test_signal_closes_the_trial_and_the_same_command_resumes
  * NaN loss in real training: tests/test_robustness.py::
    test_real_training_non_finite_loss_stops_the_trial_and_the_sweep_goes_on
  * the tracking writer and ``python -m sweeper.sync`` piece by piece: tests/test_spool.py

Servers are taken away with a proxy in front of them (tests.servers.Proxy): clients see refused
and dropped connections, exactly as when the server stops, and it comes back at once (an MLflow
server takes many seconds to start). Outages are a few seconds instead of 30-60.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow import MlflowClient
from optuna.trial import TrialState

from sweeper import outages
from sweeper.commands.sweep import main
from sweeper.commands.sync import main as sync_main
from sweeper.config import compose
from sweeper.run import run
from sweeper.study import RETRIED_CALLS
from tests import fake_objective
from tests.conftest import tiny_overrides
from tests.fake_objective import QuadraticObjective
from tests.postgres import temp_database
from tests.servers import Proxy, mlflow_server
from tests.test_scaleout import STUDY, Backend, Workers, overrides, wait_for

pytestmark = pytest.mark.slow

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# Three trials of 2 epochs, 2 evaluations each, half a second per evaluation: 2 s a trial.
SWEEP = ["sweep.n_trials=3", "train.num_epochs=2", "search_space=none", "+data.sleep_per_eval=0.5"]


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Hydra (``main()`` in-process) points the root logger at this test's captured streams;
    put back the handlers it had, so later tests do not log into closed streams."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in saved:
            handler.close()  # its log file
    root.handlers[:] = saved
    root.setLevel(level)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    yield pool
    pool.stop_all()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """One MLflow server for the module (its port, its folder); tests reach it via proxies."""
    root = tmp_path_factory.mktemp("mlflow-server")
    with mlflow_server(
        f"sqlite:///{root}/mlflow.db",
        root / "server.out",
        "--artifacts-destination",
        str(root / "artifacts"),
        cwd=root,
    ) as base:
        yield int(base.rsplit(":", 1)[1]), root


def _midway(backend: Backend, number: int, evals: int = 1) -> bool:
    try:
        trials = backend.study().get_trials(deepcopy=False)
    except Exception:  # no study yet: still starting
        backend.close()
        backend.storage = None
        return False
    return any(
        t.number == number and t.state == TrialState.RUNNING and len(t.intermediate_values) >= evals
        for t in trials
    )


def _children(uri: str, experiment: str) -> list[Any]:
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id], max_results=1000)
    return [r for r in runs if r.data.tags.get("sweeper.role") == "trial"]


def _assert_mlflow_holds_every_point(uri: str, experiment: str, study: optuna.Study) -> None:
    """One run per trial, ended with its trial's state, every LR point and every evaluation."""
    client = MlflowClient(tracking_uri=uri)
    children = {int(c.data.tags["optuna.trial_number"]): c for c in _children(uri, experiment)}
    assert sorted(children) == [t.number for t in study.trials]
    for trial in study.trials:
        child = children[trial.number]
        assert child.info.status == {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}[trial.state.name]
        assert child.data.tags["optuna.state"] == trial.state.name
        lr = client.get_metric_history(child.info.run_id, "lr")
        assert sorted(m.step for m in lr) == list(range(trial.user_attrs["best"]["steps_trained"]))
        val = client.get_metric_history(child.info.run_id, "val_loss")
        assert len(val) == len(trial.user_attrs["evals"])
        if trial.state == TrialState.COMPLETE:
            assert child.data.metrics["best_value"] == pytest.approx(trial.value)


class Sweep:
    """A sweep run in this process, in a thread, while the test takes its servers away (no
    start-up cost of a new process; the lines it logs are in ``caplog``)."""

    def __init__(self, args: list[str]) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(args,), daemon=True)
        self.thread.start()

    def _run(self, args: list[str]) -> None:
        try:
            run(compose(args))
        except BaseException as err:  # reported by wait()
            self.error = err

    def alive(self) -> bool:
        return self.thread.is_alive()

    def wait(self, timeout: float = 120) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the sweep did not end"
        if self.error is not None:
            raise self.error


def until(condition: Any, *, sweep: Sweep, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if not sweep.alive():
            sweep.wait()
            pytest.fail(f"the sweep ended before {what}")
        assert time.monotonic() < deadline, f"no {what} after {timeout}s"
        time.sleep(0.2)


def _lines(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(prefix)]


def test_mlflow_server_down_mid_trial_then_back(
    server: tuple[int, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port, _ = server
    proxy = Proxy(port)
    uri = f"http://127.0.0.1:{proxy.port}"
    results = tmp_path / "results"
    where = Backend("sqlite", results, ["storage=sqlite"])
    args = overrides(results, *SWEEP, f"tracking.uri={uri}", "tracking.experiment=down-back")
    caplog.set_level("WARNING")
    sweep = Sweep(args)
    until(lambda: _midway(where, 0), sweep=sweep, what="trial 0 midway")
    proxy.cut()
    time.sleep(4)  # past the end of trial 0, into trial 1
    proxy.restore()
    sweep.wait()
    assert "Retrying" not in caplog.text  # urllib3's retry lines stay off the console
    lines = _lines(caplog, "tracking:")
    assert len(lines) == 2, lines
    assert f"tracking: {uri} unreachable (" in lines[0] and "training goes on" in lines[0]
    assert f"tracking: {uri} is back after" in lines[1] and "delayed record(s)" in lines[1]
    study = where.study()
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3  # nothing failed
    assert len({t.value for t in study.trials}) == 1  # the same settings, the same values
    _assert_mlflow_holds_every_point(uri, "down-back", study)
    assert not list(results.rglob("*.spool.jsonl"))  # all sent: no spool left


def test_mlflow_server_down_until_the_end_then_sync(
    server: tuple[int, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port, _ = server
    proxy = Proxy(port)
    uri = f"http://127.0.0.1:{proxy.port}"
    results = tmp_path / "results"
    where = Backend("sqlite", results, ["storage=sqlite"])
    args = overrides(results, *SWEEP, f"tracking.uri={uri}", "tracking.experiment=down-end")
    caplog.set_level("WARNING")
    sweep = Sweep(args)
    until(lambda: _midway(where, 0), sweep=sweep, what="trial 0 midway")
    proxy.cut()
    sweep.wait()
    study = where.study()
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    (spool,) = results.rglob("*.spool.jsonl")
    (note,) = [line for line in _lines(caplog, "tracking:") if "not sent" in line]
    assert note.endswith(f"python -m sweeper.sync {spool}")
    (summary,) = results.rglob("summary.txt")  # the run folder's summary says it too
    assert summary.read_text().splitlines()[-1].endswith(note)
    direct = f"http://127.0.0.1:{port}"  # the test reads past the proxy
    children = _children(direct, "down-end")
    before = {c.data.tags["optuna.trial_number"]: c.info.status for c in children}
    assert before.get("0") == "RUNNING" and "2" not in before  # trial 2's run is only spooled

    proxy.restore()
    assert sync_main([str(results)]) == 0
    assert "all sent, removed" in capsys.readouterr().out
    assert sync_main([str(results)]) == 0  # again: nothing left, nothing sent twice
    assert "nothing to send" in capsys.readouterr().out
    _assert_mlflow_holds_every_point(direct, "down-end", study)


# ----------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[tuple[Backend, Proxy]]:
    """A study database reached through a proxy (the sweep's URL) and directly (the test's)."""
    with temp_database() as db:
        proxy = Proxy(db.port)
        proxied = db.url.replace(f":{db.port}/", f":{proxy.port}/")
        where = Backend(
            "postgres", tmp_path / "results", ["storage=postgres"], {"SWEEPER_STORAGE_URL": proxied}
        )
        where.url = db.url
        try:
            yield where, proxy
        finally:
            proxy.cut()
            where.close()


@pytest.mark.postgres
# The connections the outage killed are dropped by SQLAlchemy's pool (invalidated, as it should);
# psycopg then reports each as "deleted while still open" when it is collected.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_postgres_down_mid_trial_is_waited_out(
    pg: tuple[Backend, Proxy], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    where, proxy = pg
    args = overrides(
        where.root,
        *where.args,
        *SWEEP,
        "storage.heartbeat_interval=1",
        "storage.grace_period=30",
        "storage.outage_s=60",
    )
    for key, value in where.env.items():
        monkeypatch.setenv(key, value)
    caplog.set_level("WARNING")
    sweep = Sweep(args)
    until(lambda: _midway(where, 0), sweep=sweep, what="trial 0 midway")
    proxy.cut()
    time.sleep(4)
    proxy.restore()
    sweep.wait()
    waited = _lines(caplog, "storage:")
    assert len(waited) == 2, waited
    assert "cannot reach postgresql+psycopg://" in waited[0] and "waiting up to 60s" in waited[0]
    assert "reachable again after" in waited[1]
    trials = where.study().trials
    assert sum(t.state in FINISHED for t in trials) == 3
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # At most the trial in flight is lost, and then it is retried with the same parameters.
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) <= 1
    for lost in failed:
        assert [t.system_attrs.get("failed_trial") for t in trials].count(lost.number) == 1


def test_the_storage_calls_made_again_exist() -> None:
    """RETRIED_CALLS name RDBStorage methods, and Optuna's cache still reads trials through the
    private one among them (if this fails, Optuna changed: update RETRIED_CALLS)."""
    import inspect

    from optuna.storages import RDBStorage
    from optuna.storages._cached_storage import _CachedStorage

    for name in RETRIED_CALLS:
        assert callable(getattr(RDBStorage, name, None)), name
    assert "self._backend._get_trials(" in inspect.getsource(_CachedStorage)


@pytest.mark.postgres
def test_postgres_down_past_the_bound_is_one_line_and_the_same_command_resumes(
    pg: tuple[Backend, Proxy], workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    where, proxy = pg
    args = overrides(
        where.root,
        *where.args,
        *SWEEP,
        "tracking=none",
        "storage.heartbeat_interval=1",
        "storage.grace_period=3",
        "storage.outage_s=3",
    )
    worker = workers.start(args, where.env)
    wait_for(lambda: _midway(where, 0), what="trial 0 midway", worker=worker, timeout=120)
    proxy.cut()
    assert worker.proc.wait(timeout=60) == 2
    out = worker.output()
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "unreachable for more than storage.outage_s=3s" in errors[0]
    assert where.env["SWEEPER_STORAGE_URL"].split(":")[2].split("@")[0] not in out  # password
    left = where.study().trials
    (cut,) = [t.number for t in left if t.state == TrialState.RUNNING]  # the trial in flight
    assert all(t.state == TrialState.COMPLETE for t in left if t.number != cut)

    proxy.restore()
    for key, value in where.env.items():
        monkeypatch.setenv(key, value)
    time.sleep(3)  # past grace_period: the trial left RUNNING is stale
    run(compose(args))
    trials = where.study().trials
    assert trials[cut].state == TrialState.FAIL
    assert sum(t.state in FINISHED for t in trials) == 3
    assert [t.system_attrs.get("failed_trial") for t in trials].count(cut) == 1


# ----------------------------------------------------------------- disk


class DiskFillsUp(QuadraticObjective):
    """The disk fills up in the middle of the second trial (an injected ENOSPC where the real
    loop would write, e.g. a checkpoint)."""

    def train(self, settings: Any, reporter: Any, *, device: str) -> None:
        self.trained = getattr(self, "trained", 0) + 1
        full = self.trained == 2
        super().train(settings, _FailAtFirstEval(reporter) if full else reporter, device=device)


class _FailAtFirstEval:
    def __init__(self, reporter: Any) -> None:
        self._reporter = reporter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reporter, name)

    def evaluate(self, **kwargs: Any) -> Any:
        self._reporter.evaluate(**kwargs)
        raise OSError(errno.ENOSPC, "No space left on device", "/results/checkpoint.bin")


@pytest.mark.usefixtures("root_logging")
def test_full_disk_mid_sweep_fails_the_trial_and_stops_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = overrides(tmp_path, "sweep.n_trials=3", f"objective={__name__}.DiskFillsUp")
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: results_dir={tmp_path}: a trial failed writing to disk")
    assert "No space left on device" in lines[0] and "run the same command again" in lines[0]
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path}/optuna.db")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAIL]  # stopped
    assert "[Errno 28] No space left on device" in study.trials[1].user_attrs["reason"]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    run_id = study.trials[1].user_attrs["tracking_run_id"]
    # The writer sends its last records in the background (a process sends them at exit).
    deadline = time.monotonic() + 30
    while client.get_run(run_id).info.status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    failed = client.get_run(run_id)
    assert failed.info.status == "FAILED"
    assert "No space left on device" in failed.data.tags["sweeper.reason"]


@pytest.mark.usefixtures("root_logging")
def test_results_dir_that_cannot_be_written_is_one_line_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(outages.os, "fsync", full)  # the write check's own write fails
    calls = len(fake_objective.CALLS)
    assert main(overrides(tmp_path / "results", "sweep.n_trials=1")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: results_dir={tmp_path / 'results'}: cannot write there (No space left on "
        "device); it must be a writable folder with free space."
    ]
    assert len(fake_objective.CALLS) == calls  # nothing trained
    assert not (tmp_path / "results" / "optuna.db").exists()


def test_corrupted_tokenization_cache_is_detected_and_rebuilt(
    tmp_path: Path, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "runs"
    # No search: both trials train the same settings, so equal values mean equal data.
    tiny = tiny_overrides(root, tiny_model_dir, "sweep.n_trials=1", "tracking=none")
    args = [a for a in tiny if not a.startswith("search_space.")] + ["search_space=none"]
    run(compose(args))
    cache = sorted((root / "cache").glob("tokenized-*"))[0]  # one split of the two
    arrow = sorted(cache.glob("*.arrow"))[0]
    data = bytearray(arrow.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, as a bad disk or a killed copy leaves
    arrow.write_bytes(bytes(data))
    caplog.set_level("INFO")
    run(compose([*args, "sweep.n_trials=2"]))
    notes = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(notes) == 1 and str(cache) in notes[0] and "rebuilt" in notes[0]
    study = optuna.load_study(study_name="default-sst2", storage=f"sqlite:///{root}/optuna.db")
    first, second = study.trials
    assert first.state == second.state == TrialState.COMPLETE
    assert second.value == pytest.approx(first.value, abs=1e-6)  # the same data as before
