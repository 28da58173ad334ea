"""Tracking: MLflow's records (one parent per study, a child per trial, LR curves equal to the
schedule), and the seam itself: the in-memory backend records a sweep, a training and a
recommendation the same way, and old studies' MLflow-named records still read."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.config import compose
from sweeper.run import run
from sweeper.schedule import StepPlan, lr_curve
from sweeper.tracking import RUN_ID_ATTR, STUDY_RUN_ATTR, memory, open_tracker, recorded_id
from tests.fake_objective import fake_overrides
from tests.servers import mlflow_server


def _sweep(root: Path, *extra: str) -> None:
    run(
        compose(
            fake_overrides(
                root,
                "sweep.study_name=tracked",
                "search_space.lr.high=1.0",
                "+search_space.weight_decay={type: categorical, choices: [0.0, 0.123]}",
                *extra,
            )
        )
    )


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tracked")
    # Trial 0 completes, 1 is pruned (non-finite loss), 2 fails, 3 completes; then a re-run
    # queues the failed set again (4, which fails again) and samples one more (5).
    enqueue = (
        "sweep.enqueue=[{lr: 1.0e-4, weight_decay: 0.0, num_epochs: 2}, "
        "{lr: 1.0, weight_decay: 0.0}, "
        "{lr: 1.0e-4, weight_decay: 0.123}, {lr: 2.0e-4, weight_decay: 0.0, num_epochs: 3}]"
    )
    _sweep(root, "sweep.n_trials=3", enqueue)
    _sweep(root, "sweep.n_trials=4", enqueue)
    return root


def _client(root: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")


def _runs(root: Path) -> tuple[object, list[object]]:
    client = _client(root)
    exp = client.get_experiment_by_name("default")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("sweeper.role") == "study"]
    children = [r for r in runs if r.data.tags.get("sweeper.role") == "trial"]
    assert len(parents) == 1  # the re-run reattached to the same parent
    return parents[0], children


def test_one_parent_and_a_nested_child_per_trial(tracked: Path) -> None:
    parent, children = _runs(tracked)
    study = optuna.load_study(study_name="tracked", storage=f"sqlite:///{tracked}/optuna.db")
    assert len(children) == len(study.trials) == 6
    again, failed = study.trials[4].params, study.trials[2].params  # the failed queued set
    assert (again["lr"], again["weight_decay"]) == (failed["lr"], failed["weight_decay"])
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert sorted(c.info.run_name for c in children) == [f"trial-{i:04d}" for i in range(6)]
    by_number = {int(c.data.tags["optuna.trial_number"]): c for c in children}
    for trial in study.trials:  # either side leads to the other
        assert trial.user_attrs["tracking_run_id"] == by_number[trial.number].info.run_id
    assert parent.data.tags["sweeper.data_source"] == "scripted"
    assert parent.data.params["train.batch_size"] == "32"
    assert parent.info.status == "FINISHED"


def test_states_map_to_mlflow_statuses_with_reasons(tracked: Path) -> None:
    _, children = _runs(tracked)
    by_number = {int(c.data.tags["optuna.trial_number"]): c for c in children}
    study = optuna.load_study(study_name="tracked", storage=f"sqlite:///{tracked}/optuna.db")
    status = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}
    for trial in study.trials:
        run_ = by_number[trial.number]
        assert run_.data.tags["optuna.state"] == trial.state.name
        assert run_.info.status == status[trial.state.name]
    assert [t.state.name for t in study.trials[:4]] == ["COMPLETE", "PRUNED", "FAIL", "COMPLETE"]
    assert by_number[1].data.tags["sweeper.reason"] == "non-finite loss at step 3"
    assert by_number[2].data.tags["sweeper.reason"] == "RuntimeError: scripted failure"


def test_lr_curve_has_one_point_per_step_equal_to_the_schedule(tracked: Path) -> None:
    client = _client(tracked)
    study = optuna.load_study(study_name="tracked", storage=f"sqlite:///{tracked}/optuna.db")
    for trial in study.trials:
        if trial.state.name == "FAIL":
            continue
        run_id = trial.user_attrs["tracking_run_id"]
        history = sorted(client.get_metric_history(run_id, "lr"), key=lambda m: m.step)
        plan = StepPlan(**trial.user_attrs["plan"])
        settings = trial.user_attrs["settings"]
        expected = lr_curve(
            name=settings["scheduler"],
            plan=plan,
            base_lr=settings["lr"],
            kwargs={
                k.split(".", 1)[1]: v
                for k, v in settings.items()
                if k.startswith("scheduler_kwargs.")
            },
        )
        steps = trial.user_attrs["best"]["steps_trained"]
        assert [m.step for m in history] == list(range(steps))
        assert [m.value for m in history] == pytest.approx(expected[:steps], abs=1e-15)
        if trial.state.name == "COMPLETE" and trial.user_attrs["best"]["stop"] == "completed":
            assert steps == plan.num_training_steps
        run_ = client.get_run(run_id)
        assert run_.data.params["num_training_steps"] == str(plan.num_training_steps)
        assert run_.data.params["schedule_horizon_epochs"] == str(plan.num_epochs)
        if trial.state.name == "COMPLETE":
            # best_value: what Optuna ranks (the median-smoothed best, train.select_window);
            # best_val_loss: the evaluation's own value at that point
            assert run_.data.metrics["best_value"] == pytest.approx(trial.value)
            best = trial.user_attrs["best"]
            assert run_.data.metrics["best_val_loss"] == pytest.approx(best["best_val_loss"])
            assert best["best_val_loss"] in [e["val_loss"] for e in trial.user_attrs["evals"]]
            assert run_.data.metrics["best_epoch"] == pytest.approx(
                trial.user_attrs["best"]["best_epoch"]
            )
            val = client.get_metric_history(run_id, "val_loss")
            assert len(val) == len(trial.user_attrs["evals"])


def test_pruned_trial_keeps_its_curves_so_far(tracked: Path) -> None:
    client = _client(tracked)
    _, children = _runs(tracked)
    pruned = next(c for c in children if c.data.tags["optuna.trial_number"] == "1")
    assert len(client.get_metric_history(pruned.info.run_id, "lr")) == 4


def test_failed_trial_keeps_its_curves_up_to_the_failure(tracked: Path) -> None:
    client = _client(tracked)
    _, children = _runs(tracked)
    failed = next(c for c in children if c.data.tags["optuna.trial_number"] == "2")
    assert failed.info.status == "FAILED"
    # The scripted failure comes one update after the first evaluation (after step 5 of 10).
    lr = client.get_metric_history(failed.info.run_id, "lr")
    assert sorted(m.step for m in lr) == list(range(6))
    val = client.get_metric_history(failed.info.run_id, "val_loss")
    assert [m.step for m in val] == [5]
    assert [m.step for m in client.get_metric_history(failed.info.run_id, "train_loss")] == [5]


def test_parent_has_config_and_plots(tracked: Path) -> None:
    parent, _ = _runs(tracked)
    names = {a.path for a in _client(tracked).list_artifacts(parent.info.run_id)}
    assert {
        "config.yaml",
        "lr_curves.png",
        "val_loss_curves.png",
        "optimization_history.png",
        "best_epochs.png",
        "summary.txt",
    } <= names


def test_tracking_none_records_nothing_in_mlflow(tmp_path: Path) -> None:
    _sweep(tmp_path, "sweep.n_trials=2", "tracking=none", "~search_space.weight_decay")
    assert not (tmp_path / "mlflow.db").exists()
    study = optuna.load_study(study_name="tracked", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert len(study.trials) == 2 and RUN_ID_ATTR not in study.trials[0].user_attrs


@pytest.mark.slow
def test_mlflow_server_serves_the_trials_to_the_ui_endpoint(tracked: Path, tmp_path: Path) -> None:
    with mlflow_server(f"sqlite:///{tracked}/mlflow.db", tmp_path / "mlflow.log") as base:
        parent, _ = _runs(tracked)
        body = json.dumps(
            {"experiment_ids": [parent.info.experiment_id], "max_results": 100}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL built here
            f"{base}/ajax-api/2.0/mlflow/runs/search",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:  # noqa: S310
            runs = json.load(r)["runs"]
    names = {r["info"]["run_name"] for r in runs}
    assert {"tracked", "trial-0000", "trial-0004"} <= names
    trial = next(r for r in runs if r["info"]["run_name"] == "trial-0000")
    assert any(m["key"] == "best_val_loss" for m in trial["data"]["metrics"])


def test_parent_stays_running_while_another_worker_trains(tmp_path: Path) -> None:
    # A first sweep creates the study and its parent run; then "another worker" holds a trial
    # RUNNING. This worker runs the one trial left and stops waiting for it at its timeout: the
    # parent must not end while that trial trains.
    _sweep(tmp_path, "sweep.n_trials=1", "train.weight_decay=0.0")
    study = optuna.load_study(study_name="tracked", storage=f"sqlite:///{tmp_path}/optuna.db")
    other = study.ask()  # RUNNING, trained by nobody in this process
    _sweep(
        tmp_path,
        "sweep.n_trials=3",
        "train.weight_decay=0.0",
        # The wait for the other trial wakes for it (heartbeat: 30 s). 5 s, not 1: the clock
        # starts with the sweep, and on a loaded machine 1 s ran out before its one trial began.
        "sweep.timeout_s=5",
    )
    parent, _ = _runs(tmp_path)
    assert parent.data.tags["sweeper.finished"] == "2"
    assert parent.info.status == "RUNNING"
    # The other worker's trial ends; the last summary (any worker's) ends the parent.
    study.tell(other, 1.0)
    _sweep(tmp_path, "sweep.n_trials=3", "train.weight_decay=0.0")
    parent, _ = _runs(tmp_path)
    assert parent.data.tags["sweeper.finished"] == "3"
    assert parent.info.status == "FINISHED"


# -- the seam: the in-memory backend ----------------------------------------------------------


def _memory_sweep(root: Path, store: str, *extra: str) -> optuna.Study:
    _sweep(root, "tracking=memory", f"tracking.store={store}", "sweep.n_trials=3", *extra)
    return optuna.load_study(study_name="tracked", storage=f"sqlite:///{root}/optuna.db")


def test_the_memory_backend_records_a_sweep_as_mlflow_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    enqueue = "sweep.enqueue=[{lr: 1.0e-4, weight_decay: 0.0}, {lr: 1.0, weight_decay: 0.0}]"
    study = _memory_sweep(tmp_path, "sweep", enqueue)
    out = capsys.readouterr().out
    assert not (tmp_path / "mlflow.db").exists()
    store = memory.STORES["sweep"]
    (parent,) = store.find(role="study")
    assert study.user_attrs[STUDY_RUN_ATTR] == parent.run_id
    assert parent.status == "FINISHED" and parent.tags["sweeper.finished"] == "3"
    assert parent.params["train.batch_size"] == "32" and "config.yaml" in parent.texts
    assert {f.name for _, f in parent.files} >= {"summary.txt", "lr_curves.png"}
    # The summary names the backend and where its records are, as the backend describes them.
    assert f"memory:  store sweep (parent run {parent.run_id})" in out
    children = {int(r.tags["optuna.trial_number"]): r for r in store.find(role="trial")}
    assert len(children) == len(study.trials) == 3
    for trial in study.trials:
        child = children[trial.number]
        assert trial.user_attrs[RUN_ID_ATTR] == child.run_id and child.parent == parent.run_id
        assert child.tags["optuna.state"] == trial.state.name
        assert child.status == {"COMPLETE": "FINISHED", "PRUNED": "KILLED"}[trial.state.name]
        val = [v for _, v in child.metrics.get("val_loss", [])]
        assert val == [e["val_loss"] for e in trial.user_attrs["evals"]]
        assert len(child.metrics["lr"]) == trial.user_attrs["best"]["steps_trained"]
    assert children[1].tags["sweeper.reason"] == "non-finite loss at step 3"


def test_the_memory_backend_records_a_training_and_a_recommendation(tmp_path: Path) -> None:
    from sweeper.recommend import recommend
    from sweeper.train import train

    store = "rec"
    _memory_sweep(tmp_path, store, "~search_space.weight_decay", "search_space.lr.high=1e-3")
    train(compose(fake_overrides(tmp_path, "tracking=memory", f"tracking.store={store}")))
    (single,) = memory.STORES[store].find(role="train")
    assert single.status == "FINISHED" and single.metrics["val_loss"]
    rec = recommend(
        compose(
            fake_overrides(
                tmp_path,
                "sweep.study_name=tracked",
                "search_space.lr.high=1e-3",
                "tracking=memory",
                f"tracking.store={store}",
                "recommend.top_k=1",
                "recommend.confirm_seeds=0",
                f"recommend.config_dir={tmp_path}/conf",
            )
        )
    )
    (parent,) = memory.STORES[store].find(role="study")
    assert ("recommendation", rec.report_path) in parent.files
    assert parent.metrics["rec_num_epochs"] == [(0, rec.epochs)]


def test_a_study_recorded_with_mlflow_names_still_reads(tmp_path: Path) -> None:
    """Studies from before the seam hold ``mlflow_run_id`` and ``mlflow_parent_run_id``."""
    import sqlite3

    from sweeper.recommend import _report_to_parent
    from sweeper.trial_record import records

    study = _memory_sweep(tmp_path, "old", "~search_space.weight_decay")
    new_ids = [t.user_attrs[RUN_ID_ATTR] for t in study.trials]
    parent = study.user_attrs[STUDY_RUN_ATTR]
    with sqlite3.connect(tmp_path / "optuna.db") as db:  # as an older sweeper wrote them
        for table in ("trial_user_attributes", "study_user_attributes"):
            for old, new in (
                ("mlflow_run_id", RUN_ID_ATTR),
                ("mlflow_parent_run_id", STUDY_RUN_ATTR),
            ):
                db.execute(f"UPDATE {table} SET key = ? WHERE key = ?", (old, new))  # noqa: S608
    study = optuna.load_study(study_name="tracked", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert (
        "mlflow_parent_run_id" in study.user_attrs and RUN_ID_ATTR not in study.trials[0].user_attrs
    )
    assert [r.tracking_run_id for r in records(study)] == new_ids
    assert recorded_id(study.user_attrs, STUDY_RUN_ATTR) == parent

    class Session:  # what _report_to_parent reads of a recommend session
        def __init__(self) -> None:
            from sweeper.checks import check

            self.study = study
            self.name = "tracked"
            self.storage_name = "x"
            self.checked = check(
                compose(fake_overrides(tmp_path, "tracking=memory", "tracking.store=old"))
            )

    session: Any = Session()
    _report_to_parent(session, files=[tmp_path / "r.md"], folder="rec", metrics={"m": 1.0})
    assert ("rec", tmp_path / "r.md") in memory.STORES["old"].runs[parent].files


def test_a_backend_is_named_by_module_and_an_unknown_one_is_one_line(tmp_path: Path) -> None:
    from sweeper.errors import ConfigError

    def cfg(backend: str) -> dict[str, object]:
        return {"tracking": {"enabled": True, "backend": backend, "store": "named"}}

    opened = open_tracker(
        cfg("sweeper.tracking.memory"), study_name="s", storage_id="s", results_dir=tmp_path
    )
    assert isinstance(opened, memory.MemoryTracker)
    assert (
        open_tracker(
            {"tracking": {"enabled": False}}, study_name="s", storage_id="s", results_dir=tmp_path
        )
        is None
    )
    with pytest.raises(ConfigError) as err:
        open_tracker(cfg("wandb"), study_name="s", storage_id="s", results_dir=tmp_path)
    assert str(err.value).startswith("tracking.backend must name a tracking backend")
    assert "but got 'wandb'" in str(err.value) and "\n" not in str(err.value)
