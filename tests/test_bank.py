"""Curve banks: export from a sweeper study, save/load round trip, the recording command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest

from sweeper.bank import (
    Bank,
    TimedObjective,
    export,
    grid_overrides,
    grid_points,
    load,
    merge,
    parse_grid,
    read_timings,
    save,
    settings_key,
)
from sweeper.commands.bank import main as bank_main


def sweeper_study(
    curves: dict[float, list[float]], *, pruned: bool = False, test: bool = False
) -> optuna.Study:
    """A study shaped like sweeper's: one trial per lr, user attrs as Sweep._record sets them
    (``test``: each evaluation also scores a test split, as ``data.validation=from_train`` does)."""
    study = optuna.create_study(direction="minimize")
    study.set_user_attr("task_info", {"task": "sst2", "metric": "accuracy", "monitor": "val_loss"})
    start = dt.datetime(2026, 1, 1)
    for lr, losses in curves.items():
        evals = [
            {
                "index": i + 1,
                "step": 5 * (i + 1),
                "epoch": 0.5 * (i + 1),
                "val_loss": v,
                "value": v,
                "accuracy": 1 - v,
                **({"test_loss": v + 0.1, "test_accuracy": 0.9 - v} if test else {}),
            }
            for i, v in enumerate(losses)
        ]
        settings = {"seed": 7, "lr": lr, "num_epochs": len(losses) // 2, "evals_per_epoch": 2}
        state = optuna.trial.TrialState.PRUNED if pruned else optuna.trial.TrialState.COMPLETE
        trial = optuna.trial.create_trial(
            state=state,
            value=None if pruned else min(losses),
            params={"lr": lr},
            distributions={"lr": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)},
            intermediate_values={i + 1: v for i, v in enumerate(losses)},
            user_attrs={
                "settings": settings,
                "evals": evals,
                "plan": {"num_examples": 100, "steps_per_epoch": 10},
                "best": {"stop": "pruned" if pruned else "completed"},
            },
        )
        # Wall time: 10 s per trial, for the steps-proportional seconds.
        trial.datetime_start = start
        trial.datetime_complete = start + dt.timedelta(seconds=10)
        study.add_trial(trial)
    return study


def test_export_save_load_round_trip(tmp_path: Path) -> None:
    study = sweeper_study({1e-4: [0.6, 0.5, 0.45, 0.47], 1e-5: [0.69, 0.68]})
    bank = export(study, provenance={"command": "test"})
    assert bank.task == "sst2" and bank.monitor == "val_loss" and bank.direction == "minimize"
    assert bank.grid == {"lr": [1e-5, 1e-4]}
    assert bank.evals_per_epoch == 2
    assert bank.train == {"seed": 7, "num_epochs": 2, "evals_per_epoch": 2}
    assert bank.best == pytest.approx(0.45)
    assert bank.total_epochs == pytest.approx(2.0 + 1.0)
    for path in (tmp_path / "b.json.gz", tmp_path / "b.json"):
        save(bank, path)
        again = load(path)
        # Equal up to the stored precision (6 significant digits), and stable from then on.
        assert again.as_dict() == bank.as_dict()
        assert again.curves[0].val_loss == pytest.approx(bank.curves[0].val_loss)
    assert (tmp_path / "b.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    # The same bank gives the same bytes (no timestamp in the gzip header).
    first = (tmp_path / "b.json.gz").read_bytes()
    save(bank, tmp_path / "b.json.gz")
    assert (tmp_path / "b.json.gz").read_bytes() == first


def test_a_test_split_is_exported_and_read_back_beside_validation(tmp_path: Path) -> None:
    bank = export(sweeper_study({1e-4: [0.6, 0.5]}, test=True))
    (curve,) = bank.curves
    assert curve.test_loss == pytest.approx((0.7, 0.6))
    assert curve.test_metric == pytest.approx((0.3, 0.4))
    assert curve.metric == pytest.approx((0.4, 0.5))  # validation, as before
    again = load(save(bank, tmp_path / "b.json.gz")).curves[0]
    assert again.test_loss == pytest.approx((0.7, 0.6))
    assert again.test_metric == pytest.approx((0.3, 0.4))
    # Without a test split nothing is written: older banks and their readers are unchanged.
    plain = export(sweeper_study({1e-4: [0.6, 0.5]}))
    assert plain.curves[0].test_metric == ()
    assert "test_metric" not in plain.as_dict()["trials"][0]["evals"]


def test_export_shares_wall_time_by_steps_without_timings() -> None:
    bank = export(sweeper_study({1e-4: [0.6, 0.5, 0.45, 0.47]}))
    (curve,) = bank.curves
    assert curve.seconds == pytest.approx((2.5, 5.0, 7.5, 10.0))
    assert curve.metric == pytest.approx((0.4, 0.5, 0.55, 0.53))
    assert "shared out by optimizer steps" in bank.provenance["seconds"]


def test_export_uses_measured_timings() -> None:
    study = sweeper_study({1e-4: [0.6, 0.5]})
    key = settings_key(study.trials[0].user_attrs["settings"])
    bank = export(study, timings={key: {"seconds": [3.0, 4.5], "initial_loss": 0.7}})
    assert bank.curves[0].seconds == (3.0, 4.5)
    assert bank.curves[0].initial_loss == 0.7
    assert bank.provenance["seconds"] == "measured per evaluation"


def test_export_refuses_a_pruned_study() -> None:
    with pytest.raises(ValueError, match="was pruned: a bank needs an unpruned study"):
        export(sweeper_study({1e-4: [0.6, 0.5]}, pruned=True))


def test_grid_points_cover_the_grid_in_a_seeded_order() -> None:
    grid = parse_grid(["lr=1e-5,1e-4", "scheduler=linear,cosine", "num_epochs=1"])
    points = grid_points(grid)
    assert len(points) == 2 * 2 * 1 * len(grid["warmup_ratio"])
    assert len({json.dumps(p, sort_keys=True) for p in points}) == len(points)
    assert points == grid_points(grid)
    assert grid["lr"] == [1e-5, 1e-4] and grid["num_epochs"] == [1]
    overrides = grid_overrides(grid)
    assert overrides[0] == "search_space=none"
    assert "+search_space.lr={type: categorical, choices: [1e-05, 0.0001]}" in overrides
    assert overrides[-1].startswith("sweep.enqueue=[{lr: ")
    with pytest.raises(ValueError, match="name=v1,v2"):
        parse_grid(["lr"])


@pytest.mark.slow
def test_record_runs_the_grid_unpruned_and_exports_every_point(tmp_path: Path) -> None:
    from sweeper.bank import record

    grid = {
        "lr": [1e-4, 1e-3],
        "warmup_ratio": [0.1],
        "num_epochs": [1, 2],
        "scheduler": ["linear"],
    }
    try:
        bank = record(
            out=tmp_path / "bank.json.gz",
            results_dir=tmp_path / "run",
            grid=grid,
            overrides=[
                "objective=tests.fake_objective.QuadraticObjective",
                "data=builtin",
                "data.builtin.num_train=64",
                "train.batch_size=32",
                "train.log_every_steps=1",
            ],
        )
    finally:
        TimedObjective.inner = "objectives.glue.GlueObjective"
        TimedObjective.log = None
    assert len(bank.curves) == 4
    assert sorted((c.params["lr"], c.params["num_epochs"]) for c in bank.curves) == [
        (1e-4, 1),
        (1e-4, 2),
        (1e-3, 1),
        (1e-3, 2),
    ]
    # Every evaluation of every schedule: 2 per epoch, never pruned nor stopped early.
    assert [len(c.epoch) for c in bank.curves] == [2 * c.params["num_epochs"] for c in bank.curves]
    assert bank.provenance["seconds"] == "measured per evaluation"
    assert all(c.initial_loss is not None for c in bank.curves)
    assert bank.provenance["grid_size"] == 4 and bank.provenance["commit"]
    assert load(tmp_path / "bank.json.gz").as_dict() == bank.as_dict()
    assert len(read_timings(tmp_path / "run" / "bank-sst2.timings.jsonl")) == 4


def _chunk(seed: int, lrs: tuple[float, ...] = (1e-4, 1e-5), **train: object) -> Bank:
    """One seed's chunk of a bank: its seed a grid entry, as ``--grid seed=N`` records it."""
    bank = export(sweeper_study({lr: [0.6, 0.5] for lr in lrs}))
    curves = tuple(
        dataclasses.replace(c, params={**c.params, "seed": seed}, seed=seed) for c in bank.curves
    )
    return dataclasses.replace(
        bank,
        grid={**bank.grid, "seed": [seed]},
        train={**bank.train, **train},
        provenance={**bank.provenance, "data": {"max_train_samples": 1000}},
        curves=curves,
    )


def test_merge_joins_chunks_recorded_a_seed_at_a_time(tmp_path: Path) -> None:
    merged = merge([_chunk(1), _chunk(2), _chunk(3, select_window=1)])
    assert merged.grid == {"lr": [1e-5, 1e-4], "seed": [1, 2, 3]}
    assert sorted(c.seed for c in merged.curves) == [1, 1, 2, 2, 3, 3]
    # A setting that only chooses among evaluations does not split an experiment.
    assert "select_window" not in merged.train
    assert [p["data"] for p in merged.provenance["chunks"]] == [{"max_train_samples": 1000}] * 3
    assert merged.provenance["data"] == {"max_train_samples": 1000}
    again = load(save(merged, tmp_path / "m.json.gz"))
    assert len(again.curves) == 6


@pytest.mark.parametrize(
    ("second", "names"),
    [
        (lambda: _chunk(1), "twice"),  # the same run in two chunks
        (lambda: _chunk(2, weight_decay=0.1), "train"),
        (lambda: dataclasses.replace(_chunk(2), evals_per_epoch=4), "evals_per_epoch"),
        (
            lambda: dataclasses.replace(
                _chunk(2), provenance={"data": {"max_train_samples": 2000}}
            ),
            "provenance.data",
        ),
        (lambda: dataclasses.replace(_chunk(2), grid={"lr": [1e-4]}), "grid entries"),
    ],
)
def test_merge_refuses_chunks_of_different_experiments(
    second: Callable[[], Bank], names: str
) -> None:
    with pytest.raises(ValueError, match=names):
        merge([_chunk(1), second()])


def test_merge_command_writes_the_bank_or_exits_2_naming_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = save(_chunk(1), tmp_path / "a.json.gz"), save(_chunk(2), tmp_path / "b.json.gz")
    assert bank_main(["merge", str(a), str(b), "--out", str(tmp_path / "m.json.gz")]) == 0
    assert len(load(tmp_path / "m.json.gz").curves) == 4
    assert bank_main(["merge", str(a), str(a), "--out", str(tmp_path / "x.json.gz")]) == 2
    err = capsys.readouterr().err
    assert "twice" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.json.gz").exists()


def test_merge_keeps_a_chance_level_only_one_chunk_recorded_and_refuses_two_that_differ() -> None:
    def with_chance(seed: int, chance: dict[str, float]) -> Bank:
        bank = _chunk(seed)
        info = {**bank.provenance["task_info"], "chance": chance}
        return dataclasses.replace(bank, provenance={**bank.provenance, "task_info": info})

    older = with_chance(1, {"accuracy": 0.55})  # recorded before the loss's level was
    newer = with_chance(2, {"accuracy": 0.55, "val_loss": 0.688})
    merged = merge([older, newer])
    assert merged.chance_of("val_loss") == 0.688 and merged.chance_of("accuracy") == 0.55
    with pytest.raises(ValueError, match="chance level of accuracy"):
        merge([older, with_chance(2, {"accuracy": 0.6})])
    # Two later chunks that disagree on a level the first never recorded.
    with pytest.raises(ValueError, match="chance level of val_loss"):
        merge([older, newer, with_chance(3, {"val_loss": 0.7})])


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "cannot read a bank file (FileNotFoundError)"),
        (b"not json", "cannot read a bank file (JSONDecodeError)"),
        (b"\x1f\x8b broken gzip", "cannot read a bank file (BadGzipFile)"),
        (b"[1, 2]", "format must be 1 but got 'list'"),
        (b'{"format": 1, "task": "sst2"}', "not a bank file (KeyError: 'trials')"),
    ],
)
def test_a_file_that_is_not_a_bank_gets_one_line_naming_it_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, said: str
) -> None:
    from sweeper.commands.replay import main as replay_main

    path = tmp_path / "bad.json.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(said)):
        load(path)
    good = save(_chunk(1), tmp_path / "good.json.gz")
    for main, argv in (
        (bank_main, ["show", str(path)]),
        (bank_main, ["merge", str(good), str(path), "--out", str(tmp_path / "m.json.gz")]),
        (replay_main, [str(good), str(path), "--reps", "1"]),
    ):
        assert main(argv) == 2
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and str(path) in captured.err and said in captured.err
        assert captured.out == ""  # nothing replayed or written before the refusal
