"""The sweep end to end with a scripted objective: targets, resume, pruning, early stopping,
failures. Fast and deterministic; the real model runs in test_e2e.py."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from sweeper.config import compose
from sweeper.run import run
from tests.fake_objective import CALLS, fake_overrides


def _overrides(root: Path, *extra: str) -> list[str]:
    return fake_overrides(root, "tracking=none", "sweep.n_trials=3", "sweep.study_name=t", *extra)


def sweep(root: Path, *extra: str) -> float | None:
    return run(compose(_overrides(root, *extra)))


def study(root: Path, name: str = "t") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{root}/optuna.db")


def test_runs_to_target_then_resumes_without_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep(tmp_path)
    first = study(tmp_path)
    assert len(first.trials) == 3
    before = {t.number: t.params for t in first.trials}
    sweep(tmp_path, "sweep.n_trials=5")  # the same command with a larger total continues
    after = study(tmp_path)
    finished = [t for t in after.trials if t.state.is_finished()]
    assert len(finished) == 5
    assert [t.number for t in after.trials] == list(range(5))
    assert {t.number: t.params for t in after.trials if t.number < 3} == before  # nothing lost
    params = [tuple(sorted(t.params.items())) for t in after.trials]
    assert len(set(params)) == 5  # per-trial seeding: re-runs never repeat earlier draws
    capsys.readouterr()
    sweep(tmp_path, "sweep.n_trials=5")  # already complete: nothing runs
    assert len(study(tmp_path).trials) == 5
    assert "stopped because the study has its 5 trials" in capsys.readouterr().out


def test_objective_is_best_value_and_best_epoch_is_recorded(tmp_path: Path) -> None:
    sweep(
        tmp_path,
        "+data.overfit=0.5",
        "train.patience=null",
        "sweep.n_trials=2",
        "sweep.enqueue=[{lr: 1.0e-4, num_epochs: 3}, {lr: 2.0e-4, num_epochs: 3}]",
    )
    for trial in study(tmp_path).trials:
        values = [e["val_loss"] for e in trial.user_attrs["evals"]]
        k = values.index(min(values))
        assert 0 < k < len(values) - 1  # best, not last: a V-shaped curve
        # train.select_window=1: the best point of a clean V is its own minimum, valued as the
        # median of it and its neighbours (the better neighbour)
        assert trial.value == min(values[k - 1], values[k + 1]) < values[-1]
        best = trial.user_attrs["best"]
        assert best["best_epoch"] == 1.5 and best["best_epoch_whole"] == 2
        assert best["epochs_trained"] == 3.0 and best["best_step"] == 15
        assert trial.user_attrs["plan"]["num_epochs"] == 3
        assert trial.intermediate_values == {i + 1: v for i, v in enumerate(values)}


def test_early_stopping_fires(tmp_path: Path) -> None:
    sweep(
        tmp_path,
        "+data.overfit=0.5",
        "train.patience=1",
        "sweep.n_trials=1",
        "sweep.enqueue=[{lr: 1.0e-4, num_epochs: 3}]",
    )
    trial = study(tmp_path).trials[0]
    assert trial.state.name == "COMPLETE"
    assert trial.user_attrs["best"]["stop"] == "early_stopping"
    assert trial.user_attrs["best"]["epochs_trained"] == 2.0  # of 3: stopped after one bad eval
    values = [e["val_loss"] for e in trial.user_attrs["evals"]]
    k = values.index(min(values))  # a V: its minimum valued as its better neighbour
    assert trial.value == min(values[k - 1], values[k + 1])


@pytest.mark.parametrize(
    ("warmup", "pruned_at"),
    [("0", 1), ("1", 1), ("2", 2), ("3", 3)],  # steps are 1-based: pruned once step >= warmup
)
def test_clearly_bad_trial_is_pruned_at_its_first_allowed_evaluation(
    warmup: str, pruned_at: int, tmp_path: Path
) -> None:
    # Two good trials finish; then lr=0.3 is far worse at every evaluation: the median pruner
    # stops it at the first evaluation pruner.n_warmup_steps allows.
    sweep(
        tmp_path,
        "pruner=median",
        "train.divergence_factor=null",
        "sweep.n_trials=3",
        "search_space.lr.high=1.0",
        f"pruner.n_warmup_steps={warmup}",
        "sweep.enqueue=[{lr: 1.0e-4, num_epochs: 3}, {lr: 1.2e-4, num_epochs: 3}, "
        "{lr: 0.3, num_epochs: 3}]",
    )
    bad = study(tmp_path).trials[2]
    assert bad.params["lr"] == 0.3
    assert bad.state.name == "PRUNED"
    assert list(bad.intermediate_values) == list(range(1, pruned_at + 1))
    assert bad.user_attrs["reason"].startswith(f"pruned at evaluation {pruned_at}")


def test_diverging_first_trial_stops_without_any_history(tmp_path: Path) -> None:
    sweep(
        tmp_path,
        "pruner=none",
        "sweep.n_trials=1",
        "search_space.lr.high=1.0",
        "sweep.enqueue=[{lr: 0.3, num_epochs: 3}]",
    )
    trial = study(tmp_path).trials[0]
    assert trial.state.name == "PRUNED" and len(trial.user_attrs["evals"]) == 1
    assert "diverged" in trial.user_attrs["reason"]


def test_non_finite_loss_prunes_with_reason_and_the_sweep_goes_on(tmp_path: Path) -> None:
    sweep(
        tmp_path,
        "sweep.n_trials=2",
        "search_space.lr.high=1.0",
        "sweep.enqueue=[{lr: 1.0}, {lr: 1.0e-4}]",
    )
    trials = study(tmp_path).trials
    assert trials[0].state.name == "PRUNED"
    assert trials[0].user_attrs["reason"] == "non-finite loss at step 3"
    assert trials[0].user_attrs["best"]["steps_trained"] == 4  # stopped at once, not after epochs
    assert trials[1].state.name == "COMPLETE"


def test_failing_trial_never_kills_the_sweep(tmp_path: Path) -> None:
    sweep(
        tmp_path,
        "sweep.n_trials=2",
        "+search_space.weight_decay={type: categorical, choices: [0.123, 0.0]}",
        "sweep.enqueue=[{weight_decay: 0.123}, {weight_decay: 0.0}, {weight_decay: 0.0}]",
    )
    trials = study(tmp_path).trials
    assert trials[0].state.name == "FAIL"
    assert trials[0].user_attrs["reason"] == "RuntimeError: scripted failure"
    assert sum(t.state.name == "COMPLETE" for t in trials) == 2  # failures do not count


def test_sweep_that_fails_everywhere_stops_with_the_common_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep(tmp_path, "sweep.n_trials=10", "train.weight_decay=0.123")
    trials = study(tmp_path).trials
    assert len(trials) == 4 and all(t.state.name == "FAIL" for t in trials)
    out = capsys.readouterr().out
    assert "4 of 4 trials failed here" in out and "'RuntimeError: scripted failure' x4" in out


def test_changed_settings_refuse_to_mix_into_a_study(tmp_path: Path) -> None:
    from sweeper.errors import StudyError

    sweep(tmp_path, "sweep.n_trials=1")
    with pytest.raises(
        StudyError, match=r"study 't' was run with other settings: train.weight_decay=0.01 -> 0.05;"
    ):
        sweep(tmp_path, "sweep.n_trials=2", "train.weight_decay=0.05")
    assert (
        sweep(tmp_path, "sweep.n_trials=2", "train.weight_decay=0.05", "sweep.study_name=t2")
        is not None
    )


def test_a_study_recorded_on_another_objective_names_the_setting_that_resumes_it(
    tmp_path: Path,
) -> None:
    # A study swept on val_loss (e.g. before sweep.objective defaulted to auto), run again on
    # the metric: refused with the objective named and the override that resumes it, not only
    # the direction (which says nothing of why).
    from sweeper.errors import StudyError

    sweep(tmp_path, "sweep.n_trials=1", "sweep.objective=val_loss")
    with pytest.raises(StudyError) as err:
        sweep(tmp_path, "sweep.n_trials=2", "sweep.objective=metric")
    message = str(err.value)
    assert "objective=" in message and ":val_loss'" in message
    assert "set sweep.objective=val_loss to resume it" in message
    assert sweep(tmp_path, "sweep.n_trials=2", "sweep.objective=val_loss") is not None
    assert len(study(tmp_path).trials) == 2


def test_a_study_recorded_before_select_window_existed_resumes_with_its_old_behaviour(
    tmp_path: Path,
) -> None:
    # select_window=0 is left out of the fingerprint: what a study recorded before the setting
    # existed holds. The new default refuses it, naming the setting that resumes it.
    from sweeper.errors import StudyError

    sweep(tmp_path, "sweep.n_trials=1", "train.select_window=0")
    assert "select_window" not in study(tmp_path).user_attrs["fingerprint"]["train"]
    with pytest.raises(StudyError) as err:
        sweep(tmp_path, "sweep.n_trials=2")
    message = str(err.value)
    assert "train.select_window=None -> 1" in message
    assert "set train.select_window=0 (as it behaved when the study was recorded)" in message
    assert sweep(tmp_path, "sweep.n_trials=2", "train.select_window=0") is not None
    assert len(study(tmp_path).trials) == 2


def test_metric_objective_maximizes(tmp_path: Path) -> None:
    best = sweep(tmp_path, "sweep.objective=metric", "sweep.n_trials=2")
    s = study(tmp_path)
    assert s.direction.name == "MAXIMIZE"
    assert best == max(t.value for t in s.trials if t.value is not None)


def test_prepare_runs_once_and_trials_share_the_seed(tmp_path: Path) -> None:
    CALLS.clear()
    sweep(tmp_path, "sweep.n_trials=3", "seed=7", "pruner=none")
    assert len(CALLS) == 3 and {c["seed"] for c in CALLS} == {7}
    for call in CALLS:
        assert call["plan"].steps_per_epoch == 10


def test_same_seed_same_suggestions(tmp_path: Path) -> None:
    sweep(tmp_path / "a", "sweep.n_trials=4", "seed=3")
    sweep(tmp_path / "b", "sweep.n_trials=4", "seed=3")
    sweep(tmp_path / "c", "sweep.n_trials=4", "seed=4")
    a, b, c = (study(tmp_path / x) for x in "abc")
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    assert [t.params for t in a.trials] != [t.params for t in c.trials]
    assert all(math.isfinite(t.value) for t in a.trials if t.value is not None)


def test_enqueued_values_must_be_in_the_search_space(tmp_path: Path) -> None:
    from sweeper.errors import ConfigError

    with pytest.raises(
        ConfigError,
        match=r"sweep.enqueue\[0\].lr must be in \[1e-05, 0.0003\] \(search_space.lr\) but got 0.3",
    ):
        sweep(tmp_path, "sweep.enqueue=[{lr: 0.3}]")
    with pytest.raises(
        ConfigError, match=r"sweep.enqueue\[0\].momentum: 'momentum' is not a training setting"
    ):
        sweep(tmp_path, "sweep.enqueue=[{momentum: 0.3}]")


def test_enqueued_settings_not_searched_here_are_ignored_with_a_note(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING")
    sweep(tmp_path, "search_space=none", "sweep.n_trials=1", "sweep.enqueue=[{lr: 1.0e-4}]")
    assert "note: sweep.enqueue[0].lr is not searched here; ignored" in caplog.text
    trial = study(tmp_path).trials[0]
    assert trial.params == {} and trial.state.name == "COMPLETE"


def test_multirun_runs_one_study_per_task(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    args = [a for a in _overrides(tmp_path) if not a.startswith("sweep.study_name")]
    proc = subprocess.run(
        [sys.executable, "-m", "sweeper", "-m", *args, "sweep.n_trials=2", "data.task=sst2,mrpc"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = optuna.get_all_study_names(storage=f"sqlite:///{tmp_path}/optuna.db")
    assert sorted(names) == ["default-mrpc", "default-sst2"]
    for name in names:
        assert len(study(tmp_path, name).trials) == 2
    assert proc.stdout.count("sweep summary:") == 2


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        # Fixed settings: 320 examples at batch 32 are 10 steps an epoch.
        (["search_space=none", "train.num_epochs=2", "train.warmup_steps=25"], r"in \[0, 20\)"),
        # Only the shortest trial of the space (1 epoch) has too few steps for 15 warmup steps.
        (["train.warmup_steps=15"], r"in \[0, 10\) .*but got 15 \(with .*num_epochs=1"),
        # Only the polynomial choice at the lowest learning rate ends above its start.
        (
            ["train.scheduler_kwargs.lr_end=5e-5"],
            r"lr_end must be below the learning rate \(1e-05\) .*scheduler=polynomial",
        ),
    ],
)
def test_settings_wrong_for_the_data_size_fail_before_training(
    extra: list[str], match: str, tmp_path: Path
) -> None:
    from sweeper.errors import ConfigError

    CALLS.clear()
    space = "search_space.scheduler.choices=[linear,polynomial]"
    with pytest.raises(ConfigError, match=match):
        sweep(tmp_path, *extra, *([] if "search_space=none" in extra else [space]))
    assert CALLS == []


def test_a_failed_queued_trial_is_queued_again_when_the_sweep_resumes(tmp_path: Path) -> None:
    # Issue 14 #3: queued sets were added only to a new study, so an interrupted (FAIL) queued
    # trial, e.g. the reference defaults of +experiment=glue, never ran on resume.
    space = "+search_space.weight_decay={type: categorical, choices: [0.123, 0.0]}"
    queued = "sweep.enqueue=[{weight_decay: 0.123}, {weight_decay: 0.0}]"
    sweep(tmp_path, "sweep.n_trials=1", space, queued)
    first = study(tmp_path).trials
    assert [t.params["weight_decay"] for t in first[:2]] == [0.123, 0.0]
    assert first[0].state.name == "FAIL" and first[1].state.name == "COMPLETE"
    sweep(tmp_path, "sweep.n_trials=2", space, queued)
    again = study(tmp_path).trials[len(first) :]
    # The failed set runs again, first; the completed one is not repeated.
    assert again[0].params["weight_decay"] == 0.123
    assert sum(t.params.get("weight_decay") == 0.0 for t in again if t.number < 3) == 0


@pytest.mark.parametrize(
    ("state", "queued_again"),
    [
        ("FAIL", True),
        ("COMPLETE", False),
        ("PRUNED", False),
        ("WAITING", False),
        ("RUNNING", False),
    ],
)
def test_requeue_skips_sets_that_finished_or_are_in_flight(state: str, queued_again: bool) -> None:
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from sweeper.study import requeue

    s = optuna.create_study()
    kwargs: dict[str, Any] = {"state": TrialState[state]}
    if state in ("WAITING",):
        kwargs["system_attrs"] = {"fixed_params": {"lr": 0.1}}
    else:
        kwargs["params"] = {"lr": 0.1}
        kwargs["distributions"] = {"lr": FloatDistribution(0.0, 1.0)}
        kwargs["value"] = 0.5 if state == "COMPLETE" else None
        if state == "PRUNED":
            kwargs["intermediate_values"] = {1: 0.5}
    s.add_trial(create_trial(**kwargs))
    added = requeue(s, [{"lr": 0.1}, {"lr": 0.1}])
    assert added == ([{"lr": 0.1}] if queued_again else [])
    waiting = [t for t in s.get_trials() if t.state.name == "WAITING"]
    assert len(waiting) == (1 if queued_again or state == "WAITING" else 0)


def test_a_changed_scheduler_parameter_refuses_to_resume_and_names_it(tmp_path: Path) -> None:
    # Issue 14 #6: the fingerprint kept only the base scheduler's parameters, so changing
    # num_cycles (used by every cosine trial the search samples) resumed silently.
    from sweeper.errors import StudyError

    sweep(tmp_path, "sweep.n_trials=1", "train.scheduler=linear")
    with pytest.raises(
        StudyError,
        match=r"train.scheduler_kwargs.num_cycles=None -> 2; run it unchanged",
    ):
        sweep(
            tmp_path,
            "sweep.n_trials=2",
            "train.scheduler=linear",
            "train.scheduler_kwargs.num_cycles=2",
        )


def test_the_epoch_range_is_fitted_to_the_data_stated_and_fingerprinted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import logging

    caplog.set_level(logging.INFO, logger="sweeper")
    sweep(tmp_path, "data.builtin.num_train=6000", "sweep.n_trials=2")  # 30000/6000: 5 epochs
    distributions = [t.distributions["num_epochs"] for t in study(tmp_path).trials]
    assert {(d.low, d.high) for d in distributions} == {(1, 5)}
    assert "num_epochs in [1, 5]: fitted to 6,000 training examples" in caplog.text
    recorded = study(tmp_path).user_attrs["fingerprint"]
    assert json.loads(recorded["search_space"])["num_epochs"] == {
        "type": "int",
        "low": 1,
        "high": 5,
    }


@pytest.mark.parametrize(
    ("reasons", "queued_again"),
    [
        (["ValueError: bad"], True),  # one failure: maybe a fluke, run it again
        (["ValueError: bad", "ValueError: bad"], False),  # fails as configured
        (["interrupted (SIGTERM)", "interrupted (SIGINT)"], True),  # stopped from outside
        (["ValueError: bad", "interrupted (SIGINT)"], True),
        (["stale", "stale"], True),  # its worker stopped sending heartbeats
    ],
)
def test_a_queued_set_that_keeps_raising_is_not_queued_again(
    reasons: list[str], queued_again: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # A queued set whose trial raised on every start was queued again on every start, forever.
    from optuna.distributions import FloatDistribution
    from optuna.trial import TrialState, create_trial

    from sweeper.study import requeue
    from sweeper.trial_record import STALE_KEY, STALE_REASON

    s = optuna.create_study()
    for reason in reasons:
        number = len(s.trials)
        s.add_trial(
            create_trial(
                state=TrialState.FAIL,
                params={"lr": 0.1},
                distributions={"lr": FloatDistribution(0.0, 1.0)},
                user_attrs={} if reason == "stale" else {"reason": reason},
            )
        )
        if reason == "stale":
            s.set_user_attr(STALE_KEY.format(number), STALE_REASON)
    caplog.set_level("WARNING", logger="sweeper")
    added = requeue(s, [{"lr": 0.1}])
    assert added == ([{"lr": 0.1}] if queued_again else [])
    if not queued_again:
        assert "queued trial {'lr': 0.1} failed 2 times (last, trial 1: ValueError: bad)" in (
            caplog.text
        )


def test_each_trial_records_where_its_schedule_ends_for_the_pruner(tmp_path: Path) -> None:
    from sweeper.trial_record import FINAL_STEP_KEY

    sweep(tmp_path, "train.evals_per_epoch=2")
    for trial in study(tmp_path).trials:
        epochs = trial.user_attrs["settings"]["num_epochs"]
        assert trial.user_attrs[FINAL_STEP_KEY] == 2 * epochs


def test_an_interrupted_trial_runs_again_with_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 23 #11: after Ctrl-C the interrupted trial stayed FAIL and its sampled settings were
    # never tried again, while a worker killed with -9 had its trial retried (retry_of).
    from optuna.trial import TrialState

    from sweeper.signals import Interrupted
    from tests.fake_objective import QuadraticObjective

    evaluations: list[float] = []
    loss = QuadraticObjective.loss

    def interrupted_at_the_second_evaluation(self: Any, settings: Any, epoch: float) -> float:
        evaluations.append(epoch)
        if len(evaluations) == 2:
            raise Interrupted("SIGINT")
        return loss(self, settings, epoch)

    monkeypatch.setattr(QuadraticObjective, "loss", interrupted_at_the_second_evaluation)
    with pytest.raises(Interrupted):
        sweep(tmp_path)
    cut = study(tmp_path).trials[0]
    assert cut.state == TrialState.FAIL
    assert cut.user_attrs["reason"] == "interrupted (SIGINT)"

    monkeypatch.setattr(QuadraticObjective, "loss", loss)
    sweep(tmp_path)  # the same command again
    trials = study(tmp_path).trials
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == cut.number]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.number == cut.number + 1  # the first trial the resumed sweep ran
    assert retry.params == cut.params
    assert retry.user_attrs["retry_of"] == cut.number
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    assert retry.state in finished
    assert sum(t.state in finished for t in trials) == 3


def test_a_users_own_pruner_and_sampler_run_a_sweep(tmp_path: Path) -> None:
    # Issue 24 #6: a `_target_` outside optuna.* and sweeper.pruners.* was refused, while a
    # user's objective may be any dotted name that imports.
    from optuna.trial import TrialState

    from tests.user_objectives import pruners

    pruners.SEEN.clear()
    sweep(
        tmp_path,
        "pruner=none",
        "pruner._target_=tests.user_objectives.pruners.EveryOtherPruner",
        "+pruner.first_step=1",
        "sampler._target_=tests.user_objectives.pruners.LoggedSampler",
    )
    trials = study(tmp_path).trials
    assert [t.state for t in trials] == [
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.COMPLETE,
    ]
    assert trials[1].last_step == 1
    assert sorted(set(pruners.SEEN)) == [0, 1, 2]
