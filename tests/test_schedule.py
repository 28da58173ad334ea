from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from transformers import get_scheduler

from sweeper.commands.schedule import main as preview
from sweeper.errors import ConfigError
from sweeper.schedule import (
    SCHEDULERS,
    batches_per_epoch,
    build_scheduler,
    is_update_batch,
    lr_curve,
    peak_step,
    plan_steps,
    scheduler_kwargs_for,
    warmup_steps_for,
)


@pytest.mark.parametrize(
    ("num_examples", "batch_size", "drop_last", "expected"),
    [
        (10_000, 32, False, 313),  # the tutorial's 312 is wrong for the default DataLoader
        (10_000, 32, True, 312),
        (64, 32, False, 2),
        (64, 32, True, 2),
        (65, 32, False, 3),
        (65, 32, True, 2),
        (1, 32, False, 1),
        (31, 32, False, 1),
    ],
)
def test_batches_per_epoch_matches_dataloader(
    num_examples: int, batch_size: int, drop_last: bool, expected: int
) -> None:
    assert (
        batches_per_epoch(num_examples=num_examples, batch_size=batch_size, drop_last=drop_last)
        == expected
    )
    loader = torch.utils.data.DataLoader(
        range(num_examples), batch_size=batch_size, drop_last=drop_last
    )
    assert len(loader) == expected


def test_drop_last_with_too_few_examples_is_an_error() -> None:
    with pytest.raises(ConfigError, match="drop_last"):
        batches_per_epoch(num_examples=10, batch_size=32, drop_last=True)


@pytest.mark.parametrize(
    ("num_examples", "batch_size", "grad_accum", "drop_last", "epochs", "steps_per_epoch", "total"),
    [
        (10_000, 32, 1, False, 3, 313, 939),  # the tutorial example
        (10_000, 32, 1, True, 3, 312, 936),
        (320, 32, 4, False, 1, 3, 3),  # 10 batches, accumulation 4 -> 3 updates
        (320, 32, 8, False, 2, 2, 4),
        (330, 32, 4, False, 1, 3, 3),  # 11 batches (uneven last batch)
        (330, 32, 4, True, 1, 3, 3),  # 10 batches
        (352, 32, 4, False, 1, 3, 3),  # 11 batches
        (384, 32, 4, False, 1, 3, 3),  # 12 batches
        (416, 32, 4, False, 1, 4, 4),  # 13 batches
        (100, 10, 1, False, 5, 10, 50),
        (100, 10, 8, False, 1, 2, 2),
    ],
)
def test_plan_steps(
    num_examples: int,
    batch_size: int,
    grad_accum: int,
    drop_last: bool,
    epochs: int,
    steps_per_epoch: int,
    total: int,
) -> None:
    plan = plan_steps(
        num_examples=num_examples,
        batch_size=batch_size,
        grad_accum=grad_accum,
        drop_last=drop_last,
        num_epochs=epochs,
        warmup_ratio=0.1,
    )
    assert plan.steps_per_epoch == steps_per_epoch
    assert plan.num_training_steps == total
    assert plan.num_warmup_steps == math.ceil(0.1 * total - 1e-9)
    assert plan.effective_batch_size == batch_size * grad_accum


@pytest.mark.parametrize(
    ("batches", "accum", "updates"),
    [(10, 4, [3, 7, 9]), (10, 1, list(range(10))), (8, 4, [3, 7]), (3, 8, [2]), (9, 8, [7, 8])],
)
def test_update_condition(batches: int, accum: int, updates: list[int]) -> None:
    got = [i for i in range(batches) if is_update_batch(i, grad_accum=accum, last=batches - 1)]
    assert got == updates
    assert 0 not in got or accum == 1  # never fires on batch 0 unless every batch is an update
    plan = plan_steps(num_examples=batches, batch_size=1, grad_accum=accum, num_epochs=1)
    assert plan.steps_per_epoch == len(updates)


@pytest.mark.parametrize(
    ("ratio", "total", "steps", "expected"),
    [
        (0.1, 939, None, 94),
        (0.07, 100, None, 7),
        (0.0, 50, None, 0),
        (0.2, 10, None, 2),
        (0.05, 3, None, 1),
        (0.1, 939, 50, 50),
        (0.9, 10, 0, 0),
        # Capped at total - 1 (issue 14 #10): at least one update after warmup.
        (0.5, 1, None, 0),
        (0.9, 5, None, 4),
        (0.99, 2, None, 1),
    ],
)
def test_warmup_steps(ratio: float, total: int, steps: int | None, expected: int) -> None:
    assert (
        warmup_steps_for(num_training_steps=total, warmup_ratio=ratio, warmup_steps=steps)
        == expected
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"warmup_ratio": 1.0}, r"warmup_ratio must be in \[0, 1\) but got 1.0"),
        ({"warmup_ratio": -0.1}, "warmup_ratio"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 1000}, "warmup_steps"),
        ({"num_epochs": 0}, "num_epochs must be >= 1 but got 0"),
        ({"grad_accum": 0}, "grad_accum must be >= 1 but got 0"),
        ({"batch_size": 0}, "batch_size must be >= 1 but got 0"),
    ],
)
def test_bad_plan_values(kwargs: dict[str, float], match: str) -> None:
    args = {"num_examples": 100, "batch_size": 10, "num_epochs": 1, **kwargs}
    with pytest.raises(ConfigError, match=match):
        plan_steps(**args)  # type: ignore[arg-type]


def test_eval_steps_are_even_and_end_each_epoch() -> None:
    plan = plan_steps(num_examples=100, batch_size=10, num_epochs=3)
    assert plan.eval_steps(2) == [5, 10, 15, 20, 25, 30]
    assert plan.eval_steps(1) == [10, 20, 30]
    assert plan.eval_steps(3) == [3, 7, 10, 13, 17, 20, 23, 27, 30]
    tiny = plan_steps(num_examples=2, batch_size=1, num_epochs=2)
    assert tiny.eval_steps(4) == [1, 2, 3, 4]  # more evaluations than steps: they collapse
    assert plan.epochs_at(15) == 1.5


def _reference(name: str, plan, base_lr: float, kwargs: dict) -> list[float]:  # type: ignore[no-untyped-def]
    """The same schedule straight from transformers, or the closed form for step/exponential."""
    params = scheduler_kwargs_for(name, kwargs)
    w, spe = plan.num_warmup_steps, plan.steps_per_epoch
    if name == "step":
        period = max(1, round(params["step_size_epochs"] * spe))
        return [
            base_lr * (k / max(1, w) if k < w else params["gamma"] ** ((k - w) // period))
            for k in range(plan.num_training_steps)
        ]
    if name == "exponential":
        return [
            base_lr * (k / max(1, w) if k < w else params["gamma"] ** ((k - w) / spe))
            for k in range(plan.num_training_steps)
        ]
    if name == "warmup_stable_decay":
        params["num_decay_steps"] = max(
            1, round(params.pop("decay_ratio") * plan.num_training_steps)
        )
    if name == "inverse_sqrt" and params.get("timescale") is None:
        params.pop("timescale")
    opt = torch.optim.AdamW([torch.zeros(2, requires_grad=True)], lr=base_lr)
    sched = get_scheduler(
        name,
        opt,
        num_warmup_steps=w,
        num_training_steps=plan.num_training_steps,
        scheduler_specific_kwargs=params,
    )
    out = []
    for _ in range(plan.num_training_steps):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
@pytest.mark.parametrize(("accum", "ratio"), [(1, 0.1), (4, 0.2), (8, 0.05)])
def test_every_scheduler_matches_reference_at_every_step(
    name: str, accum: int, ratio: float
) -> None:
    plan = plan_steps(
        num_examples=1000, batch_size=16, grad_accum=accum, num_epochs=3, warmup_ratio=ratio
    )
    base = 3e-4
    kwargs = {"gamma": 0.7, "num_cycles": 2 if name == "cosine_with_restarts" else None}
    curve = lr_curve(name=name, plan=plan, base_lr=base, kwargs=kwargs)
    expected = _reference(name, plan, base, kwargs)
    assert len(curve) == plan.num_training_steps
    assert max(abs(a - b) for a, b in zip(curve, expected, strict=True)) <= 1e-12
    # Peak == base LR where peak_step says (the end of warmup; one update earlier for
    # transformers' cosine_warmup_with_min_lr), and not before.
    peak_at = peak_step(name, plan)
    assert abs(curve[peak_at] - base) <= 1e-12
    assert all(lr < base - 1e-12 for lr in curve[:peak_at])
    assert max(curve) <= base + 1e-12


def test_training_path_steps_scheduler_once_per_update() -> None:
    """Drive build_scheduler like the loop does: the LR of update k is lr_curve()[k]."""
    plan = plan_steps(num_examples=330, batch_size=32, grad_accum=4, num_epochs=2, warmup_ratio=0.2)
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = build_scheduler(opt, name="cosine", plan=plan)
    seen = []
    for _epoch in range(plan.num_epochs):
        last = plan.batches_per_epoch - 1
        for i in range(plan.batches_per_epoch):
            if is_update_batch(i, grad_accum=4, last=last):
                seen.append(sched.get_last_lr()[0])
                opt.step()
                sched.step()
    assert seen == lr_curve(name="cosine", plan=plan, base_lr=1e-3)
    assert len(seen) == plan.num_training_steps == 6


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("nope", {}, "train.scheduler must be one of"),
        ("linear", {"gamma_typo": 1}, "not a scheduler parameter"),
        ("polynomial", {"lr_end": 1.0}, "lr_end must be below"),
        ("warmup_stable_decay", {"decay_ratio": 1.0}, "decay_ratio leaves no room"),
    ],
)
def test_bad_scheduler_settings(name: str, kwargs: dict, match: str) -> None:
    plan = plan_steps(num_examples=100, batch_size=10, num_epochs=1, warmup_ratio=0.1)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1e-3)
    with pytest.raises(ConfigError, match=match):
        build_scheduler(opt, name=name, plan=plan, kwargs=kwargs)


def test_preview_writes_png_and_prints_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "preview.png"
    code = preview(
        [
            "scheduler=cosine,linear,step",
            "warmup_ratio=0.1",
            "num_epochs=3",
            "num_examples=10000",
            "batch_size=32",
            f"out={out}",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "scheduler=cosine: steps/epoch=313 total=939 warmup=94" in printed
    assert "scheduler=step" in printed and "final_lr=" in printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000


def test_preview_rejects_unknown_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert preview(["warmup=0.1"]) == 2
    assert "preview key 'warmup' is unknown" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Scheduler parameters reach the schedule as numbers: step halves the LR twice in 3 epochs.
        (["scheduler=step", "gamma=0.5", "warmup_ratio=0"], "final_lr=2.5e-05"),
        (["scheduler=polynomial", "power=2", "lr_end=1e-6"], "final_lr=1e-06"),
        # false is false: 12,000 examples at batch 64 give ceil = 188 batches, floor = 187.
        (["drop_last=false", "num_examples=12000", "batch_size=64"], "steps/epoch=188"),
        (["drop_last=true", "num_examples=12000", "batch_size=64"], "steps/epoch=187"),
    ],
)
def test_preview_parses_values_as_yaml(
    args: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preview([*args, "num_epochs=3", "lr=1e-4", f"out={tmp_path / 'p.png'}"]) == 0
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("num_epochs=abc", "train.num_epochs must be an integer >= 1 but got 'abc'."),
        ("lr=0", "train.lr must be a number in (0, 1000] but got 0."),
        ("gamma=-1", "train.scheduler_kwargs.gamma must be a number in (0, 1] or null"),
        ("warmup_steps=100000", "train.warmup_steps must be in [0, "),
        ("num_examples=1.5", "preview num_examples must be an integer but got 1.5."),
        ("log=maybe", "preview log must be true or false but got 'maybe'."),
        ("lr=[1", "preview lr='[1' is not a YAML scalar."),
    ],
)
def test_preview_rejects_bad_values_in_one_line(
    arg: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert preview([arg, f"out={tmp_path / 'p.png'}"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_a_one_update_schedule_trains_at_a_nonzero_lr(name: str) -> None:
    # Issue 14 #10: one optimizer step in total used to get ceil(0.1 * 1) = 1 warmup step:
    # polynomial divided by zero inside transformers and the others trained at LR 0.
    plan = plan_steps(num_examples=10, batch_size=10, num_epochs=1, warmup_ratio=0.1)
    assert plan.num_training_steps == 1 and plan.num_warmup_steps == 0
    curve = lr_curve(name=name, plan=plan, base_lr=1e-3, kwargs={})
    assert len(curve) == 1 and curve[0] > 0


@pytest.mark.parametrize(("scheduler", "warmup"), [("constant", 0), ("linear", 94)])
def test_constant_records_no_warmup(scheduler: str, warmup: int) -> None:
    from sweeper.config import compose
    from sweeper.settings import TrainSettings

    train = compose([f"train.scheduler={scheduler}", "train.warmup_ratio=0.1"])["train"]
    settings = TrainSettings.from_mapping(dict(train))
    plan = settings.plan(10_016)  # 313 batches of 32, 3 epochs: 939 steps
    assert plan.num_training_steps == 939 and plan.num_warmup_steps == warmup


@pytest.mark.parametrize(
    ("batches", "accum", "expected"),
    [(10, 4, [4, 4, 4, 4, 4, 4, 4, 4, 2, 2]), (8, 4, [4] * 8), (3, 1, [1, 1, 1]), (2, 8, [2, 2])],
)
def test_update_group_size_averages_each_update_over_its_own_batches(
    batches: int, accum: int, expected: list[int]
) -> None:
    from sweeper.schedule import update_group_size

    sizes = [update_group_size(i, grad_accum=accum, batches=batches) for i in range(batches)]
    assert sizes == expected
    # Each update's group ends where is_update_batch fires, and holds `size` batches.
    ends = [i for i in range(batches) if is_update_batch(i, grad_accum=accum, last=batches - 1)]
    starts = [0, *(e + 1 for e in ends[:-1])]
    assert [e - s + 1 for s, e in zip(starts, ends, strict=True)] == [sizes[e] for e in ends]
