"""The public API for a loop of your own, and ``objective:`` naming a class or a function."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

import sweeper
from sweeper.config import compose
from sweeper.direction import Direction, direction_of
from sweeper.errors import ConfigError
from sweeper.objective import FunctionObjective, load_objective
from sweeper.run import run
from tests.fake_objective import QuadraticObjective, fake_overrides
from tests.user_objectives import bare, scripted

ROOT = Path(__file__).resolve().parent.parent


def test_import_sweeper_loads_no_heavy_library() -> None:
    heavy = ("torch", "transformers", "mlflow", "optuna", "hydra", "datasets", "numpy")
    code = (
        "import sys, sweeper\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"


def test_every_public_name_exists_and_the_package_is_typed() -> None:
    for name in sweeper.__all__:
        assert getattr(sweeper, name) is not None, name
    assert {"Reporter", "Decision", "TrainSettings", "StepPlan", "build_scheduler"} <= set(
        sweeper.__all__
    )
    assert (Path(sweeper.__file__).parent / "py.typed").is_file()


def _settings(**changes: object) -> sweeper.TrainSettings:
    train = dict(compose([]).train)
    train.update(seed=0, **changes)
    return sweeper.TrainSettings.from_mapping(train)


def _lrs(scheduler: object, optimizer: object, steps: int) -> list[float]:
    lrs = []
    for _ in range(steps):
        lrs.append(float(scheduler.get_last_lr()[0]))  # type: ignore[attr-defined]
        optimizer.step()  # type: ignore[attr-defined]
        scheduler.step()  # type: ignore[attr-defined]
    return lrs


@pytest.mark.parametrize(
    ("name", "accum"), [("linear", 1), ("cosine", 3), ("polynomial", 2), ("constant", 1)]
)
def test_build_scheduler_is_transformers_get_scheduler_over_the_plan(name: str, accum: int) -> None:
    import torch
    from transformers import get_scheduler

    settings = _settings(
        scheduler=name, lr=1e-3, warmup_ratio=0.15, num_epochs=3, batch_size=8, grad_accum=accum
    )
    plan = settings.plan(100)
    # The usual recipe's arithmetic, written out: 13 batches, ceil(13 / accum) updates an epoch.
    total = 3 * math.ceil(math.ceil(100 / 8) / accum)
    assert plan.num_training_steps == total
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    got = _lrs(sweeper.build_scheduler(opt, settings=settings, plan=plan), opt, total)
    ref_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    reference = get_scheduler(
        name,
        ref_opt,
        num_warmup_steps=math.ceil(0.15 * total),
        num_training_steps=total,
        scheduler_specific_kwargs=settings.active_scheduler_kwargs(),
    )
    assert got == pytest.approx(_lrs(reference, ref_opt, total), rel=1e-12)


def test_build_scheduler_offers_sweepers_own_types() -> None:
    import torch

    settings = _settings(scheduler="step", lr=1.0, warmup_steps=0, num_epochs=3, batch_size=10)
    settings = settings.replace({"scheduler_kwargs.gamma": 0.5})
    plan = settings.plan(20)  # 2 updates an epoch
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    lrs = _lrs(sweeper.build_scheduler(opt, settings=settings, plan=plan), opt, 6)
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_a_class_path_is_its_own_factory() -> None:
    assert load_objective("tests.fake_objective.QuadraticObjective") is QuadraticObjective


@pytest.mark.parametrize("path", ["tests.user_objectives.bare.train", "tests.user_objectives.bare"])
def test_a_function_or_its_module_builds_a_function_objective(path: str) -> None:
    objective = load_objective(path)(data={}, model={"name_or_path": "m"}, seed=1)
    assert isinstance(objective, FunctionObjective)
    assert objective.train_fn is bare.train
    info = objective.prepare()  # no prepare() in the module: what sweeper can say without one
    assert (info.task, info.num_train, info.metric, info.model) == ("bare", 0, "val_loss", "m")


def test_a_function_objective_sweeps_and_prepare_gets_the_keywords_it_asks_for(
    tmp_path: Path,
) -> None:
    scripted.PREPARED.clear()
    overrides = fake_overrides(
        tmp_path,
        "objective=tests.user_objectives.scripted.train",
        "tracking=none",
        "sweep.n_trials=2",
        "sweep.study_name=fn",
        "seed=7",
    )
    run(compose(overrides))
    assert len(scripted.PREPARED) == 1
    assert scripted.PREPARED[0]["seed"] == 7
    assert scripted.PREPARED[0]["data"]["builtin"]["num_train"] == 320
    study = optuna.load_study(study_name="fn", storage=f"sqlite:///{tmp_path}/optuna.db")
    states = [t.state for t in study.trials]
    assert states and all(s.is_finished() for s in states) and len(states) == 2
    assert study.user_attrs["task_info"]["num_train"] == 320


@pytest.mark.parametrize(
    ("monitor", "declared", "direction"),
    [
        ("val_loss", None, "minimize"),
        ("val_loss", "maximize", "minimize"),  # the declaration is the metric's, not the loss's
        ("accuracy", None, "maximize"),
        ("eval_loss", None, "minimize"),
        ("rmse", None, "maximize"),  # undeclared: the name rule, which knows no error metrics
        ("rmse", "minimize", "minimize"),
        ("wer", "minimize", "minimize"),
        ("bleu_loss", "maximize", "maximize"),
    ],
)
def test_a_declared_metric_direction_wins_over_the_name_rule(
    monitor: str, declared: Direction | None, direction: str
) -> None:
    assert direction_of(monitor, declared=declared) == direction


def test_task_info_refuses_an_unknown_direction() -> None:
    fields = {"task": "t", "source": "s", "origin": "o", "model": "m", "num_train": 1}
    info = {**fields, "num_eval": 1, "metric": "rmse", "metric_direction": "lower"}
    with pytest.raises(ConfigError, match=r"metric_direction must be one of .* but got 'lower'"):
        sweeper.TaskInfo(**info)  # type: ignore[arg-type]


def test_an_error_metric_declared_minimize_is_minimized(tmp_path: Path) -> None:
    overrides = fake_overrides(
        tmp_path,
        "objective=tests.user_objectives.rmse.train",
        "tracking=none",
        "sweep.objective=metric",
        "sweep.n_trials=3",
        "sweep.study_name=rmse",
        "sweep.enqueue=[{lr: 1.0e-4}, {lr: 3.0e-4}, {lr: 1.0e-5}]",
        "train.patience=null",
        "train.select_window=0",  # the plain best evaluation: the direction alone decides it
    )
    run(compose(overrides))
    study = optuna.load_study(study_name="rmse", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert study.user_attrs["task_info"]["monitor"] == "rmse"
    # Each complete trial's value is its lowest rmse, not its highest (a pruned one's is its
    # last, as Optuna records it: lr=1e-5 is cut past half its schedule, worse than where the
    # others started).
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) >= 2
    for trial in complete:
        assert trial.value == pytest.approx(min(trial.intermediate_values.values()))
    assert study.best_trial.params["lr"] == pytest.approx(1.0e-4)


def test_a_function_without_prepare_sweeps_too(tmp_path: Path) -> None:
    overrides = fake_overrides(
        tmp_path,
        "objective=tests.user_objectives.bare.train",
        "tracking=none",
        "sweep.n_trials=1",
        "sweep.study_name=bare",
    )
    run(compose(overrides))
    study = optuna.load_study(study_name="bare", storage=f"sqlite:///{tmp_path}/optuna.db")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE]
    assert study.trials[0].value is not None
    assert study.user_attrs["task_info"]["task"] == "bare"
    # A user objective may tell no chance level (TaskInfo.chance is optional): none recorded,
    # and nothing is judged against one.
    assert study.user_attrs["task_info"]["chance"] == {}


@pytest.mark.parametrize(
    ("task", "train", "evaluated", "expected"),
    [
        # Balanced binary: the prior's cross-entropy is ln 2; MCC 0.
        ("cola", [0, 1, 0, 1], [1, 0, 0, 1], {"val_loss": math.log(2), "matthews_corr": 0.0}),
        # 3 of 4 positive (counts + 0.5: 3.5 / 5 and 1.5 / 5); majority class 1.
        (
            "mrpc",
            [1, 1, 1, 0],
            [1, 0],
            {"val_loss": -(math.log(0.7) + math.log(0.3)) / 2, "accuracy": 0.5, "f1": 2 / 3},
        ),
        # Regression: the training mean (2.0) predicted; MSE around it, correlations 0.
        ("stsb", [1.0, 3.0], [0.0, 4.0], {"val_loss": 4.0, "pearson": 0.0, "spearman": 0.0}),
    ],
)
def test_the_glue_objectives_chance_levels(
    task: str, train: list[float], evaluated: list[float], expected: dict[str, float]
) -> None:
    from objectives.glue.examples import Split
    from objectives.glue.metrics import chance_metrics
    from objectives.glue.tasks import get_task

    split = Split(text_a=[""] * len(evaluated), text_b=None, labels=evaluated)
    got = chance_metrics(get_task(task), train, split)
    assert got == pytest.approx({**got, **expected})
