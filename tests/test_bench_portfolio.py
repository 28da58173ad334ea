"""scripts/bench_portfolio.py on tiny hand-made banks whose answers are known (seconds)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from scripts import bench_portfolio
from scripts._portfolio_pairs import judge
from sweeper.bank import Bank, save
from sweeper.portfolio import RECIPES, load_recipes
from sweeper.replay import default_policy
from tests.test_replay import bank_of, curve

LRS = (1e-5, 2e-5, 3e-5, 1e-4)


def _seeded(lr: float, seed: int, losses: list[float]) -> object:
    c = curve(lr, losses, [1.0, 2.0])
    return dataclasses.replace(c, params={"lr": lr, "seed": seed}, seed=seed)


def two_seed_bank() -> Bank:
    """lr 1e-4 is best on seed 1 by luck and worst on seed 2; lr 3e-5 is good on both."""
    losses = {
        1: {1e-5: [0.70, 0.69], 2e-5: [0.65, 0.64], 3e-5: [0.60, 0.55], 1e-4: [0.52, 0.50]},
        2: {1e-5: [0.70, 0.69], 2e-5: [0.66, 0.63], 3e-5: [0.61, 0.54], 1e-4: [0.80, 0.90]},
    }
    curves = [_seeded(lr, s, losses[s][lr]) for s in (1, 2) for lr in LRS]
    # Best of all on seed 1, but never recorded on seed 2: nothing can be judged on it.
    curves.append(_seeded(5e-5, 1, [0.40, 0.30]))
    bank = bank_of(*curves)  # type: ignore[arg-type]
    return dataclasses.replace(bank, task="toy-b", grid={"lr": [*LRS, 5e-5], "seed": [1, 2]})


def test_choices_are_judged_on_the_other_seed_at_the_end_of_its_schedule() -> None:
    bank = two_seed_bank()
    pairs = bench_portfolio.pairs_of(bank)
    assert [p.label for p in pairs] == [
        "selected on seed 1, judged on seed 2",
        "selected on seed 2, judged on seed 1",
    ]
    # A "recipe" grid of 3e-5 and 1e-4: seed 1 picks 1e-4 (0.50), judged on seed 2 at its end
    # (0.90); seed 2 picks 3e-5 (0.54), judged on seed 1 at its end (0.55).
    arm = bench_portfolio.recipe_arm("toy", [{"lr": 3e-5}, {"lr": 1e-4}, {"lr": 5e-5}], pairs)
    assert [j.val_loss for j in arm.judged if j is not None] == [0.90, 0.55]
    # lr 5e-5 maps to its nearest run recorded on both seeds (3e-5): three one-epoch runs.
    assert arm.epochs == [3.0, 3.0]


def test_command_prints_arms_side_by_side_and_writes_the_learned_portfolio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = dataclasses.replace(
        bank_of(*(curve(lr, [0.7 - lr * 1e3, 0.6 - lr * 2e3], [1.0, 2.0]) for lr in LRS)),
        task="toy-a",
    )
    paths = [save(one, tmp_path / "a.json.gz"), save(two_seed_bank(), tmp_path / "b.json.gz")]
    out_file = tmp_path / "learned.yaml"
    args = ["--reps", "2", "--k", "1", "--learned-out", str(out_file), "--min-configs", "1"]
    code = bench_portfolio.main([*map(str, paths), *args, "--json", str(tmp_path / "v.json")])
    out = capsys.readouterr().out
    assert code == 0
    for arm in ("recipe BERT", "recipe RoBERTa", "recipe Mosbach", "sweep portfolio=recipes"):
        assert f"| {arm} |" in out
    assert "sweep portfolio=none" in out and "sweep portfolio=learned" in out
    assert "selected on seed 1, judged on seed 2" in out
    assert "one seed: selected and judged on it" in out
    assert "| toy-a (" in out and "| toy-b (" in out  # each task held out once
    verdicts = json.loads((tmp_path / "v.json").read_text())
    assert set(verdicts) == {"a.json.gz", "b.json.gz"}
    for facts in verdicts["b.json.gz"].values():
        assert facts["best_recipe"].startswith("recipe ") and facts["recipe_seed_std"] >= 0
    (learned,) = load_recipes(out_file)
    assert learned.settings["lr"] in LRS


def test_a_bank_with_a_test_split_is_judged_there_not_on_validation() -> None:
    # Validation as in two_seed_bank; the test split disagrees with it on purpose (test =
    # 1 - validation), so a verdict read from validation would have the opposite sign.
    bank = two_seed_bank()
    bank = dataclasses.replace(
        bank,
        curves=tuple(
            dataclasses.replace(
                c, test_loss=tuple(1 - v for v in c.val_loss), test_metric=c.val_loss
            )
            for c in bank.curves
        ),
    )
    assert bench_portfolio.has_test(bank)
    pairs = bench_portfolio.pairs_of(bank)
    arm = bench_portfolio.recipe_arm("toy", [{"lr": 3e-5}, {"lr": 1e-4}], pairs)
    # The choices are made on validation as before (seed 1: 1e-4; seed 2: 3e-5) and judged on
    # the other seed's test curve at the same step.
    assert [j.test_value for j in arm.judged if j is not None] == pytest.approx([0.10, 0.45])
    line, facts = bench_portfolio.verdict(bank, [arm], arm)
    assert facts["judged_on"] == "test" and facts["recipe"] == pytest.approx(0.275)
    assert line.startswith("toy test val_loss 0.2750")


def test_a_partial_bank_with_fewer_configurations_than_k_still_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Two configurations recorded on both seeds (a bank stopped early), a portfolio of 3
    # asked: every configuration is the learned portfolio, and the arms are still shown.
    curves = [_seeded(lr, s, [0.6 + lr * 1e3, 0.5 + lr * 1e3]) for s in (1, 2) for lr in LRS[:2]]
    bank = dataclasses.replace(
        bank_of(*curves),  # type: ignore[arg-type]
        task="toy-b",
        grid={"lr": list(LRS[:2]), "seed": [1, 2]},
    )
    path = save(bank, tmp_path / "b.json.gz")
    assert bench_portfolio.main([str(path), "--reps", "1", "--k", "3", "--min-configs", "1"]) == 0
    out = capsys.readouterr().out
    assert "| sweep portfolio=recipes |" in out and "learned on every bank: " in out


def test_a_choice_is_judged_at_the_end_of_the_other_seeds_run_not_where_it_peaked() -> None:
    # Seed 1's lr 3e-5 peaks at its first evaluation; seed 2's run of it ends at 0.58 and
    # its own best validation checkpoint (its second evaluation) scores 0.63 on test.
    losses = {1: {3e-5: [0.40, 0.60, 0.62]}, 2: {3e-5: [0.60, 0.50, 0.58]}}
    curves = [
        dataclasses.replace(
            curve(3e-5, v, [1.0, 2.0, 3.0]),
            params={"lr": 3e-5, "seed": s},
            seed=s,
            test_loss=tuple(v),
            test_metric=tuple(1.2 - x - 0.07 * (x == 0.50) for x in v),
        )
        for s, by_lr in losses.items()
        for v in by_lr.values()
    ]
    bank = dataclasses.replace(bank_of(*curves), task="toy-d", grid={"lr": [3e-5], "seed": [1, 2]})
    pair = bench_portfolio.pairs_of(bank)[0]
    got = judge(pair, pair.select.curves[0])
    assert got is not None
    assert got.val_loss == pytest.approx(0.58) and got.test_value == pytest.approx(0.58)
    assert got.checkpoint_test_metric == pytest.approx(0.63)


def three_seed_bank() -> Bank:
    """lr 1e-4 is best on seed 1 by luck and poor on seeds 2 and 3; lr 3e-5 is good on all."""
    losses = {
        1: {
            2e-5: [0.66, 0.64, 0.63, 0.62],
            3e-5: [0.60, 0.57, 0.56, 0.55],
            1e-4: [0.56, 0.53, 0.51, 0.50],
        },
        2: {
            2e-5: [0.66, 0.65, 0.64, 0.63],
            3e-5: [0.60, 0.57, 0.55, 0.54],
            1e-4: [0.70, 0.75, 0.80, 0.90],
        },
        3: {
            2e-5: [0.66, 0.65, 0.64, 0.63],
            3e-5: [0.61, 0.58, 0.57, 0.56],
            1e-4: [0.75, 0.80, 0.85, 0.90],
        },
    }
    curves = [
        dataclasses.replace(
            curve(lr, v, [1.0, 2.0, 3.0, 4.0]), params={"lr": lr, "seed": s}, seed=s
        )
        for s, by_lr in losses.items()
        for lr, v in by_lr.items()
    ]
    bank = bank_of(*curves, num_epochs=2)
    return dataclasses.replace(
        bank, task="toy-c", grid={"lr": [2e-5, 3e-5, 1e-4], "seed": [1, 2, 3]}
    )


def test_a_recommendation_re_runs_the_sweeps_best_candidates_on_a_third_seed() -> None:
    pairs = bench_portfolio.pairs_of(three_seed_bank())
    assert len(pairs) == 6 and pairs[0].rerun is not None
    assert pairs[0].label == "swept on seed 1, candidates re-run on seed 2, judged on seed 3"
    first = pairs[:1]
    common = {"policy": default_policy(), "recipes": RECIPES, "reps": 3, "seed": 0}
    swept = bench_portfolio.sweep_arm("sweep", first, **common)
    recommended = bench_portfolio.recommend_arm("recommend", first, **common)
    # The sweep answers the lucky lr 1e-4 whenever it draws it; re-run on seed 2 it loses to
    # lr 3e-5, which is judged on seed 3 at the end of its schedule (0.56).
    assert [j.val_loss for j in recommended.judged if j is not None] == [0.56] * 3
    assert any(j is not None and j.val_loss > 0.7 for j in swept.judged)
    # The re-runs are counted: every recommendation costs more than its sweep.
    assert all(r > s for r, s in zip(recommended.epochs, swept.epochs, strict=True))
    # Two seeds leave none to re-run on: no recommendation is replayed.
    assert (
        bench_portfolio.recommend_arm(
            "r", bench_portfolio.pairs_of(two_seed_bank()), **common
        ).judged
        == []
    )
