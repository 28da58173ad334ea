from __future__ import annotations

from typing import Any

import optuna
import pytest

from sweeper.errors import ConfigError
from sweeper.settings import TrainSettings
from sweeper.space import parse_space

LR = {"type": "float", "low": 1e-5, "high": 1e-3, "log": True}


@pytest.mark.parametrize(
    ("space", "match"),
    [
        (
            {"lr": {"type": "float", "low": 1e-3, "high": 1e-5}},
            r"search_space.lr: low must be <= high but got low=0.001, high=1e-05",
        ),
        (
            {"lr": {"type": "float", "low": 0.0, "high": 1e-3, "log": True}},
            r"search_space.lr: log scale needs low > 0 but got low=0.0",
        ),
        (
            {"scheduler": {"type": "categorical", "choices": []}},
            r"search_space.scheduler.choices must be a non-empty list but got \[\]",
        ),
        (
            {"scheduler": {"type": "categorical", "choices": ["linear", "linear"]}},
            "must not repeat a value but got 'linear' twice",
        ),
        (
            {"scheduler": {"type": "categorical", "choices": ["linear", "cosine_typo"]}},
            r"search_space.scheduler.choices must be one of \[.*\] but got 'cosine_typo'",
        ),
        (
            {"warmup_ratio": {"type": "float", "low": 0.05, "high": 1.0}},
            r"search_space.warmup_ratio.high must be a number in \[0, 1\) but got 1.0",
        ),
        (
            {"warmup_ratio": {"type": "float", "low": -0.1, "high": 0.2}},
            "search_space.warmup_ratio.low must be",
        ),
        (
            {"num_epochs": {"type": "int", "low": 0, "high": 3}},
            r"search_space.num_epochs.low must be an integer >= 1 but got 0",
        ),
        (
            {"num_epochs": {"type": "float", "low": 1, "high": 3}},
            "search_space.num_epochs.type must be int",
        ),
        (
            {"learning_rate": LR},
            "search_space.learning_rate: 'learning_rate' is not a training setting",
        ),
        (
            {"lr": {"type": "uniform", "low": 1, "high": 2}},
            r"search_space.lr.type must be one of \['float', 'int', 'categorical'\] "
            r"but got 'uniform'",
        ),
        (
            {"lr": {"type": "float", "low": 1e-5, "high": 1e-3, "hi": 2}},
            "search_space.lr: unknown field 'hi'",
        ),
        (
            {"lr": {"type": "float", "low": 1e-5, "high": 1e-3, "step": 3e-4}},
            "search_space.lr.step must divide high - low",
        ),
        (
            {"lr": {"type": "float", "low": 1e-5, "high": 1e-3, "step": 0}},
            "search_space.lr.step must be > 0",
        ),
        (
            {"lr": {"type": "float", "low": 1e-5, "high": 1e-3, "log": True, "step": 1e-5}},
            "step and log cannot be combined",
        ),
        (
            {"batch_size": {"type": "int", "low": 8, "high": 32, "step": 5}},
            "search_space.batch_size.step must divide",
        ),
        ({"batch_size": {"type": "int", "low": 8.5, "high": 32}}, "int bounds must be integers"),
        (
            {"lr": {"type": "float", "low": "a", "high": 1}},
            "search_space.lr.low must be a finite number but got 'a'",
        ),
        ({"lr": [1, 2]}, "search_space.lr must be a mapping"),
        (
            {"scheduler_kwargs": {"gamma": {"type": "float", "low": 0.0, "high": 0.9}}},
            r"scheduler_kwargs.gamma.low must be a number in \(0, 1\]",
        ),
        (
            {"scheduler_kwargs": {"bogus": {"type": "float", "low": 0.1, "high": 0.9}}},
            "'scheduler_kwargs.bogus' is not a training setting",
        ),
        (
            {
                "scheduler_kwargs": {
                    "gamma": {
                        "type": "float",
                        "low": 0.1,
                        "high": 0.9,
                        "when": {"scheduler": ["step"]},
                    }
                }
            },
            "'scheduler' must be a categorical entry listed before it",
        ),
        (
            {
                "scheduler": {"type": "categorical", "choices": ["linear"]},
                "scheduler_kwargs": {
                    "gamma": {
                        "type": "float",
                        "low": 0.1,
                        "high": 0.9,
                        "when": {"scheduler": ["step"]},
                    }
                },
            },
            r"when.scheduler must use choices of search_space.scheduler \['linear'\] "
            r"but got 'step'",
        ),
        ({"patience": {"type": "int", "low": -1, "high": 3}}, "search_space.patience.low"),
        (
            {"lr": {"type": "float", "low": 1e-5, "high": float("inf")}},
            "search_space.lr.high must be a finite number",
        ),
    ],
)
def test_invalid_specs_fail_with_one_line(space: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_space(space)
    assert "\n" not in str(info.value)


def _sample(space: dict[str, Any], seed: int = 0, n: int = 20) -> list[dict[str, Any]]:
    spec = parse_space(space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(spec.sample(trial))
        study.tell(trial, 0.0)
    return out


def test_sampling_respects_types_ranges_and_order() -> None:
    space = {
        "lr": LR,
        "warmup_ratio": {"type": "float", "low": 0.05, "high": 0.2},
        "num_epochs": {"type": "int", "low": 1, "high": 4},
        "batch_size": {"type": "int", "low": 16, "high": 64, "step": 16},
        "scheduler": {"type": "categorical", "choices": ["linear", "cosine"]},
    }
    for params in _sample(space):
        assert list(params) == list(space)
        assert 1e-5 <= params["lr"] <= 1e-3
        assert 0.05 <= params["warmup_ratio"] <= 0.2
        assert isinstance(params["num_epochs"], int) and 1 <= params["num_epochs"] <= 4
        assert params["batch_size"] in (16, 32, 48, 64)
        assert params["scheduler"] in ("linear", "cosine")


def test_conditional_entries_only_for_their_choices() -> None:
    space = {
        "scheduler": {"type": "categorical", "choices": ["linear", "step", "exponential"]},
        "scheduler_kwargs": {
            "gamma": {
                "type": "float",
                "low": 0.2,
                "high": 0.9,
                "when": {"scheduler": ["step", "exponential"]},
            },
            "step_size_epochs": {
                "type": "float",
                "low": 0.5,
                "high": 1.0,
                "step": 0.5,
                "when": {"scheduler": "step"},
            },
        },
    }
    seen = set()
    for params in _sample(space, n=40):
        seen.add(params["scheduler"])
        assert ("scheduler_kwargs.gamma" in params) == (params["scheduler"] != "linear")
        assert ("scheduler_kwargs.step_size_epochs" in params) == (params["scheduler"] == "step")
    assert seen == {"linear", "step", "exponential"}


def test_sampled_params_apply_to_train_settings(base_train: dict[str, Any]) -> None:
    space = parse_space(
        {
            "scheduler": {"type": "categorical", "choices": ["step"]},
            "scheduler_kwargs": {"gamma": {"type": "float", "low": 0.3, "high": 0.3}},
        }
    )
    study = optuna.create_study()
    params = space.sample(study.ask())
    settings = TrainSettings.from_mapping(base_train).replace(params)
    assert settings.scheduler == "step"
    assert settings.active_scheduler_kwargs() == {"step_size_epochs": 1.0, "gamma": 0.3}
    assert settings.as_params()["scheduler_kwargs.gamma"] == 0.3


def test_users_add_any_training_key_without_code(base_train: dict[str, Any]) -> None:
    space = parse_space(
        {
            "weight_decay": {"type": "float", "low": 0.0, "high": 0.1},
            "dropout": {"type": "float", "low": 0.0, "high": 0.3},
            "batch_size": {"type": "categorical", "choices": [16, 32]},
        }
    )
    assert space.names == ["weight_decay", "dropout", "batch_size"]
    params = _sample({"weight_decay": {"type": "float", "low": 0.0, "high": 0.1}}, n=1)[0]
    assert (
        TrainSettings.from_mapping(base_train).replace(params).weight_decay
        == params["weight_decay"]
    )


def test_null_entry_is_not_searched() -> None:
    assert parse_space({"lr": LR, "warmup_ratio": None}).names == ["lr"]


def test_grid() -> None:
    space = parse_space(
        {
            "num_epochs": {"type": "int", "low": 1, "high": 3},
            "warmup_ratio": {"type": "float", "low": 0.05, "high": 0.15, "step": 0.05},
            "scheduler": {"type": "categorical", "choices": ["linear", "cosine"]},
        }
    )
    grid = space.grid()
    assert grid["num_epochs"] == [1, 2, 3]
    assert grid["warmup_ratio"] == pytest.approx([0.05, 0.1, 0.15])
    with pytest.raises(ConfigError, match="sampler=grid needs a step"):
        parse_space({"lr": LR}).grid()


def test_per_trial_samplers_are_reproducible_and_seeded() -> None:
    """Per-trial samplers are built by calling the class directly after Hydra's first build
    (Hydra's instantiate costs ~20 ms a trial): the draws still follow the seed."""
    from sweeper.study import build_sampler

    space = parse_space({"lr": LR, "num_epochs": {"type": "int", "low": 1, "high": 3}})
    node = {"_target_": "optuna.samplers.TPESampler", "n_startup_trials": 2, "multivariate": True}

    def draws(seed: int) -> list[tuple[float, int]]:
        study = optuna.create_study(sampler=build_sampler(node, seed=seed, space=space))
        study.optimize(lambda t: float(space.sample(t)["lr"]), n_trials=5)
        return [(t.params["lr"], t.params["num_epochs"]) for t in study.trials]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sampler_grid_visits_every_point_once(seed: int) -> None:
    """Rebuilt per trial (sweeper's per-trial seeding), the grid sampler repeated points and
    skipped others; it is seeded once, like QMC."""
    import warnings

    from sweeper.study import build_sampler

    space = parse_space(
        {
            "lr": {"type": "categorical", "choices": [1e-4, 3e-5]},
            "num_epochs": {"type": "int", "low": 1, "high": 2},
        }
    )
    sampler = build_sampler({"_target_": "optuna.samplers.GridSampler"}, seed=seed, space=space)
    study = optuna.create_study(sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the grid's "all points visited" note
        study.optimize(lambda t: float(sum(space.sample(t).values())), n_trials=4)
    drawn = sorted((t.params["lr"], t.params["num_epochs"]) for t in study.trials)
    assert drawn == [(3e-5, 1), (3e-5, 2), (1e-4, 1), (1e-4, 2)]


@pytest.mark.parametrize(
    ("key", "entry", "extremes"),
    [
        ("lr", {"type": "float", "low": 1e-5, "high": 3e-4, "log": True}, [1e-5, 3e-4]),
        ("warmup_ratio", {"type": "float", "low": 0.05, "high": 0.2, "step": 0.05}, [0.05, 0.2]),
        ("num_epochs", {"type": "int", "low": 1, "high": 5, "step": 2}, [1, 5]),
        ("num_epochs", {"type": "int", "low": 2, "high": 2}, [2]),
        ("scheduler", {"type": "categorical", "choices": ["linear", "step"]}, ["linear", "step"]),
    ],
)
def test_extremes(key: str, entry: dict[str, Any], extremes: list[Any]) -> None:
    assert parse_space({key: entry}).params[0].extremes() == pytest.approx(extremes)


def test_corners_combine_edges_and_respect_conditions() -> None:
    space = parse_space(
        {
            "num_epochs": {"type": "int", "low": 1, "high": 3},
            "scheduler": {"type": "categorical", "choices": ["linear", "step"]},
            "scheduler_kwargs.gamma": {
                "type": "float",
                "low": 0.3,
                "high": 0.9,
                "when": {"scheduler": ["step"]},
            },
        }
    )
    corners = space.corners()
    # 2 epochs x (linear, or step with 2 gammas) = 6 distinct draws.
    assert len(corners) == 6
    assert {"num_epochs": 1, "scheduler": "linear"} in corners
    assert {"num_epochs": 3, "scheduler": "step", "scheduler_kwargs.gamma": 0.9} in corners
    assert all("scheduler_kwargs.gamma" not in c for c in corners if c["scheduler"] == "linear")
    # Past the limit: one entry at a time.
    assert len(space.corners(limit=4)) == 6 and {"num_epochs": 3} in space.corners(limit=4)


# ----------------------------------------------------------------------------- fitted to data


@pytest.mark.parametrize(
    ("num_train", "high"),
    [
        (None, 20),  # unknown size: the widest range (config checks)
        (500, 20),  # capped
        (1_000, 20),
        (3_668, 9),  # MRPC
        (8_551, 4),  # CoLA
        (12_000, 3),  # the glue experiment's SST-2 subset: the range it always had
        (67_349, 3),  # full SST-2: never fewer than 3
    ],
)
def test_auto_epochs_scale_with_the_data(num_train: int | None, high: int) -> None:
    from sweeper.space import fit_space

    raw = {
        "lr": {"type": "float", "low": 1e-5, "high": 1e-4},
        "num_epochs": {"type": "int", "low": 1, "high": "auto"},
    }
    fitted, lines = fit_space(raw, num_train=num_train)
    assert fitted is not None and fitted["num_epochs"] == {"type": "int", "low": 1, "high": high}
    assert fitted["lr"] == raw["lr"]
    assert raw["num_epochs"]["high"] == "auto"  # the input is not changed
    assert bool(lines) == bool(num_train) and all(f"[1, {high}]" in line for line in lines)
    assert parse_space(fitted).entry("num_epochs").high == high


def test_auto_epochs_keep_an_explicit_low_and_plain_spaces() -> None:
    from sweeper.space import fit_space

    fitted, _ = fit_space(
        {"num_epochs": {"type": "int", "low": 6, "high": "auto"}}, num_train=50_000
    )
    assert fitted == {"num_epochs": {"type": "int", "low": 6, "high": 6}}
    plain = {"num_epochs": {"type": "int", "low": 1, "high": 3}}
    assert fit_space(plain, num_train=100) == (plain, [])


@pytest.mark.parametrize(
    "raw",
    [
        {"lr": {"type": "float", "low": 1e-5, "high": "auto"}},
        {"num_epochs": {"type": "int", "low": "auto", "high": 3}},
    ],
)
def test_auto_is_only_for_the_epoch_range(raw: dict) -> None:
    with pytest.raises(ConfigError, match=r"auto is allowed only in search_space.num_epochs.high"):
        parse_space(raw)


def test_fit_to_data_resolves_the_config_and_rechecks_queued_trials() -> None:
    from sweeper.checks import check, fit_to_data
    from sweeper.config import compose

    checked = check(compose(["sweep.enqueue=[{num_epochs: 12}]"]))
    assert checked.space.entry("num_epochs").high == 20  # widest until the data is known
    small = fit_to_data(checked, num_train=2_000)
    assert small.cfg["search_space"]["num_epochs"]["high"] == 15
    assert small.space.entry("num_epochs").high == 15 and small.fitted
    assert checked.cfg["search_space"]["num_epochs"]["high"] == "auto"
    with pytest.raises(ConfigError, match=r"sweep.enqueue\[0\].num_epochs must be in \[1, 3\]"):
        fit_to_data(checked, num_train=50_000)


@pytest.mark.parametrize(
    ("num_train", "choices"),
    [
        (None, [16, 32]),  # unknown size: searched (config checks see every corner)
        (200, [16, 32]),
        (1_000, [16, 32]),  # CoLA at 1,000: the recipes' batches are reachable
        (3_668, [16, 32]),  # MRPC
        (8_551, [16, 32]),  # CoLA
        (10_000, None),  # from here on, train.batch_size as set
        (12_000, None),  # the glue experiment's SST-2 subset keeps its batch of 64
    ],
)
def test_auto_batch_sizes_are_searched_on_small_data_only(
    num_train: int | None, choices: list[int] | None
) -> None:
    from sweeper.space import fit_space

    raw = {
        "lr": {"type": "float", "low": 1e-5, "high": 1e-4},
        "batch_size": {"type": "categorical", "choices": "auto"},
    }
    fitted, lines = fit_space(raw, num_train=num_train)
    assert fitted is not None
    if choices is None:
        assert fitted["batch_size"] is None and "batch_size" not in parse_space(fitted).names
        assert lines == [
            f"batch_size not searched (train.batch_size): fitted to {num_train:,} training "
            "examples (search_space.batch_size.choices=auto: [16, 32] below 10,000 examples, "
            "train.batch_size from there; set search_space.batch_size=null to fix it)"
        ]
    else:
        assert fitted["batch_size"] == {"type": "categorical", "choices": choices}
        assert parse_space(fitted).entry("batch_size").choices == tuple(choices)
        assert bool(lines) == bool(num_train)
        assert all(line.startswith("batch_size in [16, 32]: fitted to") for line in lines)
    assert raw["batch_size"]["choices"] == "auto"  # the input is not changed


def test_auto_choices_are_only_for_the_batch_size() -> None:
    with pytest.raises(
        ConfigError, match=r"search_space.scheduler.choices: auto is allowed only in"
    ):
        parse_space({"scheduler": {"type": "categorical", "choices": "auto"}})


def test_the_default_space_reaches_the_small_data_recipes() -> None:
    # Batch 16/32 with lr 1e-5..3e-5 for 6-20 epochs: what learns on small data (issue 22).
    from sweeper.checks import check, fit_to_data
    from sweeper.config import compose

    checked = check(compose([]))
    small = fit_to_data(checked, num_train=1_000)
    space = small.space
    assert space.entry("batch_size").choices == (16, 32)
    assert space.entry("num_epochs").high == 20
    assert space.entry("lr").contains(1e-5) and space.entry("lr").contains(3e-5)
    assert any("batch_size in [16, 32]" in line for line in small.fitted)
    large = fit_to_data(checked, num_train=12_000)
    assert "batch_size" not in large.space.names
    assert large.cfg["search_space"]["batch_size"] is None  # in the fingerprint as not searched
