"""The seed race (sweeper.seedrace): early evaluation, who is kept, failure counts, the command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sweeper.config import compose
from sweeper.errors import ConfigError
from sweeper.objective import TaskInfo
from sweeper.seedrace import early_evaluation, race, seed_race
from sweeper.settings import TrainSettings
from tests.fake_objective import QuadraticObjective, fake_overrides


class FlakySeeds(QuadraticObjective):
    """Seeds divisible by 3 learn nothing (accuracy stays at the 0.5 chance level)."""

    def prepare(self) -> TaskInfo:
        info = super().prepare()
        return TaskInfo(**{**vars(info), "chance": {"accuracy": 0.5}})

    def loss(self, settings: TrainSettings, epoch: float) -> float:
        if settings.seed % 3 == 0:
            return 0.5
        return super().loss(settings, epoch)


@pytest.mark.parametrize(
    ("epochs", "per_epoch", "early", "expected"),
    [(4, 2, 0.25, 2), (1, 1, 0.25, 1), (3, 2, 0.5, 3), (2, 2, 0.99, 4), (10, 1, 0.01, 1)],
)
def test_the_early_evaluation_rounds_up(
    epochs: int, per_epoch: int, early: float, expected: int
) -> None:
    settings = TrainSettings.from_mapping(
        {**_train(), "num_epochs": epochs, "evals_per_epoch": per_epoch}
    )
    assert early_evaluation(settings, early=early) == expected


def _train(**extra: Any) -> dict[str, Any]:
    from sweeper.checks import check

    checked = check(compose(fake_overrides("/tmp/unused", "tracking=none")))
    return {**checked.train.as_params(), **extra}


def test_failing_seeds_are_dropped_early_and_counted() -> None:
    settings = TrainSettings.from_params(
        _train(num_epochs=4, evals_per_epoch=2, patience=None, lr=1e-4)
    )
    objective = FlakySeeds(data={"builtin": {"num_train": 320}, "overfit": 0.0}, model={}, seed=0)
    objective.prepare()
    result = race(
        objective,
        settings,
        seeds=range(6),
        keep=2,
        early=0.25,
        monitor="val_loss",
        metric="accuracy",
        levels={"accuracy": 0.5},
        device="cpu",
    )
    assert result.early_eval == 2 and result.early_epoch == 1.0
    by_seed = {s.seed: s for s in result.seeds}
    assert {s.seed for s in result.kept} <= {1, 2, 4, 5} and len(result.kept) == 2
    assert not by_seed[0].kept and not by_seed[3].kept  # stuck at chance: worst early loss
    assert result.failures == 2 and result.failed(by_seed[0]) and not result.failed(result.kept[0])
    # Compute: dropped seeds trained to the early evaluation, kept ones that plus a full run.
    assert by_seed[0].epochs == 1.0
    assert all(s.epochs == 1.0 + 4.0 for s in result.kept)
    assert result.epochs == 4 * 1.0 + 2 * 5.0
    text = "\n".join(result.lines())
    assert "failures: 2 of 6 judged seeds (33%)" in text and "some seeds fail" in text


def test_the_command_races_the_configured_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    overrides = fake_overrides(
        tmp_path,
        "tracking=none",
        "objective=tests.test_seedrace.FlakySeeds",
        "train.num_epochs=2",
        "train.lr=1e-4",
        "race.seeds=4",
        "race.keep=1",
        "+data.overfit=0.0",
    )
    result = seed_race(compose(overrides))
    assert [s.seed for s in result.seeds] == [42, 43, 44, 45]  # train.seed upward
    assert result.failures == 2  # 42 and 45
    out = capsys.readouterr().out
    assert "seed 42: early val_loss" in out and "FAILED (near chance)" in out
    assert "failures: 2 of 4 judged seeds (50%)" in out
    with pytest.raises(ConfigError, match=r"race.keep must be <= race.seeds \(4\) but got 5"):
        seed_race(compose([*overrides, "race.keep=5"]))
    with pytest.raises(ConfigError, match=r"race.early"):
        seed_race(compose([*overrides, "race.early=1.5"]))


class PlateauThenLearns(QuadraticObjective):
    """Every seed sits at chance for its first 1.5 epochs (three evaluations), then learns: a
    small-data curve."""

    def prepare(self) -> TaskInfo:
        info = super().prepare()
        return TaskInfo(**{**vars(info), "chance": {"val_loss": 0.69, "accuracy": 0.31}})

    def loss(self, settings: TrainSettings, epoch: float) -> float:
        return 0.69 - 0.1 * max(0.0, epoch - 1.5)


def test_a_seed_on_its_plateau_at_chance_is_not_early_stopped_before_it_learns() -> None:
    # patience 2: without the chance level, early stopping ended every seed at its third
    # evaluation (epoch 1.5), still at chance, and the race called them all failed.
    settings = TrainSettings.from_params(
        _train(num_epochs=4, evals_per_epoch=2, patience=2, lr=1e-4)
    )
    objective = PlateauThenLearns(data={"builtin": {"num_train": 320}}, model={}, seed=0)
    result = race(
        objective,
        settings,
        seeds=[1, 2],
        keep=1,
        early=0.25,
        monitor="val_loss",
        metric="accuracy",
        levels=objective.prepare().chance,
        device="cpu",
    )
    (kept,) = result.kept
    assert kept.epochs == 1.0 + 4.0  # the early run, then the whole schedule
    assert kept.final_metric == pytest.approx(1 - (0.69 - 0.25))
    # The dropped seed was at chance at the early evaluation, as the kept one that learned
    # later: undecided, not failed.
    (dropped,) = [s for s in result.seeds if not s.kept]
    assert result.undecided(dropped) and result.failed(dropped) is None
    assert result.failures == 0 and result.undecided_count == 1
    text = "\n".join(result.lines())
    assert "failures: 0 of 1 judged seeds (0%)" in text and "1 undecided" in text


def test_every_training_path_states_the_chance_level_it_runs_with() -> None:
    # new_reporter has no default for it: a path that forgets it does not run (the seed race,
    # recommend's seed runs and `sweeper.train` once early-stopped small-data runs at chance).
    import inspect

    from sweeper.train_once import new_reporter

    chance = inspect.signature(new_reporter).parameters["chance"]
    assert chance.kind is inspect.Parameter.KEYWORD_ONLY
    assert chance.default is inspect.Parameter.empty


def test_no_chance_level_no_failure_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    settings = TrainSettings.from_params(_train(num_epochs=2, patience=None, lr=1e-4))
    objective = QuadraticObjective(data={}, model={}, seed=0)
    objective.prepare()
    result = race(
        objective,
        settings,
        seeds=[1, 2],
        keep=1,
        early=0.5,
        monitor="accuracy",
        metric="accuracy",
        levels={},
        device="cpu",
    )
    assert result.failures == 0 and "not judged" in "\n".join(result.lines())
    # The race monitors the metric itself: each value is shown once, not as monitor and metric.
    (dropped,) = [s for s in result.seeds if not s.kept]
    line = next(x for x in result.lines() if x.strip().startswith(f"seed {dropped.seed}:"))
    assert line.count("accuracy") == 1


@pytest.mark.parametrize(
    ("task", "train", "evaluated", "expected"),
    [
        ("mrpc", [1, 1, 0], [1, 0, 1, 1], {"accuracy": 0.75, "f1": 6 / 7}),
        ("cola", [0, 1, 1], [1, 0], {"matthews_corr": 0.0}),
        ("sst2", [0, 0, 1], [0, 1, 1, 1], {"accuracy": 0.25}),
    ],
)
def test_chance_metrics_are_the_best_constant_prediction(
    task: str, train: list[int], evaluated: list[int], expected: dict[str, float]
) -> None:
    from objectives.glue.examples import Split
    from objectives.glue.metrics import chance_metrics
    from objectives.glue.tasks import get_task

    got = chance_metrics(
        get_task(task), train, Split(text_a=[""] * len(evaluated), text_b=None, labels=evaluated)
    )
    for key, value in expected.items():
        assert got[key] == pytest.approx(value)


@pytest.mark.slow
def test_the_glue_objective_reports_its_chance_level(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = seed_race(
        compose(
            [
                f"results_dir={tmp_path}",
                "data=builtin",
                "data.builtin.num_train=96",
                "data.builtin.num_eval=32",
                f"model.name_or_path={tiny_model_dir}",
                "tracking=none",
                "quiet=true",
                "train.num_epochs=2",
                "race.seeds=3",
                "race.keep=1",
            ]
        )
    )
    assert result.chance is not None and 0.0 < result.chance < 1.0  # majority-class accuracy
    assert len(result.seeds) == 3 and len(result.kept) == 1
    assert "ended within 0.02 of chance (accuracy" in capsys.readouterr().out
