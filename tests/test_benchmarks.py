"""Smoke runs of the benchmarks in scripts/ (``--quick``), so they cannot rot.

They check that each script runs end to end and prints its table with the ratio columns and
finite, positive figures; never how fast anything is (speed goals are the benchmarks' job, on
a quiet machine).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from scripts import (
    bench_all,
    bench_faults,
    bench_hpsearch,
    bench_loop,
    bench_pruning,
    bench_recipes,
    bench_replay,
    bench_startup,
    bench_storage,
    bench_tracking,
    bench_trainer,
)

Main = Callable[[Sequence[str] | None], int]


def _smoke(main: Main, args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["--quick", *args]) == 0
    out = capsys.readouterr().out
    assert "| " in out and "|--" in out, out  # a Markdown table
    return out


def _ratios(out: str) -> list[float]:
    """Every ``1.23x`` figure printed; all must be finite and positive."""
    found = [float(v) for v in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?(?:e[+-]?\d+)?)x\b", out)]
    assert found, out
    assert all(math.isfinite(v) and v > 0 for v in found), found
    return found


def test_startup_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(bench_startup.main, ["--workdir", str(tmp_path)], capsys)
    assert "vs python -c pass" in out and "vs import hydra" in out
    assert "python -m sweeper +experiment=glue --cfg job" in out
    assert "heavy modules imported by it:" in out
    _ratios(out)


@pytest.mark.slow
def test_storage_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(bench_storage.main, ["--workdir", str(tmp_path)], capsys)
    assert "sqlite" in out and "journal" in out
    _ratios(out)


def test_tracking_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(bench_tracking.main, ["--workdir", str(tmp_path)], capsys)
    assert "vs batched" in out and "one call per point" in out
    calls = re.findall(r"\| (?:sweeper \(batched log_batch\)|one call per point)\s*\| (\d+)", out)
    assert len(calls) == 2 and int(calls[0]) < int(calls[1]), out
    _ratios(out)


@pytest.mark.slow
def test_loop_quick(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _smoke(
        bench_loop.main, ["--model", str(tiny_model_dir), "--workdir", str(tmp_path)], capsys
    )
    assert "vs bare loop" in out and "tracking share" in out
    assert "sweeper, tracking=mlflow" in out and "sweeper, tracking=none" in out
    assert "goal 1, sweeper trial (tracking on) / bare loop <= 1.02x" in out
    _ratios(out)


@pytest.mark.slow
def test_trainer_quick(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("accelerate")  # Trainer's dependency (the bench extra)
    out = _smoke(
        bench_trainer.main, ["--model", str(tiny_model_dir), "--workdir", str(tmp_path)], capsys
    )
    assert "sweeper ex/s" in out and "Trainer ex/s" in out
    assert len(_ratios(out)) >= 3  # defaults, matched bf16/fp32, matched fp32 + random


@pytest.mark.slow
def test_pruning_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(bench_pruning.main, ["--workdir", str(tmp_path)], capsys)
    assert "compute saved" in out and "best val_loss: defaults" in out
    saved = [float(v) for v in re.findall(r"\| (-?\d+\.\d)% +\|", out)]
    assert len(saved) == 2, out  # one row per seed
    _ratios(out)


@pytest.mark.slow
def test_replay_quick(capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(bench_replay.main, [], capsys)
    for policy in (
        "tpe/median/es",
        "tpe/curve/no-es",
        "default (random/curve/",
        "random/none/es",
        "gp/curve",
        "random/beat/es",
        "random/ladder/es",
    ):
        assert policy in out, out
    assert "Goal (issues 15, 25)" in out and "of best seed mean" in out


@pytest.mark.slow
def test_hpsearch_quick(
    tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("accelerate")
    out = _smoke(
        bench_hpsearch.main, ["--model", str(tiny_model_dir), "--workdir", str(tmp_path)], capsys
    )
    assert "Trainer.hyperparameter_search" in out and "Trainer / sweeper" in out
    assert "lowest val_loss within sweeper's compute" in out
    _ratios(out)


def test_all_runs_the_named_scripts_in_fresh_processes(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert bench_all.main(["--quick", "--only", "startup", "--workdir", str(tmp_path)]) == 0
    out = capfd.readouterr().out
    assert "## Start-up (figure 5)" in out and "vs python -c pass" in out
    assert re.search(r"\| startup +\| \d+ +\| ok", out), out


@pytest.mark.slow
def test_recipes_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(
        bench_recipes.main, ["--workdir", str(tmp_path), "--json", str(tmp_path / "r.json")], capsys
    )
    for arm in ("bert", "roberta", "mosbach", "sweeper"):
        assert f"| {arm} " in out
    assert "searched trials better than the enqueued default" in out
    assert "verdict: best recipe on test:" in out
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    (task,) = report["tasks"].values()
    for name, arm in task["arms"].items():
        assert arm["epochs"] > 0 and arm["runs"], name
        assert all(math.isfinite(r["test_metric"]) for r in arm["runs"]), name
    # The recipes' grids cost what they say: bert 3 lrs x 2 seeds x 3 epochs (quick: 2 seeds).
    assert task["arms"]["bert"]["epochs"] == 3 * 2 * 3


@pytest.mark.slow
def test_faults_quick(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _smoke(bench_faults.main, ["--workdir", str(tmp_path)], capsys)
    assert "| MLflow down | 0 of 3" in out
    assert "tracking: http://127.0.0.1:" in out and "is back after" in out
