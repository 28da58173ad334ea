"""Recommendation: seeds, epochs and confirmation, the config it writes, cross-task regret."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml
from mlflow import MlflowClient

from sweeper.config import compose
from sweeper.errors import StudyError
from sweeper.recommend import (
    Recommendation,
    SharedRecommendation,
    confirm_seeds_flag,
    recommend,
    regret,
)
from sweeper.run import run
from sweeper.train import train
from tests.fake_objective import fake_overrides


def _base(root: Path, *extra: str) -> list[str]:
    return fake_overrides(
        root,
        "search_space.num_epochs.low=3",
        "search_space.num_epochs.high=3",
        "train.patience=null",
        *extra,
    )


def _rec_overrides(root: Path, *extra: str) -> list[str]:
    return [
        *_base(root, *extra),
        "recommend.top_k=2",
        "recommend.confirm_seeds=2",
        f"recommend.config_dir={root}/conf/recommended",
    ]


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rec")
    # Overfitting past epoch 1.5 only slightly: a 2-epoch schedule holds.
    run(compose(_base(root, "+data.overfit=0.02", "sweep.n_trials=6")))
    return root


def test_writes_a_config_that_runs_as_written(swept: Path) -> None:
    rec = recommend(compose(_rec_overrides(swept, "+data.overfit=0.02")))
    assert isinstance(rec, Recommendation)
    study = optuna.load_study(study_name="default-sst2", storage=f"sqlite:///{swept}/optuna.db")
    best = study.best_trial
    assert len(rec.candidates) == 2
    assert all(len(c.runs) == 2 for c in rec.candidates)
    assert rec.candidates[0].runs[0].from_trial == best.number  # seed 1 of a candidate: the trial
    assert rec.candidates[0].runs[0].best_value == best.value
    assert rec.horizon == 3
    assert rec.epochs == 2  # best at epoch 1.5 -> 2 whole epochs
    assert "holds" in rec.verdict and len(rec.confirmation) == 2
    assert rec.config_path is not None
    text = rec.config_path.read_text()
    assert text.startswith("# @package _global_\n")
    delta = yaml.safe_load(text)["train"]
    assert delta["num_epochs"] == 2 and delta["patience"] is None
    assert delta["lr"] == rec.chosen.trial.params["lr"]
    # The written config runs as written (its header gives this command).
    assert "+recommended=default_sst2" in text
    out = train(
        compose(
            [
                *_base(swept, "+data.overfit=0.02"),
                f"hydra.searchpath=[file://{swept}/conf]",
                "+recommended=default_sst2",
            ]
        )
    )
    assert out.stop == "completed" and out.epochs_trained == 2.0


def test_peak_at_the_horizon_reuses_the_seed_runs_and_says_so(tmp_path: Path) -> None:
    # No overfitting: every run is best at its last evaluation, the schedule's end.
    run(compose(_base(tmp_path, "+data.overfit=0.0", "sweep.n_trials=3")))
    rec = recommend(compose(_rec_overrides(tmp_path, "+data.overfit=0.0")))
    assert isinstance(rec, Recommendation)
    assert rec.epochs == rec.horizon == 3 and rec.confirmation == rec.chosen.runs
    assert rec.report_path is not None
    report = rec.report_path.read_text()
    assert "own seed runs (its 3-epoch schedule" in report and "Retrained" not in report


def test_report_numbers_match_the_study_and_mlflow(swept: Path) -> None:
    rec = recommend(compose(_rec_overrides(swept, "+data.overfit=0.02")))
    assert isinstance(rec, Recommendation)
    assert rec.report_path is not None
    report = rec.report_path.read_text()
    study = optuna.load_study(study_name="default-sst2", storage=f"sqlite:///{swept}/optuna.db")
    assert f"| {study.best_trial.number} |" in report
    assert f"{study.best_value:.4f}" in report
    for section in (
        "## Recommendation",
        "## Robustness over seeds",
        "## Confirmation",
        "## Top trials",
        "## Parameter importances",
        "## Pruned and failed trials",
    ):
        assert section in report
    for png in ("best_epochs.png", "lr_curves_top.png", "warmup_vs_val_loss.png"):
        assert (rec.report_path.parent / png).stat().st_size > 5_000
    parent = study.user_attrs["mlflow_parent_run_id"]
    client = MlflowClient(tracking_uri=f"sqlite:///{swept}/mlflow.db")
    names = {a.path for a in client.list_artifacts(parent, "recommendation")}
    assert "recommendation/report.md" in names
    metrics = client.get_run(parent).data.metrics
    assert metrics["rec_num_epochs"] == rec.epochs
    assert metrics["rec_seed_median"] == pytest.approx(rec.chosen.median)


def test_clearly_worse_short_schedule_keeps_the_horizon(tmp_path: Path) -> None:
    run(compose(_base(tmp_path, "+data.overfit=0.5", "sweep.n_trials=3")))
    rec = recommend(compose(_rec_overrides(tmp_path, "+data.overfit=0.5")))
    assert isinstance(rec, Recommendation)
    assert "clearly worse" in rec.verdict
    assert rec.epochs == rec.horizon == 3


def test_no_complete_trial_and_unknown_study_are_clear_errors(tmp_path: Path) -> None:
    run(compose(_base(tmp_path, "sweep.n_trials=10", "train.weight_decay=0.123")))  # all fail
    with pytest.raises(StudyError, match=r"study 'default-sst2' has no complete trial \(4 trials"):
        recommend(compose(_rec_overrides(tmp_path, "train.weight_decay=0.123")))
    with pytest.raises(StudyError, match=r"sweep.study_name='nope': no such study.*default-sst2"):
        recommend(compose(_rec_overrides(tmp_path, "sweep.study_name=nope")))


def test_cli_error_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from sweeper.recommend import main

    assert main(_rec_overrides(tmp_path, "sweep.study_name=nope")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: sweep.study_name='nope': no such study") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("value", "best", "direction", "expected"),
    [(0.55, 0.5, "minimize", 0.1), (0.5, 0.5, "minimize", 0.0), (0.8, 0.9, "maximize", 1 / 9)],
)
def test_regret(value: float, best: float, direction: str, expected: float) -> None:
    assert regret(value, best, direction) == pytest.approx(expected)


def test_shared_defaults_across_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for task in ("sst2", "mrpc"):
        run(compose(_base(tmp_path, f"data.task={task}", "sweep.n_trials=5")))
    rec = recommend(
        compose(_rec_overrides(tmp_path, "recommend.studies=[default-sst2,default-mrpc]"))
    )
    assert isinstance(rec, SharedRecommendation)
    printed = capsys.readouterr().out
    assert "study" in printed and "default-mrpc" in printed and "regret" in printed
    worst = max(row["regret"] for row in rec.table)
    assert worst == min(c["worst_regret"] for c in rec.candidates)
    assert all(row["regret"] >= -1e-12 or row["shared"] <= row["own_best"] for row in rec.table)
    assert rec.config_path is not None and rec.config_path.name == "default_shared.yaml"
    assert (
        rec.report_path is not None
        and "least worst-case relative regret" in rec.report_path.read_text()
    )
    # Logged to both studies' MLflow parent runs, each with its own regret.
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
    for row in rec.table:
        study = optuna.load_study(
            study_name=row["study"], storage=f"sqlite:///{tmp_path}/optuna.db"
        )
        parent = str(study.user_attrs["mlflow_parent_run_id"])
        names = {a.path for a in client.list_artifacts(parent, "recommendation-shared")}
        assert names == {
            "recommendation-shared/report.md",
            "recommendation-shared/default_shared.yaml",
        }
        assert client.get_run(parent).data.metrics["shared_regret"] == pytest.approx(row["regret"])


@pytest.mark.slow
def test_on_a_small_real_sweep_of_shared_sst2(
    tmp_path: Path, tiny_model_dir: Path, glue_dir: Path
) -> None:
    """The real objective on real SST-2 (tiny model, small subsets): config and report written,
    the report's numbers are the study's, the config runs as written."""
    from tests.conftest import tiny_overrides

    root = tmp_path / "runs"
    overrides = tiny_overrides(
        root,
        tiny_model_dir,
        "+experiment=glue",
        "data=glue",
        f"data.glue_dir={glue_dir}",
        "data.max_train_samples=128",
        "data.max_eval_samples=64",
        "train.batch_size=16",
        "sweep.n_trials=3",
        "sweep.enqueue=[]",
    )
    run(compose(overrides))
    rec = recommend(
        compose(
            [
                *overrides,
                "recommend.top_k=2",
                "recommend.confirm_seeds=2",
                f"recommend.config_dir={tmp_path}/conf/recommended",
            ]
        )
    )
    assert isinstance(rec, Recommendation)
    study = optuna.load_study(study_name="glue-sst2", storage=f"sqlite:///{root}/optuna.db")
    assert study.user_attrs["task_info"]["source"] == "glue_dir"
    assert rec.candidates[0].runs[0].best_value == study.best_value
    assert all(len(c.runs) == 2 for c in rec.candidates)
    assert rec.report_path is not None and rec.config_path is not None
    report = rec.report_path.read_text()
    assert "from **glue_dir**" in report and f"{study.best_value:.4f}" in report
    # The command written for it: the sweep's overrides minus those the config sets (the
    # sweep's train.num_epochs=2 would beat the recommended value), then the config.
    import shlex

    from sweeper.recommend import config_delta, use_command

    use = use_command(rec.config_path, overrides, delta=config_delta(rec.settings, keys=[]))
    args = shlex.split(use)[3:]
    assert "train.num_epochs=2" not in args and args[-1] == "+recommended=glue_sst2"
    out = train(compose(args))
    assert out.epochs_trained == rec.epochs and out.stop == "completed"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--confirm-seeds", "5", "data.task=mrpc"],
            ["recommend.confirm_seeds=5", "data.task=mrpc"],
        ),
        (["--confirm-seeds=0"], ["recommend.confirm_seeds=0"]),
        (["recommend.top_k=2"], ["recommend.top_k=2"]),
    ],
)
def test_confirm_seeds_flag_is_the_override(args: list[str], expected: list[str]) -> None:
    assert confirm_seeds_flag(args) == expected


def test_confirm_seeds_flag_without_a_value_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sweeper.recommend import main

    assert main(["+experiment=glue", "--confirm-seeds"]) == 2
    assert capsys.readouterr().err == (
        "error: --confirm-seeds needs a number of seeds but got nothing.\n"
    )
