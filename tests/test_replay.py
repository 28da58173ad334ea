"""The replay benchmark on hand-made banks whose answers are known."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from sweeper.bank import Bank, Curve, describe, save
from sweeper.replay import (
    Grid,
    Trace,
    best_mean,
    exhaustive_epochs,
    final_regret,
    make_policy,
    quantiles,
    regret,
    regret_at,
    regret_curve,
    replay,
    seed_means,
    space_of_bank,
    summarize,
    to_goal,
    train_defaults,
)
from sweeper.space import parse_space

LR_SPACE = parse_space({"lr": {"type": "float", "low": 1e-5, "high": 1e-4, "log": True}})


def curve(lr: float, losses: list[float], seconds: list[float], **extra: Any) -> Curve:
    epochs = len(losses) // 2
    return Curve(
        params={"lr": lr},
        seed=0,
        plan={
            "num_examples": 100,
            "batch_size": 10,
            "grad_accum": 1,
            "drop_last": False,
            "num_epochs": epochs,
            "batches_per_epoch": 10,
            "steps_per_epoch": 10,
            "num_training_steps": 10 * epochs,
            "num_warmup_steps": 1,
        },
        initial_loss=extra.get("initial_loss", 0.7),
        epoch=tuple(0.5 * (i + 1) for i in range(len(losses))),
        step=tuple(5 * (i + 1) for i in range(len(losses))),
        val_loss=tuple(losses),
        metric=tuple(1 - v for v in losses),
        seconds=tuple(seconds),
    )


def bank_of(*curves: Curve, num_epochs: int = 1) -> Bank:
    train = {k: v for k, v in train_defaults().items() if k != "lr"}
    return Bank(
        task="toy",
        monitor="val_loss",
        direction="minimize",
        metric="accuracy",
        evals_per_epoch=2,
        train={**train, "num_epochs": num_epochs},
        grid={"lr": sorted({c.params["lr"] for c in curves})},
        provenance={},
        curves=curves,
    )


# A good and a poor learning rate, one epoch (two evaluations) each.
GOOD = curve(1e-4, [0.6, 0.5], [3.0, 6.0])
POOR = curve(1e-5, [0.7, 0.65], [4.0, 8.0])
TWO = bank_of(GOOD, POOR)


def test_no_pruning_spends_every_epoch_and_regret_is_known() -> None:
    policy = make_policy("none", sampler="random", early_stopping=False)
    for trace in replay(TWO, policy, space=LR_SPACE, n_trials=6, reps=20):
        assert trace.epochs == pytest.approx([1.0 * (i + 1) for i in range(6)])
        per_trial = [6.0 if p == (1e-4,) else 8.0 for p in trace.points]
        assert trace.total_seconds == pytest.approx(sum(per_trial))
        found_good = (1e-4,) in trace.points
        assert regret(TWO, trace.incumbent[-1]) == pytest.approx(0.0 if found_good else 0.3)
        assert trace.stops == ["completed"] * 6


def test_nan_runs_never_count_as_the_banks_best() -> None:
    nan = math.nan
    # The first run recorded no finite value; the second one a NaN between finite ones.
    bank = bank_of(curve(1e-5, [nan, nan], [4.0, 8.0]), curve(1e-4, [0.6, nan], [3.0, 6.0]))
    assert math.isnan(bank.best_of(bank.curves[0]))
    assert bank.best_of(bank.curves[1]) == 0.6
    assert bank.best == 0.6
    assert "best val_loss 0.6000 with {'lr': 0.0001}" in describe(bank, Path("bank.json"))
    assert regret(bank, 0.6) == 0.0 and regret(bank, 0.9) == pytest.approx(0.5)
    maximized = dataclasses.replace(bank, monitor="accuracy", direction="maximize")
    assert maximized.best == pytest.approx(0.4)
    traces = replay(bank, make_policy("none"), space=LR_SPACE, n_trials=4, reps=5)
    assert all(not math.isnan(regret(bank, t.incumbent[-1])) for t in traces)


def test_early_stopping_ends_a_trial_after_patience_evaluations() -> None:
    bank = bank_of(curve(1e-4, [0.5, 0.6, 0.7, 0.4, 0.3, 0.2], [1, 2, 3, 4, 5, 6]), num_epochs=3)
    (with_es,) = replay(bank, make_policy("none"), space=LR_SPACE, n_trials=2, reps=1)
    # patience 2 (conf/train/default.yaml): stops after evaluation 3, at epoch 1.5, 3 s.
    assert train_defaults()["patience"] == 2
    assert with_es.epochs == pytest.approx([1.5, 3.0])
    assert with_es.seconds == pytest.approx([3.0, 6.0])
    assert with_es.stops == ["early_stopping"] * 2
    assert regret(bank, with_es.incumbent[-1]) == pytest.approx((0.5 - 0.2) / 0.2)
    (without,) = replay(
        bank, make_policy("none", early_stopping=False), space=LR_SPACE, n_trials=2, reps=1
    )
    assert without.epochs == pytest.approx([3.0, 6.0])
    assert regret(bank, without.incumbent[-1]) == 0.0


def test_early_stopping_waits_at_the_chance_level_the_bank_recorded() -> None:
    # A small-data curve on its plateau at chance (ln 2) for three evaluations, then learning.
    # The live sweep knows the task's chance level (TaskInfo.chance, recorded with the bank)
    # and waits; a replay that ignored it stopped the trial at evaluation 3 (patience 2).
    plateau = curve(1e-4, [0.693, 0.694, 0.695, 0.60, 0.50, 0.45], [1, 2, 3, 4, 5, 6])
    bank = dataclasses.replace(
        bank_of(plateau, num_epochs=3),
        provenance={"task_info": {"chance": {"val_loss": 0.693, "accuracy": 0.5}}},
    )
    assert bank.chance_of("val_loss") == 0.693 and bank.chance_of("matthews_corr") == 0.0
    assert bank_of(plateau).chance_of("val_loss") is None  # an older bank: unknown
    (trace,) = replay(bank, make_policy("none"), space=LR_SPACE, n_trials=1, reps=1)
    assert trace.epochs == pytest.approx([3.0])
    assert regret(bank, trace.incumbent[-1]) == 0.0


def test_pruned_trials_count_only_what_they_trained() -> None:
    policy = make_policy(
        "median", sampler="random", early_stopping=False, pruner_args={"n_startup_trials": 1}
    )
    traces = replay(TWO, policy, space=LR_SPACE, n_trials=8, reps=20)
    pruned_after_good = 0
    for trace in traces:
        spent = [b - a for a, b in zip([0.0, *trace.epochs], trace.epochs, strict=False)]
        seconds = [b - a for a, b in zip([0.0, *trace.seconds], trace.seconds, strict=False)]
        for i, (point, stop) in enumerate(zip(trace.points, trace.stops, strict=True)):
            assert spent[i] == pytest.approx(0.5 if stop == "pruned" else 1.0)
            assert seconds[i] == pytest.approx(
                {(1e-4,): 3.0, (1e-5,): 4.0}[point]
                if stop == "pruned"
                else {(1e-4,): 6.0, (1e-5,): 8.0}[point]
            )
            earlier = list(zip(trace.points[:i], trace.stops[:i], strict=True))
            if (
                point == (1e-5,)
                and ((1e-4,), "completed") in earlier
                and ((1e-5,), "completed") not in earlier
            ):
                # The median at evaluation 1 of finished trials is the good one's 0.6 < 0.7.
                assert stop == "pruned"
                pruned_after_good += 1
        assert all(
            stop == "completed"
            for p, stop in zip(trace.points, trace.stops, strict=True)
            if p == (1e-4,)
        )
    assert pruned_after_good > 0


def test_divergence_uses_the_recorded_initial_loss() -> None:
    bank = bank_of(curve(1e-4, [2.5, 2.4], [1, 2], initial_loss=0.7), GOOD)
    # Two curves for one point are two seeds; here: one diverging run vs a sane one.
    (trace,) = replay(
        bank, make_policy("none", early_stopping=False), space=LR_SPACE, n_trials=10, reps=1
    )
    assert "diverged" in trace.stops and "completed" in trace.stops


def test_grid_snaps_to_the_nearest_point_in_log_space() -> None:
    grid = Grid(TWO, LR_SPACE)
    # The log-midpoint is 3.16e-5; 5e-5 is nearer 1e-5 on a linear scale, 1e-4 on a log one.
    assert grid.nearest({"lr": 3.1e-5}) == (1e-5,)
    assert grid.nearest({"lr": 3.2e-5}) == (1e-4,)
    assert grid.nearest({"lr": 5e-5}) == (1e-4,)
    with pytest.raises(ValueError, match="must search exactly the bank's grid"):
        Grid(TWO, parse_space({"warmup_ratio": {"type": "float", "low": 0.0, "high": 0.2}}))


def test_figures_from_traces() -> None:
    a = Trace(epochs=[1, 2, 3], seconds=[10, 20, 30], incumbent=[0.65, 0.65, 0.5])
    b = Trace(epochs=[1, 2, 3], seconds=[5, 10, 15], incumbent=[math.inf, 0.503, 0.503])
    # One seed per point: a configuration's seed mean is its run's value.
    a.incumbent_mean, b.incumbent_mean = a.incumbent, b.incumbent
    assert to_goal(TWO, a) == (3, 30)
    assert to_goal(TWO, b) == (2, 10)  # 0.6 % regret
    assert regret_at(TWO, a, 2.5) == pytest.approx(0.3)
    assert regret_at(TWO, b, 0.5) == math.inf
    assert regret_curve(TWO, [a, a, b], [1, 3]) == [pytest.approx(0.3), 0.0]
    assert regret_curve(TWO, [a, b, b], [1, 3]) == [math.inf, pytest.approx(0.006)]
    assert quantiles([1, 2, 3, math.inf]) == [1, 2, 3]
    s = summarize(TWO, "x", [a, b])
    assert s.hit_rate == 1.0 and s.epochs == [3, 3, 3] and s.to_goal_epochs == [2, 2, 3]


def test_command_line_prints_tables_and_writes_the_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sweeper.commands.replay import main

    bank = bank_of(
        *(curve(lr, [0.7 - 1000 * lr, 0.69 - 1500 * lr], [1, 2]) for lr in (1e-5, 3e-5, 1e-4)),
    )
    path = save(bank, tmp_path / "toy.json.gz")
    # The default space searches four entries; this bank only lr: a space file with lr alone.
    space = tmp_path / "space.yaml"
    space.write_text("lr: {type: float, low: 1.0e-5, high: 1.0e-4, log: true}\n")
    args = [str(path), "--reps", "3", "--pruners", "none", "curve", "--samplers", "random"]
    figures = ["--png", str(tmp_path / "r.png"), "--json", str(tmp_path / "r.json")]
    assert main([*args, "--space", str(space), *figures]) == 0
    out = capsys.readouterr().out
    assert "random/none/es" in out and "random/curve/no-es" in out
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert '"toy"' in (tmp_path / "r.json").read_text()


def test_in_order_replays_each_run_once_as_recorded() -> None:
    # A finished exhaustive sweep, replayed as it ran: trial k is run k, whatever the sampler.
    runs = [POOR, GOOD, curve(3e-5, [0.68, 0.66], [2.0, 4.0])]
    bank = bank_of(*runs)
    policy = make_policy("median", early_stopping=False, pruner_args={"n_startup_trials": 1})
    traces = replay(bank, policy, space=LR_SPACE, n_trials=3, reps=50, in_order=True)
    assert len(traces) == 1  # deterministic: once
    (trace,) = traces
    assert trace.points == [(1e-5,), (1e-4,), (3e-5,)]
    # GOOD at evaluation 1 (0.6) beats the only finished trial's 0.7: kept. The third (0.68)
    # is worse than the median of 0.7 and 0.6 there: pruned after half an epoch.
    assert trace.stops == ["completed", "completed", "pruned"]
    assert trace.epochs == pytest.approx([1.0, 2.0, 2.5])
    assert trace.seconds == pytest.approx([8.0, 14.0, 16.0])
    assert regret(bank, trace.incumbent[-1]) == 0.0
    with pytest.raises(ValueError, match="n_trials must be <= the bank's 3 runs but got 4"):
        replay(bank, policy, space=LR_SPACE, n_trials=4, reps=1, in_order=True)


def test_replaying_a_real_sweep_in_order_makes_the_live_sweeps_decisions() -> None:
    # benchmarks/sweeps/sst2-12k-seed1.json.gz is the exhaustive arm of a real 16-trial sweep
    # (docs/benchmarks.md section 3). The live defaults arm on the same 16 trials, with the curve
    # pruner before horizon_power (0), trained 15.5 epochs, pruned 10 trials (all at their first
    # evaluation, trials 2-7, 10 after 2 evaluations, 12-14) and found the same best.
    from sweeper.bank import load

    root = Path(__file__).resolve().parent.parent
    bank = load(root / "benchmarks" / "sweeps" / "sst2-12k-seed1.json.gz")
    space = parse_space(
        {
            "lr": {"type": "float", "low": 1e-5, "high": 3e-4, "log": True},
            "warmup_ratio": {"type": "float", "low": 0.05, "high": 0.2},
            "num_epochs": {"type": "int", "low": 1, "high": 3},
            "scheduler": {
                "type": "categorical",
                "choices": ["linear", "cosine", "constant_with_warmup"],
            },
        }
    )
    # Recorded before train.select_window existed: its trials were ranked by their single best
    # evaluation (select_window=0).
    policy = dataclasses.replace(make_policy("curve-h0", sampler="random"), select_window=0)
    (trace,) = replay(bank, policy, space=space, n_trials=16, reps=1, in_order=True)
    pruned = [i for i, stop in enumerate(trace.stops) if stop == "pruned"]
    assert pruned == [2, 3, 4, 5, 6, 7, 10, 12, 13, 14]
    assert trace.total_epochs == pytest.approx(15.5)
    assert regret(bank, trace.incumbent[-1]) == 0.0


def seeded_bank() -> Bank:
    """lr x batch_size, two seeds each. The best run (0.50) is a lucky seed of a configuration
    whose seed mean (0.55) is worse than the best seed mean (0.525, lr 1e-4 at batch 32)."""
    values = {
        (1e-4, 16): (0.50, 0.60),
        (1e-4, 32): (0.52, 0.53),
        (1e-5, 16): (0.70, 0.70),
        (1e-5, 32): (0.68, 0.69),
    }
    runs = [
        dataclasses.replace(
            curve(lr, [value + 0.1, value], [1.0, 2.0]),
            params={"lr": lr, "batch_size": batch, "seed": seed},
            seed=seed,
        )
        for (lr, batch), pair in values.items()
        for seed, value in zip((1, 2), pair, strict=True)
    ]
    grid: dict[str, list[Any]] = {
        "lr": [1e-5, 1e-4],
        "batch_size": [16, 32],
        "seed": [1, 2],
        "scheduler": ["linear"],
    }
    return dataclasses.replace(bank_of(*runs), grid=grid)


def test_the_best_seed_mean_leaves_out_a_configuration_recorded_on_fewer_seeds() -> None:
    # A recording cut short: lr 1e-5 at batch 32 has only its lucky first seed (0.40). Its
    # "mean" is one run; the best seed mean is the best of the configurations on both seeds.
    bank = seeded_bank()
    cut = tuple(
        c
        for c in bank.curves
        if not (c.params["lr"] == 1e-5 and c.params["batch_size"] == 32 and c.seed == 2)
    )
    lucky = tuple(
        dataclasses.replace(c, val_loss=(0.5, 0.40))
        if c.params["lr"] == 1e-5 and c.params["batch_size"] == 32
        else c
        for c in cut
    )
    partial = dataclasses.replace(bank, curves=lucky)
    assert min(seed_means(partial).values()) == pytest.approx(0.40)
    assert best_mean(partial) == pytest.approx(0.525)


def test_the_trace_names_the_trial_that_gave_its_answer_even_at_a_tied_recorded_value() -> None:
    # Trials are ranked by their smoothed value, so a later, better-ranked answer can record
    # the same value at its point as an earlier one: the trace says which trial gave it.
    from sweeper.trial_reporter import Evaluation

    def point(value: float, smoothed: float) -> Evaluation:
        return Evaluation(index=1, step=10, epoch=1.0, val_loss=value, metrics={}, value=smoothed)

    first = dataclasses.replace(GOOD, val_loss=(0.5, 0.6))
    second = dataclasses.replace(POOR, val_loss=(0.5, 0.7))
    trace = Trace()
    for trial, (curve, smoothed) in enumerate([(first, 0.58), (second, 0.55)]):
        trace.consider(TWO, curve, point(0.5, smoothed), mean=0.6)
        trace.add(TWO, totals=(trial + 1.0, trial + 1.0), stop="completed", point=(1e-4,))
    assert trace.incumbent == [0.5, 0.5]  # the answers' own values at their points: a tie
    assert trace.answer == (second, 0) and trace.answer_trial == 1


def test_seeds_are_not_searched_and_regret_is_judged_by_seed_means() -> None:
    bank = seeded_bank()
    assert bank.best == 0.50 and best_mean(bank) == pytest.approx(0.525)
    assert exhaustive_epochs(bank) == 4.0 and bank.total_epochs == 8.0  # one run per config
    space = space_of_bank(bank)
    assert sorted(space.names) == ["batch_size", "lr"]  # not the seed, not a fixed entry
    grid = Grid(bank, space)
    assert grid.names == ["lr", "batch_size", "scheduler"]
    assert {len(runs) for runs in grid.runs.values()} == {2}
    assert grid.mean[(1e-4, 16, "linear")] == pytest.approx(0.55)
    with pytest.raises(
        ValueError, match=r"must search exactly the bank's grid \['batch_size', 'lr'\]"
    ):
        Grid(bank, LR_SPACE)
    policy = make_policy("none", sampler="random", early_stopping=False)
    traces = replay(bank, policy, space=space, n_trials=3, reps=60)
    seen: dict[tuple[Any, ...], set[float]] = {}
    for trace in traces:
        assert len(trace.incumbent_mean) == len(trace.incumbent) == 3
        # The incumbent's configuration is judged by its seed mean, never by its lucky seed.
        final = trace.incumbent[-1]
        mean = trace.incumbent_mean[-1]
        assert any(mean == pytest.approx(m) for m in grid.mean.values())
        if final == 0.50:
            assert mean == pytest.approx(0.55)
            assert final_regret(bank, trace) == 0.0
            assert final_regret(bank, trace, mean=True) == pytest.approx(0.025 / 0.525)
        if mean == pytest.approx(0.525):
            assert final_regret(bank, trace, mean=True) == 0.0
            assert to_goal(bank, trace, mean=True)[0] <= 3.0
    for trace in traces:
        for point, value in zip(trace.points, trace.incumbent, strict=True):
            seen.setdefault(point, set()).add(value)
    # A replayed trial of (1e-4, 16) drew either of its seeds: both were incumbents somewhere.
    assert {0.50, 0.60} <= seen[(1e-4, 16, "linear")]
    s = summarize(bank, "x", traces)
    assert 0.0 < s.mean_hit_rate < 1.0


def test_command_line_replays_a_seeded_bank_on_its_own_grid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sweeper.commands.replay import main

    path = save(seeded_bank(), tmp_path / "seeded.json.gz")
    # The default space does not search batch_size: --space auto falls back to the bank's grid.
    assert main([str(path), "--reps", "4", "--pruners", "none", "--samplers", "random"]) == 0
    out = capsys.readouterr().out
    assert "best config's seed mean 0.5250" in out and "searched ['batch_size', 'lr']" in out
    assert "exhaustive compute 4 epochs" in out and "of best seed mean" in out


def test_command_line_replays_on_the_task_metric_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The default sweep selects a classification task on its metric (sweep.objective=auto):
    # the replay can measure regret in it, maximized (accuracy here is 1 - val_loss).
    from sweeper.commands.replay import main

    path = save(seeded_bank(), tmp_path / "seeded.json.gz")
    args = [str(path), "--reps", "4", "--pruners", "none", "--samplers", "random"]
    assert main([*args, "--objective", "metric"]) == 0
    out = capsys.readouterr().out
    assert "best accuracy 0.5000 (best config's seed mean 0.4750)" in out


def test_a_bank_selects_on_the_loss_or_its_metric_in_the_metrics_direction() -> None:
    bank = seeded_bank()
    on_metric = bank.selecting_on("metric")
    assert (on_metric.monitor, on_metric.direction) == ("accuracy", "maximize")
    assert on_metric.best == pytest.approx(0.50)
    assert on_metric.selecting_on("val_loss").best == pytest.approx(0.50)  # the loss again
    rmse = dataclasses.replace(bank, metric="eval_loss").selecting_on("metric")
    assert rmse.direction == "minimize"
    with pytest.raises(ValueError, match="objective must be 'val_loss' or 'metric' but got 'f1'"):
        bank.selecting_on("f1")


def test_a_horizon_ladder_promotes_the_best_short_run_and_counts_its_retraining() -> None:
    from sweeper.replay import LADDERS, ladder_rungs

    assert ladder_rungs(20, horizons=3, eta=3) == [13, 5, 2]
    assert ladder_rungs(4, horizons=2, eta=3) == [3, 1]
    runs = [
        dataclasses.replace(
            curve(lr, [value + 0.1, value] * epochs, [1.0, 2.0] * epochs),
            params={"lr": lr, "num_epochs": epochs},
        )
        for lr, value in ((1e-5, 0.7), (3e-5, 0.6), (1e-4, 0.5))
        for epochs in (1, 2)
    ]
    grid: dict[str, list[Any]] = {"lr": [1e-5, 3e-5, 1e-4], "num_epochs": [1, 2]}
    bank = dataclasses.replace(bank_of(*runs), grid=grid)
    space = space_of_bank(bank)
    policy = make_policy("ladder", sampler="random", early_stopping=False)
    assert policy.ladder == LADDERS["ladder"] == 3
    for trace in replay(bank, policy, space=space, n_trials=4, reps=10):
        # Three 1-epoch runs, then the best of them retrained at 2 epochs: 3 + 2 epochs.
        assert trace.epochs == pytest.approx([1.0, 2.0, 3.0, 5.0])
        assert [p[1] for p in trace.points] == [1, 1, 1, 2]
        best_short = min(trace.points[:3], key=lambda p: {1e-5: 0.7, 3e-5: 0.6, 1e-4: 0.5}[p[0]])
        assert trace.points[3] == (best_short[0], 2)
    with pytest.raises(ValueError, match="a horizon ladder needs num_epochs"):
        replay(TWO, policy, space=LR_SPACE, n_trials=4, reps=1)


def test_a_replayed_sweep_runs_the_fitted_portfolio_first() -> None:
    from sweeper.portfolio import RECIPES
    from sweeper.replay import portfolio_queue

    lrs = (1e-5, 2e-5, 3e-5, 1e-4)
    bank = bank_of(*(curve(lr, [0.7 - lr * 1e3, 0.6 - lr * 1e3], [1.0, 2.0]) for lr in lrs))
    policy = make_policy("none", sampler="random", early_stopping=False)
    # The live fit on an lr-only space: the recipes' lr {2, 2, 2, 3, 1, 5}e-5, deduplicated,
    # capped at half of 6 trials, in the table's order.
    queued = portfolio_queue(bank, policy, space=LR_SPACE, recipes=RECIPES, n_trials=6)
    assert queued == [{"lr": 2e-5}, {"lr": 3e-5}, {"lr": 1e-5}]
    for trace in replay(bank, policy, space=LR_SPACE, n_trials=6, reps=5, queued=queued):
        assert trace.points[:3] == [(2e-5,), (3e-5,), (1e-5,)]
    assert portfolio_queue(bank, policy, space=LR_SPACE, recipes=(), n_trials=6) == []


@pytest.mark.parametrize(
    ("ranked", "points", "k", "top"),
    [
        ([0.5, 0.4, 0.6], [(1,), (2,), (3,)], 2, [(2,), (1,)]),
        # A point drawn twice counts once, at its better trial; pruned trials (inf) never.
        ([0.5, 0.4, 0.3, math.inf], [(1,), (2,), (1,), (4,)], 3, [(1,), (2,)]),
        ([math.inf], [(1,)], 3, []),
    ],
)
def test_a_traces_top_points_are_its_best_distinct_finished_configurations(
    ranked: list[float], points: list[tuple[Any, ...]], k: int, top: list[tuple[Any, ...]]
) -> None:
    trace = Trace(ranked=ranked, points=points)
    assert trace.top_points(k) == top


def test_a_replayed_trace_ranks_each_trial_as_the_study_does() -> None:
    policy = make_policy("none", sampler="random", early_stopping=False)
    (trace,) = replay(TWO, policy, space=LR_SPACE, n_trials=4, reps=1)
    # The median-smoothed best points (select_window 1; at an edge the median of the two
    # values there) of GOOD (0.6, 0.5) and POOR (0.7, 0.65), signed for minimizing.
    assert len(trace.ranked) == 4
    for point, value in zip(trace.points, trace.ranked, strict=True):
        assert value == pytest.approx(0.55 if point == (1e-4,) else 0.675)
