"""The portfolio start: published recipes fitted to the space, queued after sweep.enqueue."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import optuna
import pytest

from sweeper.checks import check, fit_to_data
from sweeper.config import compose
from sweeper.errors import ConfigError, StudyError
from sweeper.portfolio import RECIPES, Fitted, Recipe, fit, load_recipes, start, start_cap
from sweeper.run import run
from sweeper.settings import TrainSettings
from sweeper.space import parse_space
from tests.fake_objective import fake_overrides

DEFAULT_SPACE = {
    "lr": {"type": "float", "low": 1e-5, "high": 3e-4, "log": True},
    "warmup_ratio": {"type": "float", "low": 0.05, "high": 0.2},
    "num_epochs": {"type": "int", "low": 1, "high": 20},
    "scheduler": {"type": "categorical", "choices": ["linear", "cosine"]},
}


def _fit(space: dict[str, Any], base_train: dict[str, Any], num_train: int = 1000) -> list[Fitted]:
    fitted, _ = fit(
        RECIPES,
        space=parse_space(space),
        num_train=num_train,
        train=TrainSettings.from_mapping(base_train),
    )
    return fitted


def test_the_recipes_fit_a_small_data_space_as_published(base_train: dict[str, Any]) -> None:
    space = {**DEFAULT_SPACE, "batch_size": {"type": "categorical", "choices": [16, 32]}}
    fitted = {f.name: f for f in _fit(space, base_train)}
    # All six; on small data most optimizer steps first (1,000 examples: Mosbach's 20 epochs
    # at batch 16, then 10 epochs at 16 before 32, the 3-epoch batch-32 BERT runs last).
    assert list(fitted) == [
        "mosbach-2e-5",
        "roberta-1e-5",
        "roberta-2e-5",
        "bert-2e-5",
        "bert-3e-5",
        "bert-5e-5",
    ]
    assert fitted["mosbach-2e-5"].params == {
        "lr": 2e-5,
        "warmup_ratio": 0.1,
        "num_epochs": 20,
        "scheduler": "linear",
        "batch_size": 16,
    }
    assert fitted["roberta-2e-5"].params["num_epochs"] == 10
    assert fitted["roberta-2e-5"].params["warmup_ratio"] == 0.06
    assert fitted["bert-2e-5"].params["batch_size"] == 32
    # weight_decay is not searched: the trial trains with train.weight_decay, and says so.
    assert fitted["bert-2e-5"].changes == ("not searched: weight_decay (train values)",)


def test_at_12k_examples_the_long_recipes_collapse_to_the_fitted_3_epochs(
    base_train: dict[str, Any],
) -> None:
    checked = fit_to_data(
        check(compose(["sweep.n_trials=20", "sweep.portfolio=recipes"])), num_train=12_000
    )
    assert checked.space.entry("num_epochs").high == 3
    by_name = {f.name: f for f in checked.start.recipes}
    # Mosbach (20 epochs, warmup 0.1, lr 2e-5) fitted to 3 epochs is bert-2e-5: dropped, as a
    # duplicate; RoBERTa keeps its warmup of 0.06, so it stays a trial of its own.
    assert "mosbach-2e-5" not in by_name
    assert by_name["roberta-2e-5"].params["num_epochs"] == 3
    assert "num_epochs 10 -> 3" in by_name["roberta-2e-5"].changes
    assert list(by_name) == ["bert-2e-5", "roberta-2e-5", "bert-3e-5", "roberta-1e-5", "bert-5e-5"]
    params = [tuple(sorted(f.params.items())) for f in checked.start.recipes]
    assert len(set(params)) == len(params)


def test_values_move_into_the_space_or_are_left_to_the_sampler(
    base_train: dict[str, Any],
) -> None:
    space = {
        "lr": {"type": "float", "low": 1e-4, "high": 1e-3, "log": True},  # above every recipe
        "warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2, "step": 0.05},
        "num_epochs": {"type": "int", "low": 4, "high": 8, "step": 2},
        "scheduler": {"type": "categorical", "choices": ["cosine", "constant"]},
        "batch_size": {"type": "categorical", "choices": [8, 64]},
    }
    by_name = {f.name: f for f in _fit(space, base_train)}
    bert, roberta, mosbach = (by_name[n] for n in ("bert-2e-5", "roberta-2e-5", "mosbach-2e-5"))
    # lr clipped up to low; batch 32 to the nearest choice (|32 - 8| < |32 - 64|); no choice
    # is near `linear`: the sampler draws the scheduler.
    assert bert.params == {"lr": 1e-4, "warmup_ratio": 0.1, "num_epochs": 4, "batch_size": 8}
    assert roberta.params["warmup_ratio"] == 0.05  # 0.06 onto the step grid
    assert roberta.params["num_epochs"] == 8 and mosbach.params["num_epochs"] == 8
    assert "lr 2e-05 -> 0.0001" in roberta.changes


def test_a_space_that_searches_none_of_a_recipes_settings_queues_nothing(
    base_train: dict[str, Any],
) -> None:
    assert _fit({"dropout": {"type": "float", "low": 0.0, "high": 0.2}}, base_train) == []
    assert _fit({}, base_train) == []


def test_conditional_entries_are_set_only_where_their_condition_holds(
    base_train: dict[str, Any],
) -> None:
    recipe = Recipe(
        name="x", citation="test", settings={"scheduler": "linear", "scheduler_kwargs.gamma": 0.5}
    )
    space = parse_space(
        {
            "scheduler": {"type": "categorical", "choices": ["linear", "step"]},
            "scheduler_kwargs": {
                "gamma": {"type": "float", "low": 0.2, "high": 0.8, "when": {"scheduler": ["step"]}}
            },
        }
    )
    (fitted,), _ = fit(
        [recipe], space=space, num_train=100, train=TrainSettings.from_mapping(base_train)
    )
    assert fitted.params == {"scheduler": "linear"}


def test_a_recipe_whose_schedule_the_data_refuses_is_left_out_with_a_note(
    base_train: dict[str, Any],
) -> None:
    train = TrainSettings.from_mapping({**base_train, "warmup_steps": 40})  # > 3 epochs of 320/32
    space = parse_space(DEFAULT_SPACE)
    fitted, notes = fit(RECIPES, space=space, num_train=320, train=train)
    assert "bert-2e-5" not in [f.name for f in fitted]
    assert "roberta-2e-5" in [f.name for f in fitted]
    assert any(n.startswith("recipe bert-2e-5 not queued: ") for n in notes)


@pytest.mark.parametrize(("n_trials", "cap"), [(1, 1), (2, 1), (3, 2), (8, 4), (9, 5), (20, 10)])
def test_the_queued_start_takes_about_half_the_budget(n_trials: int, cap: int) -> None:
    assert start_cap(n_trials) == cap


def test_user_settings_come_first_then_recipes_up_to_the_cap() -> None:
    recipes = [Fitted(name=f"r{i}", citation="c", params={"lr": i / 1e5}) for i in range(1, 6)]
    mine = [{"lr": 2e-5}]  # equal to r2: r2 is not queued twice
    out = start(mine, recipes, n_trials=8)
    assert out.queued == [{"lr": 2e-5}, {"lr": 1e-5}, {"lr": 3e-5}, {"lr": 4e-5}]
    assert [r.name for r in out.recipes] == ["r1", "r3", "r4"] and out.left_out == 1
    many = [{"lr": i * 1e-4} for i in range(1, 6)]  # more than the cap: all kept, no recipe
    out = start(many, recipes, n_trials=8)
    assert out.queued == many and out.recipes == () and out.left_out == 5


def test_the_learned_portfolio_reads_a_yaml_list(tmp_path: Path) -> None:
    path = tmp_path / "learned.yaml"
    path.write_text("- {name: a, citation: bank, settings: {lr: 2.0e-5, num_epochs: 6}}\n")
    assert load_recipes(path) == (
        Recipe(name="a", citation="bank", settings={"lr": 2e-5, "num_epochs": 6}),
    )
    path.write_text("[]\n")
    with pytest.raises(ConfigError, match="lists no configs yet"):
        load_recipes(path)
    path.write_text("- {name: a, settings: {lr: -1}}\n")
    with pytest.raises(ConfigError, match=r"\[0\]\.settings\.lr must be"):
        load_recipes(path)
    path.write_text("- {name: a, settings: {nope: 1}}\n")
    with pytest.raises(ConfigError, match="'nope' is not a training setting"):
        load_recipes(path)


def test_the_shipped_learned_file_is_valid_or_empty() -> None:
    from sweeper.config import CONF_DIR

    path = CONF_DIR / "learned_portfolio.yaml"
    import yaml

    if not yaml.safe_load(path.read_text()):
        with pytest.raises(ConfigError, match="lists no configs yet"):
            load_recipes(path)
    else:
        assert load_recipes(path)


# ----------------------------------------------------------------------------- in a sweep


def _sweep(root: Path, *extra: str) -> float | None:
    overrides = [
        o
        for o in fake_overrides(root, "tracking=none", "sweep.study_name=t", *extra)
        if o != "sweep.portfolio=none"
    ]
    return run(compose([*overrides, *extra]))


def _study(root: Path) -> optuna.Study:
    return optuna.load_study(study_name="t", storage=f"sqlite:///{root}/optuna.db")


def test_a_sweep_starts_with_the_users_settings_then_the_recipes_marked_and_announced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="sweeper")
    _sweep(
        tmp_path,
        "sweep.n_trials=6",
        "sweep.objective=val_loss",
        "sweep.enqueue=[{lr: 1.0e-4, num_epochs: 2}]",
    )
    trials = _study(tmp_path).trials
    assert len(trials) == 6
    # 320 examples: the fitted range is 1-20 epochs; the cap is 3 (user's 1 + 2 recipes),
    # most optimizer steps first on small data (the batch is fixed here: the longest first).
    assert trials[0].params["lr"] == 1e-4 and "recipe" not in trials[0].user_attrs
    assert trials[1].user_attrs["recipe"] == "mosbach-2e-5"
    assert trials[1].params == {
        "lr": 2e-5,
        "warmup_ratio": 0.1,
        "num_epochs": 20,
        "scheduler": "linear",
    }
    assert trials[2].user_attrs["recipe"] == "roberta-2e-5"
    assert trials[2].params["num_epochs"] == 10 and trials[2].params["warmup_ratio"] == 0.06
    assert all("recipe" not in t.user_attrs for t in trials[3:])
    assert (
        "trial 1 is recipe mosbach-2e-5 (Mosbach et al. 2021), fitted: lr=2.00e-05 "
        "warmup_ratio=0.1 num_epochs=20 scheduler=linear (not searched: batch_size, "
        "weight_decay (train values))"
    ) in caplog.text
    assert "trial 2 is recipe roberta-2e-5 (Liu et al. 2019, RoBERTa style)" in caplog.text
    assert "portfolio: 4 more recipe(s) not queued: the queued start" in caplog.text
    summary = capsys.readouterr().out
    assert "recipe" in summary.splitlines()[summary.splitlines().index("top trials:") + 1]


def test_portfolio_none_queues_only_the_users_settings(tmp_path: Path) -> None:
    _sweep(tmp_path, "sweep.n_trials=3", "sweep.portfolio=none")
    assert all("recipe" not in t.user_attrs for t in _study(tmp_path).trials)
    assert "portfolio" not in _study(tmp_path).user_attrs["fingerprint"]


def test_a_changed_portfolio_does_not_resume_the_study(tmp_path: Path) -> None:
    _sweep(tmp_path, "sweep.n_trials=2", "sweep.portfolio=none")
    with pytest.raises(StudyError, match=r"portfolio=None -> 'recipes'"):
        _sweep(tmp_path, "sweep.n_trials=4")
    _sweep(tmp_path, "sweep.n_trials=3", "sweep.portfolio=none")  # unchanged: resumes
    assert len(_study(tmp_path).trials) == 3


def test_on_small_data_the_default_start_runs_the_recipes_batches_and_lengths() -> None:
    checked = fit_to_data(check(compose(["sweep.n_trials=8"])), num_train=1_000)
    assert [
        (f.name, f.params["batch_size"], f.params["num_epochs"]) for f in checked.start.recipes
    ] == [
        # Most optimizer steps first: on the v2 banks every lr 2e-5 run at batch 32 stays at
        # chance (3 epochs and 10), lr 2e-5 at batch 16 for 10 epochs learns on every seed.
        ("mosbach-2e-5", 16, 20),
        ("roberta-1e-5", 16, 10),
        ("roberta-2e-5", 32, 10),
        ("bert-2e-5", 32, 3),
    ]
    assert checked.queued == [f.params for f in checked.start.recipes]  # no sweep.enqueue here
