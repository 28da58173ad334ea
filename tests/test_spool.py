"""The tracking spool and its writer: order kept through an outage, status last, one line down
and one back, nothing raised into a trial, and ``python -m sweeper.sync`` sending each point once.
The same with a real MLflow server and a real sweep: tests/test_faults.py."""

from __future__ import annotations

import errno
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow import MlflowClient

from sweeper.commands.sync import main as sync_main
from sweeper.tracking import spool as spool_module
from sweeper.tracking.mlflow import MlflowTracker


class Flaky:
    """An MLflow client that refuses connections while ``down``; records what it was asked."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self.down = False
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            self.calls.append((name, str(args[0]) if args else ""))
            return method(*args, **kwargs)

        return call


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module (creating one takes seconds); an experiment per test."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


def _tracker(root: Path, store: str) -> tuple[MlflowTracker, Flaky]:
    tracker = MlflowTracker(
        uri=store,
        experiment=root.name,
        artifact_location=str(root / "artifacts"),
        study_name="s",
        storage_id="s",
        spool_dir=root / "spool",
    )
    tracker.attach(tags={}, params={})
    flaky = Flaky(tracker.client)
    tracker.writer.client = flaky  # type: ignore[assignment]
    tracker.writer.retry_s = 0.05
    return tracker, flaky


def _wait(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _child(root: Path, store: str) -> Any:
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name(root.name)
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="tags.`sweeper.role` = 'trial'"
    )
    assert len(runs) == 1  # created once, even though its first attempts failed
    return client, runs[0]


def test_an_outage_delays_records_in_order_with_the_status_last(
    tmp_path: Path, store: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    tracker, flaky = _tracker(tmp_path, store)
    flaky.down = True
    started = time.monotonic()
    run = tracker.start_trial(0, params={"lr": 0.1}, tags={})
    for step in range(2500):  # more than one batch (1,000 entities each)
        run.add("lr", step / 1000, step)
    run.flush()
    run.finish("COMPLETE", summary={"best_val_loss": 0.5}, tags={"sweeper.reason": "done"})
    assert time.monotonic() - started < 5  # nothing waited for the store
    assert run.run_id is None  # not created yet: the store is down
    assert tracker.writer.spool.pending >= 5
    flaky.down = False
    _wait(lambda: tracker.writer.spool.pending == 0)

    client, child = _child(tmp_path, store)
    assert child.info.status == "FINISHED"
    assert child.data.params["lr"] == "0.1"
    assert child.data.tags["optuna.state"] == "COMPLETE"
    history = client.get_metric_history(child.info.run_id, "lr")
    assert sorted(m.step for m in history) == list(range(2500))
    ops = [name for name, run_id in flaky.calls if run_id == child.info.run_id]
    assert ops[-1] == "set_terminated" and ops.count("set_terminated") == 1  # status last
    lines = [r.getMessage() for r in caplog.records if "tracking:" in r.getMessage()]
    assert len(lines) == 2
    assert "unreachable (Connection refused); training goes on" in lines[0]
    assert "is back after" in lines[1]
    delayed = int(lines[1].split("sending the ")[1].split()[0])
    assert delayed >= 5
    tracker.finish_study(files=[], tags={}, status="FINISHED")
    assert not list((tmp_path / "spool").glob("*.jsonl"))  # all sent: the spool is removed


def test_sync_sends_what_is_left_once_even_when_run_again_or_cut_short(
    tmp_path: Path,
    store: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.WARNING)
    tracker, flaky = _tracker(tmp_path, store)
    flaky.down = True
    run = tracker.start_trial(0, params={"lr": 0.1}, tags={})
    for flush in range(5):
        for step in range(flush * 10, flush * 10 + 10):
            run.add("val_loss", 1.0 / (step + 1), step)
        run.flush()
    run.finish("COMPLETE", summary={}, tags={})
    tracker.finish_study(files=[], tags={"sweeper.finished": 1}, status="FINISHED")
    assert tracker.unsent >= 7
    (path,) = (tmp_path / "spool").glob("*.spool.jsonl")
    note = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert len(note) == 1 and f"python -m sweeper.sync {path}" in note[0]

    # A first sync is cut short after three records (the server went away again)...
    real_send, sent = spool_module.send, []

    def send_three(*args: Any, **kwargs: Any) -> Any:
        if len(sent) == 3:
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
        sent.append(args[1]["op"])
        return real_send(*args, **kwargs)

    monkeypatch.setattr(spool_module, "send", send_three)
    assert sync_main([str(tmp_path / "spool")]) == 1
    assert "3 record(s) sent" in capsys.readouterr().out
    monkeypatch.setattr(spool_module, "send", real_send)
    # ...then run to the end, then run again: every point exactly once.
    assert sync_main([str(path)]) == 0
    assert "all sent, removed" in capsys.readouterr().out
    assert sync_main([str(tmp_path / "spool")]) == 0
    assert "nothing to send" in capsys.readouterr().out
    client, child = _child(tmp_path, store)
    history = client.get_metric_history(child.info.run_id, "val_loss")
    assert sorted(m.step for m in history) == list(range(50))
    assert child.info.status == "FINISHED"
    parent = client.get_run(str(tracker.parent_run_id))
    assert parent.info.status == "FINISHED" and parent.data.tags["sweeper.finished"] == "1"


def test_a_spool_that_cannot_be_written_never_raises_into_the_trial(
    tmp_path: Path, store: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING)
    tracker, _ = _tracker(tmp_path, store)
    run = tracker.start_trial(0, params={}, tags={})

    def full(_record: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tracker.writer.spool, "append", full)
    for step in range(3):
        run.add("lr", 0.1, step)
        run.flush()
    run.finish("COMPLETE", summary={"best_val_loss": 0.3}, tags={})
    said = [r.getMessage() for r in caplog.records if "cannot write" in r.getMessage()]
    assert len(said) == 1 and "No space left on device" in said[0]


def test_sync_refuses_a_spool_in_use_and_a_uri_it_does_not_have(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker, _ = _tracker(tmp_path, store)
    (path,) = (tmp_path / "spool").glob("*.spool.jsonl")
    assert sync_main([str(path)]) == 1  # the writer holds it
    assert "still in use by a running sweep" in capsys.readouterr().out
    tracker.close()
    lonely = tmp_path / "other" / f"x{spool_module.SPOOL_SUFFIX}"
    lonely.parent.mkdir()
    header = {"op": "header", "uri": "http://user:***@host:5000", "experiment_id": "1"}
    lonely.write_text(json.dumps(header) + "\n" + json.dumps({"op": "end", "run": "r"}) + "\n")
    assert sync_main([str(lonely)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give it with --tracking-uri URI" in err[0]


@pytest.mark.parametrize("cause", ["another store", "deleted experiment"])
def test_sync_keeps_and_names_a_record_the_store_refuses(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str], cause: str
) -> None:
    tracker, flaky = _tracker(tmp_path, store)
    flaky.down = True
    run = tracker.start_trial(0, params={"lr": 0.1}, tags={})
    run.add("val_loss", 0.5, 0)
    run.finish("COMPLETE", summary={}, tags={})
    tracker.close()
    (path,) = (tmp_path / "spool").glob("*.spool.jsonl")
    written = len(path.read_text().splitlines())
    client = MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name(tmp_path.name).experiment_id
    if cause == "another store":  # an empty store: the sweep's experiment is not there
        args = [str(path), "--tracking-uri", f"sqlite:///{tmp_path}/other.db"]
    else:
        client.delete_experiment(experiment)
        args = [str(path)]
    assert sync_main(args) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "0 record(s) sent" in out[0]
    assert "(create of run pending:" in out[0] and "refused" in out[0]
    assert path.is_file()  # kept, every record of the run with it
    assert len(path.read_text().splitlines()) == written
    # Once the cause is fixed, the same command sends everything.
    if cause == "deleted experiment":
        client.restore_experiment(experiment)
    assert sync_main([str(path)]) == 0
    assert "all sent, removed" in capsys.readouterr().out
    _, child = _child(tmp_path, store)
    assert child.info.status == "FINISHED"
