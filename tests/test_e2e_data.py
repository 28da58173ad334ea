"""End to end on your own data: a tiny sweep of a CSV classification task, a CSV regression
task and a local hub-layout dataset, through the same objective as GLUE. Marked slow."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.config import compose
from sweeper.recommend import recommend
from sweeper.recommend.selection import Recommendation
from sweeper.run import run
from tests.conftest import tiny_overrides
from tests.data_fixtures import make_hub_repo, rows, write

pytestmark = pytest.mark.slow


def _study(root: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{root}/optuna.db")


def test_csv_classification_sweep_resumes_from_the_tokenized_cache(
    tmp_path: Path, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train = write(tmp_path / "data" / "train.csv", rows(96, task="multiclass", pair=True))
    test = write(tmp_path / "data" / "test.csv", rows(24, seed=5, task="multiclass", pair=True))
    root = tmp_path / "runs"
    overrides = tiny_overrides(
        root,
        tiny_model_dir,
        "data=files",
        "data.task=reviews",
        f"data.train_file={train}",
        f"data.test_file={test}",
        "data.validation=from_train",
        "data.validation_size=24",
        "data.text_columns=[text,context]",
        "sweep.n_trials=2",
    )
    caplog.set_level("INFO")
    best = run(compose(overrides))
    assert best is not None
    assert (
        "task reviews: classification, 3 classes ['mixed', 'neg', 'pos'] (inferred" in caplog.text
    )
    study = _study(root, "default-reviews")
    info = study.user_attrs["task_info"]
    assert info["source"] == "files" and info["metric"] == "accuracy"
    assert info["num_train"] == 72 and info["num_eval"] == 24
    assert info["label_mapping"] == {"mixed": 0, "neg": 1, "pos": 2}
    assert info["task_type"] == "classification"
    evals = next(t for t in study.trials if t.state.name == "COMPLETE").user_attrs["evals"]
    assert {"val_loss", "accuracy", "macro_f1", "test_loss", "test_accuracy"} <= set(evals[0])
    client = MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    parent = client.get_run(study.user_attrs["tracking_parent_run_id"])
    assert json.loads(parent.data.tags["sweeper.label_mapping"]) == info["label_mapping"]
    # The same command with a larger target resumes the study on the cached tokenization.
    caplog.clear()
    run(compose([*overrides, "sweep.n_trials=3"]))
    assert "tokenized data: cache hit" in caplog.text
    assert len(_study(root, "default-reviews").trials) == 3


def test_csv_regression_sweep(tmp_path: Path, tiny_model_dir: Path) -> None:
    train = write(tmp_path / "train.csv", rows(64, task="regression"))
    dev = write(tmp_path / "dev.csv", rows(24, seed=2, task="regression"))
    root = tmp_path / "runs"
    overrides = tiny_overrides(
        root,
        tiny_model_dir,
        "data=files",
        "data.task=scores",
        f"data.train_file={train}",
        f"data.validation_file={dev}",
        "sweep.objective=metric",
        "sweep.n_trials=2",
        "tracking=none",
    )
    best = run(compose(overrides))
    study = _study(root, "default-scores")
    assert study.direction.name == "MAXIMIZE"
    assert best is not None and -1.0 <= best <= 1.0  # Pearson correlation
    assert study.user_attrs["task_info"]["metric"] == "pearson"
    assert study.user_attrs["task_info"]["task_type"] == "regression"
    evals = next(t for t in study.trials if t.state.name == "COMPLETE").user_attrs["evals"]
    assert {"val_loss", "pearson", "spearman"} <= set(evals[0])
    # The recommendation re-runs the best trial on the same files and writes its config.
    rec = recommend(
        compose(
            [
                *overrides,
                "recommend.top_k=1",
                "recommend.confirm_seeds=1",
                f"recommend.config_dir={tmp_path}/conf/recommended",
            ]
        )
    )
    assert isinstance(rec, Recommendation) and rec.config_path is not None
    assert rec.config_path.is_file() and rec.chosen.runs


def test_local_hub_layout_dataset_sweep(tmp_path: Path, tiny_model_dir: Path) -> None:
    repo = make_hub_repo(tmp_path / "repo", n_train=64, n_eval=16)
    root = tmp_path / "runs"
    run(
        compose(
            tiny_overrides(
                root,
                tiny_model_dir,
                "data=hub",
                "data.task=local-reviews",
                f"data.hub_id={repo}",
                "data.hub_config=reviews",
                "data.validation_split=dev",
                "data.text_columns=[review]",
                f"data.hub_cache_dir={tmp_path / 'hf'}",
                "sweep.n_trials=2",
                "tracking=none",
            )
        )
    )
    study = _study(root, "default-local-reviews")
    info = study.user_attrs["task_info"]
    assert info["source"] == "hub" and info["origin"] == f"{repo} (reviews)"
    assert info["num_train"] == 64 and info["num_eval"] == 16
    assert info["label_mapping"] == {"neg": 0, "pos": 1}
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 2
    evals = next(t for t in study.trials if t.state.name == "COMPLETE").user_attrs["evals"]
    assert {"accuracy", "f1"} <= set(evals[0])


def _csv_overrides(tmp_path: Path, model: Path, train: Path, dev: Path, n: int) -> list[str]:
    return tiny_overrides(
        tmp_path / "runs",
        model,
        "data=files",
        "data.task=reviews",
        f"data.train_file={train}",
        f"data.validation_file={dev}",
        f"sweep.n_trials={n}",
        "tracking=none",
    )


def test_a_data_file_edited_in_place_refuses_to_resume(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    # The fingerprint held the data's sizes only: a file edited in place, with the same number
    # of rows, resumed the study silently and mixed trials of two data sets.
    from sweeper.errors import StudyError

    table = rows(48)
    train = write(tmp_path / "train.csv", table)
    dev = write(tmp_path / "dev.csv", rows(16, seed=3))
    run(compose(_csv_overrides(tmp_path, tiny_model_dir, train, dev, 1)))
    table[0] = {**table[0], "text": table[0]["text"] + " indeed"}  # one row edited
    write(train, table)
    with pytest.raises(StudyError, match=r"data\.content='[0-9a-f]{16}' -> '[0-9a-f]{16}'"):
        run(compose(_csv_overrides(tmp_path, tiny_model_dir, train, dev, 2)))
    assert len(_study(tmp_path / "runs", "default-reviews").trials) == 1  # nothing added


def test_a_study_recorded_before_content_digests_still_resumes(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    train = write(tmp_path / "train.csv", rows(48))
    dev = write(tmp_path / "dev.csv", rows(16, seed=3))
    run(compose(_csv_overrides(tmp_path, tiny_model_dir, train, dev, 1)))
    study = _study(tmp_path / "runs", "default-reviews")
    recorded = dict(study.user_attrs["fingerprint"])
    data = json.loads(recorded["data"])
    assert len(data.pop("content")) == 16
    study.set_user_attr("fingerprint", {**recorded, "data": json.dumps(data, sort_keys=True)})
    run(compose(_csv_overrides(tmp_path, tiny_model_dir, train, dev, 2)))
    assert len(_study(tmp_path / "runs", "default-reviews").trials) == 2
