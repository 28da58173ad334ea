"""The classic hand-written loop as an objective: the guide's diff, and a sweep of it whose LR
curves are what ``transformers.get_scheduler`` gives for each trial's settings."""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path

import optuna
import pytest

from sweeper.config import compose
from sweeper.run import run

ROOT = Path(__file__).resolve().parent.parent
PLAIN, SWEEPABLE = "objectives/classic/plain.py", "objectives/classic/train.py"
GUIDE = "docs/guides/your-loop.md"


def classic_diff() -> str:
    """``diff -u plain.py train.py``: what makes the hand-written loop sweepable."""
    before = (ROOT / PLAIN).read_text(encoding="utf-8").splitlines(keepends=True)
    after = (ROOT / SWEEPABLE).read_text(encoding="utf-8").splitlines(keepends=True)
    return "".join(difflib.unified_diff(before, after, PLAIN, SWEEPABLE))


def test_the_loop_guide_shows_the_whole_diff_of_the_sweepable_loop() -> None:
    guide = (ROOT / GUIDE).read_text(encoding="utf-8")
    shown = re.search(r"```diff\n(.*?)```", guide, re.S)
    assert shown is not None, f"{GUIDE}: no diff block"
    assert shown.group(1) == classic_diff(), (
        f"{GUIDE}: the diff is stale, paste classic_diff() there"
    )
    assert "python -m sweeper +experiment=classic" in guide


def test_every_line_the_sweepable_loop_adds_is_marked_or_continues_a_marked_statement() -> None:
    added = [
        line[1:]
        for line in classic_diff().splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    marked = [line for line in added if "# sweeper:" in line]
    assert len(marked) >= 20  # the reporter calls, the settings, the plan and the scheduler
    for call in ("reporter.start(plan)", "reporter.log_lr(", "reporter.evaluate(", "plan ="):
        assert any(call in line for line in marked), call


def _expected_lrs(*, scheduler: str, lr: float, warmup_ratio: float, total: int) -> list[float]:
    """The curve a hand-written loop gets from ``transformers.get_scheduler`` (no sweeper)."""
    import torch
    from transformers import get_scheduler

    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = get_scheduler(
        scheduler,
        optimizer,
        num_warmup_steps=math.ceil(warmup_ratio * total),
        num_training_steps=total,
    )
    lrs = []
    for _ in range(total):
        lrs.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    return lrs


@pytest.mark.slow
def test_a_sweep_of_the_classic_loop_logs_get_schedulers_curve(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    from mlflow import MlflowClient

    from objectives.classic.task import NUM_TRAIN

    root = tmp_path / "runs"
    run(
        compose(
            [
                "+experiment=classic",
                f"results_dir={root}",
                f"model.name_or_path={tiny_model_dir}",
                "sweep.n_trials=3",
                "pruner=none",  # every trial trains to its end: whole curves to compare
                "train.patience=null",  # nor does early stopping end one
                "train.grad_accum=3",  # 19 batches an epoch: the last update takes one batch
                # Up to the queued trial's 3 epochs (the fitted range goes to 20, the recipes'
                # schedules with it): every epoch ends on the same one-batch update.
                "search_space.num_epochs.high=3",
                "quiet=true",
            ]
        )
    )
    study = optuna.load_study(study_name="classic", storage=f"sqlite:///{root}/optuna.db")
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    client = MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    for trial in study.trials:
        p = trial.params
        # 7 updates an epoch at batch 32 (19 batches), 13 at batch 16 (a recipe's, 38 batches)
        total = p["num_epochs"] * math.ceil(math.ceil(NUM_TRAIN / p["batch_size"]) / 3)
        history = client.get_metric_history(trial.user_attrs["tracking_run_id"], "lr")
        logged = [m.value for m in sorted(history, key=lambda m: m.step)]
        assert [m.step for m in sorted(history, key=lambda m: m.step)] == list(range(total))
        expected = _expected_lrs(
            scheduler=p["scheduler"], lr=p["lr"], warmup_ratio=p["warmup_ratio"], total=total
        )
        assert logged == pytest.approx(expected, rel=1e-6, abs=1e-12), p
        assert len(trial.user_attrs["evals"]) == p["num_epochs"]  # evals_per_epoch=1
        assert 0.0 <= trial.user_attrs["evals"][-1]["accuracy"] <= 1.0
    assert study.trials[0].params == {  # the experiment's queued hand-picked settings
        "lr": 1.0e-4,
        "warmup_ratio": 0.1,
        "num_epochs": 3,
        "scheduler": "linear",
        "batch_size": 32,
    }


@pytest.mark.slow
def test_the_plain_loop_runs_as_written(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from objectives.classic import plain

    monkeypatch.setattr(plain, "MODEL", str(tiny_model_dir))
    monkeypatch.setattr(plain, "NUM_EPOCHS", 1)
    plain.main(device="cpu")
    assert re.search(r"epoch 1: val_loss=\d\.\d{4} accuracy=\d\.\d{3}", capsys.readouterr().out)
