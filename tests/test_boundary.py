"""The search boundary as a finding (sweeper.boundary): which edges, which widened ranges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sweeper.boundary import edge_findings, widened_bound
from sweeper.checks import check
from sweeper.config import compose
from sweeper.space import parse_space
from sweeper.trial_record import TrialRecord
from tests.fake_objective import fake_overrides

SPACE = parse_space(
    {
        "lr": {"type": "float", "low": 1e-5, "high": 3e-4, "log": True},
        "warmup_ratio": {"type": "float", "low": 0.05, "high": 0.2},
        "num_epochs": {"type": "int", "low": 1, "high": 3},
        "scheduler": {"type": "categorical", "choices": ["linear", "cosine"]},
    }
)
MIDDLE = {"lr": 6e-5, "warmup_ratio": 0.12, "num_epochs": 2, "scheduler": "linear"}


def trial(number: int, *, best_epoch: float = 1.0, **params: Any) -> TrialRecord:
    drawn = {**MIDDLE, **params}
    return TrialRecord(
        number=number,
        state="COMPLETE",
        params=drawn,
        value=0.3 + number / 100,
        settings=dict(drawn),
        best={"best_epoch": best_epoch},
    )


@pytest.mark.parametrize(
    ("params", "best_epoch", "expected"),
    [
        ({}, 1.0, []),  # inside on every entry: nothing to say
        ({"lr": 2.95e-4}, 1.0, [("lr", "high", "search_space.lr.high=0.0009")]),
        ({"lr": 1.0e-5}, 1.0, [("lr", "low", "search_space.lr.low=3.33e-06")]),
        (
            {"warmup_ratio": 0.2},
            1.0,
            [("warmup_ratio", "high", "search_space.warmup_ratio.high=0.275")],
        ),
        ({"warmup_ratio": 0.05}, 1.0, [("warmup_ratio", "low", "search_space.warmup_ratio.low=0")]),
        # The longest schedule counts only when it peaked at its end.
        ({"num_epochs": 3}, 3.0, [("num_epochs", "high", "search_space.num_epochs.high=5")]),
        ({"num_epochs": 3}, 1.5, []),
        ({"num_epochs": 1}, 1.0, []),  # the shortest: recommend's epoch verdict, not a range
        (
            {"lr": 3e-4, "num_epochs": 3},
            3.0,
            [
                ("lr", "high", "search_space.lr.high=0.0009"),
                ("num_epochs", "high", "search_space.num_epochs.high=5"),
            ],
        ),
    ],
)
def test_edges_of_the_best_trial_are_findings(
    params: dict[str, Any], best_epoch: float, expected: list[tuple[str, str, str]]
) -> None:
    ranked = [trial(0, best_epoch=best_epoch, **params), trial(1), trial(2)]
    found = edge_findings(SPACE, ranked)
    assert [(f.name, f.edge, f.override) for f in found] == expected
    for f in found:
        assert f.override in f.text and f.at_edge == 1 and f.top == 3
        assert f.best_trial == 0


def test_the_finding_counts_the_top_trials_at_the_edge() -> None:
    ranked = [trial(0, lr=3e-4), trial(1, lr=2.9e-4), trial(2), trial(3, lr=3e-4)]
    (found,) = edge_findings(SPACE, ranked)
    assert found.at_edge == 2 and found.top == 3
    assert "2 of the top 3 do" in found.text and "high edge of search_space.lr" in found.text


def test_no_trials_no_findings_and_an_edge_the_setting_cannot_pass() -> None:
    assert edge_findings(SPACE, []) == []
    space = parse_space({"warmup_ratio": {"type": "float", "low": 0.0, "high": 0.5}})
    (found,) = edge_findings(space, [trial(0, warmup_ratio=0.0)])
    assert found.widened is None and found.override is None
    assert "allows no wider range" in found.text


@pytest.mark.parametrize(
    ("entry", "edge", "expected"),
    [
        ({"type": "float", "low": 1e-5, "high": 1e-4, "log": True}, "high", 3e-4),
        ({"type": "float", "low": 0.1, "high": 0.9}, "high", None),  # warmup_ratio < 1 (open)
        ({"type": "int", "low": 2, "high": 8}, "high", 12.0),
        ({"type": "int", "low": 2, "high": 8}, "low", 1.0),
    ],
)
def test_widened_bounds_stay_within_the_setting(
    entry: dict[str, Any], edge: str, expected: float | None
) -> None:
    name = {"float": "lr" if entry.get("log") else "warmup_ratio", "int": "num_epochs"}[
        entry["type"]
    ]
    spec = parse_space({name: entry}).entry(name)
    assert widened_bound(spec, edge) == expected


STEPPED = {"type": "float", "low": 0.05, "high": 0.2, "step": 0.05}
BATCH = {"type": "int", "low": 16, "high": 48, "step": 16}


@pytest.mark.parametrize(
    ("name", "entry", "value", "expected"),
    [
        # Issue 23 #8: 0.2 + 0.075 = 0.275 and 48 + 24 = 72 are off their step grids (refused).
        ("warmup_ratio", STEPPED, 0.2, "search_space.warmup_ratio.high=0.3"),
        ("warmup_ratio", STEPPED, 0.05, "search_space.warmup_ratio.low=0"),
        ("batch_size", BATCH, 48, "search_space.batch_size.high=80"),
        ("batch_size", BATCH, 16, None),  # 0 is no batch size; 1 is off the grid
        ("batch_size", {"type": "int", "low": 1, "high": 64, "log": True}, 1, None),
        (
            "batch_size",
            {"type": "int", "low": 4, "high": 64, "log": True},
            4,
            "search_space.batch_size.low=2",
        ),
        (
            "scheduler_kwargs.step_size_epochs",
            {"type": "float", "low": 0.5, "high": 1.0, "step": 0.5},
            1.0,
            "search_space.scheduler_kwargs.step_size_epochs.high=1.5",
        ),
        # 0.6 + 0.3 is 0.9, rounded up to the grid 1.0: not below 1; rounded down, 0.8.
        (
            "warmup_ratio",
            {"type": "float", "low": 0.0, "high": 0.6, "step": 0.2},
            0.6,
            "search_space.warmup_ratio.high=0.8",
        ),
        ("warmup_ratio", {"type": "float", "low": 0.0, "high": 0.8, "step": 0.4}, 0.8, None),
        (
            "lr",
            {"type": "float", "low": 1e-5, "high": 3e-4, "log": True},
            1e-5,
            "search_space.lr.low=3.33e-06",
        ),
        (
            "lr",
            {"type": "float", "low": 1e-5, "high": 3e-4, "step": 1e-5},
            3e-4,
            "search_space.lr.high=0.00045",
        ),
    ],
)
def test_every_printed_override_passes_the_config_check(
    tmp_path: Path, name: str, entry: dict[str, Any], value: float, expected: str | None
) -> None:
    (found,) = edge_findings(parse_space({name: entry}), [trial(0, **{name: value})])
    assert found.override == expected
    if expected is None:
        assert "allows no wider range" in found.text
        return
    assert expected in found.text
    # Pasted as the finding says: the same sweep, plus the override, through the config check.
    spec = "{" + ", ".join(f"{k}: {v}" for k, v in entry.items()) + "}"
    overrides = fake_overrides(tmp_path, "search_space=none", f"+search_space.{name}={spec}")
    checked = check(compose([*overrides, expected]))
    assert getattr(checked.space.entry(name), found.edge) == found.widened
    assert found.widened != getattr(parse_space({name: entry}).entry(name), found.edge)
