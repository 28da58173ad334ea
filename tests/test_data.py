"""GLUE readers (every layout), the hub loader on a local repository, the built-in task."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from objectives.glue import builtin
from objectives.glue.data import load_task_data
from objectives.glue.subsets import stratified_split
from objectives.glue.tasks import TASKS, get_task
from objectives.glue.tsv import read_tsv
from sweeper.errors import ConfigError, DataError
from tests.glue_fixtures import make_glue_dir, write_tsv


def _cfg(**kwargs: Any) -> dict[str, Any]:
    return {
        "task": "sst2",
        "source": "glue_dir",
        "glue_dir": None,
        "hub_id": "nyu-mll/glue",
        "max_train_samples": None,
        "max_eval_samples": None,
        "validation": "dev",
        "validation_size": 0.1,
        "max_seq_length": 128,
        **kwargs,
    }


@pytest.mark.parametrize(
    ("task", "train_rows", "dev_rows", "balance"),
    [
        ("sst2", 67_349, 872, {1: 37_569, 0: 29_780}),
        ("mrpc", 3_668, 408, {1: 2_474, 0: 1_194}),
        ("cola", 8_551, 1_043, {1: 6_023, 0: 2_528}),
    ],
)
def test_shared_glue_official_row_counts(
    glue_dir: Path, task: str, train_rows: int, dev_rows: int, balance: dict[int, int]
) -> None:
    data = load_task_data(_cfg(task=task, glue_dir=str(glue_dir)), seed=0)
    assert data.source == "glue_dir"
    assert len(data.train) == train_rows
    assert len(data.evals["validation"]) == dev_rows
    assert dict(Counter(data.train.labels)) == balance
    assert (data.train.text_b is not None) == (task == "mrpc")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_layout_reads(tmp_path: Path, task: str) -> None:
    glue = make_glue_dir(tmp_path, n_train=30, n_dev=9)
    data = load_task_data(_cfg(task=task, glue_dir=str(glue)), seed=0)
    spec = get_task(task)
    assert len(data.train) == 30 and len(data.evals["validation"]) == 9
    assert (data.train.text_b is not None) == spec.is_pair
    if spec.is_regression:
        assert all(isinstance(x, float) and 0 <= x <= 5 for x in data.train.labels)
    else:
        assert set(data.train.labels) == set(range(spec.num_labels))
    if task == "mnli":
        assert set(data.evals) == {"validation", "mismatched"}
    if task == "mrpc":  # the byte-order mark must not leak into the first column name or text
        assert not data.train.text_a[0].startswith("\ufeff")


def test_string_labels_map_in_hub_order(tmp_path: Path) -> None:
    glue = make_glue_dir(tmp_path, n_train=6, tasks=["MNLI", "QNLI"])
    mnli = load_task_data(_cfg(task="mnli", glue_dir=str(glue)), seed=0)
    assert mnli.train.labels[:3] == [0, 1, 2]  # entailment, neutral, contradiction
    assert mnli.label_names == ("entailment", "neutral", "contradiction")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", r"train.tsv: file is empty"),
        ("sentence\tlabel\n", "no examples"),
        ("sentence\tscore\nok\t1\n", r"train.tsv:1: missing column 'label'"),
        (
            "sentence\tlabel\nfine\t1\nbroken row\n",
            r"train.tsv:3: expected 2 tab-separated fields but got 1",
        ),
        ("sentence\tlabel\nfine\tyes\n", r"train.tsv:2: label 'yes' is not one of \['0', '1'\]"),
        ("sentence\tlabel\nfine\t2\n", r"train.tsv:2: label '2' is not one of"),
        ('sentence\tlabel\n"quoted\t1\nnext\t0\n', None),  # quotes are text, not CSV quoting
    ],
)
def test_malformed_tsv_names_file_and_line(tmp_path: Path, content: str, match: str | None) -> None:
    (tmp_path / "SST-2").mkdir()
    path = tmp_path / "SST-2" / "train.tsv"
    path.write_text(content)
    if match is None:
        split = read_tsv(path, get_task("sst2"))
        assert split.text_a == ['"quoted', "next"]
        return
    with pytest.raises(DataError, match=match) as info:
        read_tsv(path, get_task("sst2"))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_stsb_scores_outside_range_fail(tmp_path: Path) -> None:
    glue = make_glue_dir(tmp_path, tasks=["STS-B"])
    path = glue / "STS-B" / "dev.tsv"
    lines = path.read_text().splitlines()
    lines[1] = "\t".join([*lines[1].split("\t")[:-1], "7.5"])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"dev.tsv:2: label '7.5' is not a score in \[0, 5\]"):
        load_task_data(_cfg(task="stsb", glue_dir=str(glue)), seed=0)


def test_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="SST-2: folder not found"):
        load_task_data(_cfg(glue_dir=str(tmp_path)), seed=0)
    (tmp_path / "SST-2").mkdir()
    write_tsv(tmp_path / "SST-2" / "train.tsv", ["sentence", "label"], [["a", "1"]])
    with pytest.raises(DataError, match=r"SST-2/dev.tsv: file not found"):
        load_task_data(_cfg(glue_dir=str(tmp_path)), seed=0)
    with pytest.raises(DataError, match="is not a folder"):
        load_task_data(_cfg(glue_dir=str(tmp_path / "nope")), seed=0)
    with pytest.raises(ConfigError, match=r"data\.source=glue_dir needs data\.glue_dir"):
        load_task_data(_cfg(glue_dir=None), seed=0)


def test_subsets_are_seeded_stratified_and_capped(tmp_path: Path) -> None:
    glue = make_glue_dir(tmp_path, n_train=200, n_dev=50, tasks=["SST-2"])
    a = load_task_data(_cfg(glue_dir=str(glue), max_train_samples=40, max_eval_samples=10), seed=1)
    b = load_task_data(_cfg(glue_dir=str(glue), max_train_samples=40, max_eval_samples=10), seed=1)
    c = load_task_data(_cfg(glue_dir=str(glue), max_train_samples=40), seed=2)
    assert a.train == b.train and a.train != c.train
    assert len(a.train) == 40 and len(a.evals["validation"]) == 10
    assert Counter(a.train.labels) == {0: 20, 1: 20}
    big = load_task_data(_cfg(glue_dir=str(glue), max_train_samples=10_000), seed=1)
    assert len(big.train) == 200 and any("using all" in n for n in big.notes)


def test_validation_from_train_keeps_dev_as_test(tmp_path: Path) -> None:
    glue = make_glue_dir(tmp_path, n_train=100, n_dev=20, tasks=["SST-2"])
    full = load_task_data(_cfg(glue_dir=str(glue)), seed=0)
    data = load_task_data(
        _cfg(glue_dir=str(glue), validation="from_train", validation_size=0.2), seed=0
    )
    assert len(data.train) == 80 and len(data.evals["validation"]) == 20
    assert set(data.evals) == {"validation", "test"}
    assert data.evals["test"] == full.evals["validation"]  # dev untouched, kept as the test set
    # Train and the held-out validation split partition the original training examples.
    assert Counter(data.train.text_a) + Counter(data.evals["validation"].text_a) == Counter(
        full.train.text_a
    )
    assert Counter(data.evals["validation"].labels) == {0: 10, 1: 10}


def test_stratified_split_regression_and_tiny_classes() -> None:
    chosen, rest = stratified_split([0.1, 4.9, 2.5, 2.6, 0.2, 4.8], 3, seed=0, regression=True)
    assert len(chosen) == 3 and sorted(chosen + rest) == list(range(6))
    chosen, _ = stratified_split([0, 0, 0, 0, 1], 2, seed=0)  # class 1 too small to stratify
    assert len(chosen) == 2


def _hub_repo(root: Path) -> Path:
    import datasets

    feat = datasets.Features(
        {
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["negative", "positive"]),
            "idx": datasets.Value("int32"),
        }
    )
    (root / "sst2").mkdir(parents=True)
    for split, n in (("train", 24), ("validation", 8)):
        ds = datasets.Dataset.from_dict(
            {
                "sentence": [f"text {i}" for i in range(n)],
                "label": [i % 2 for i in range(n)],
                "idx": list(range(n)),
            },
            features=feat,
        )
        ds.to_parquet(str(root / "sst2" / f"{split}-00000-of-00001.parquet"))
    (root / "README.md").write_text(
        "---\nconfigs:\n- config_name: sst2\n  data_files:\n"
        "  - split: train\n    path: sst2/train-*\n"
        "  - split: validation\n    path: sst2/validation-*\n---\n"
    )
    return root


def test_hub_code_path_on_a_local_repository(tmp_path: Path) -> None:
    repo = _hub_repo(tmp_path / "glue-repo")
    data = load_task_data(
        _cfg(source="hub", hub_id=str(repo), hub_cache_dir=str(tmp_path / "cache")), seed=0
    )
    assert data.source == "hub" and len(data.train) == 24 and len(data.evals["validation"]) == 8
    assert data.train.text_a[1] == "text 1" and data.train.labels[:2] == [0, 1]


def test_hub_unreachable_is_a_clear_error_or_a_loud_fallback(tmp_path: Path) -> None:
    cfg = _cfg(source="hub", hub_id="nyu-mll/glue", hub_cache_dir=str(tmp_path / "empty-cache"))
    with pytest.raises(
        DataError, match=r"data.source=hub: cannot load nyu-mll/glue \(sst2\).*data.source=builtin"
    ):
        load_task_data(cfg, seed=0)
    auto = load_task_data(
        {**cfg, "source": "auto", "builtin": {"num_train": 50, "num_eval": 10}}, seed=0
    )
    assert auto.source == "builtin" and any("hub unavailable" in n for n in auto.notes)
    assert len(auto.train) == 50
    assert not any("stands in for sst2 only" in n for n in auto.notes)
    # Another task does not: the demo data stands in for sst2 only, unless asked for.
    fallback = {**cfg, "source": "auto", "builtin": {"num_train": 50, "num_eval": 10}}
    with pytest.raises(DataError, match=r"data.task=mrpc: no data: data.glue_dir \(GLUE_DIR\)"):
        load_task_data({**fallback, "task": "mrpc"}, seed=0)
    mrpc = load_task_data({**fallback, "task": "mrpc", "source": "builtin"}, seed=0)
    assert mrpc.source == "builtin" and mrpc.task.name == "sst2"
    assert any(n.startswith("data.task=mrpc: the built-in task stands in") for n in mrpc.notes)


def test_builtin_task_is_deterministic_and_noisy() -> None:
    a = builtin.generate(num_train=500, num_eval=100, label_noise=0.1, seed=3)
    b = builtin.generate(num_train=500, num_eval=100, label_noise=0.1, seed=3)
    c = builtin.generate(num_train=500, num_eval=100, label_noise=0.1, seed=4)
    clean = builtin.generate(num_train=500, num_eval=100, label_noise=0.0, seed=3)
    assert a == b and a != c
    assert a.train_texts == clean.train_texts
    flipped = sum(x != y for x, y in zip(a.train_labels, clean.train_labels, strict=True))
    assert 25 <= flipped <= 75  # about 10 % of 500
    assert 0.3 < sum(a.eval_labels) / 100 < 0.7
    assert any(" but " in t for t in a.train_texts) and any(" not " in t for t in a.train_texts)
    with pytest.raises(ValueError, match="label_noise"):
        builtin.generate(num_train=5, num_eval=5, label_noise=0.6, seed=0)


def test_qqp_skips_malformed_rows_and_says_how_many(tmp_path: Path) -> None:
    glue = make_glue_dir(tmp_path, n_train=20, n_dev=6, tasks=["QQP", "SST-2"])
    train = glue / "QQP" / "train.tsv"
    lines = train.read_text().splitlines()
    # Like the real QQP train.tsv: a question cut by a newline gives two short rows.
    lines[3:4] = ["\t".join(lines[3].split("\t")[:4]), "rest of the question?\t1"]
    lines.append("7\t8\t9\tonly one question?")
    train.write_text("\n".join(lines) + "\n")
    data = load_task_data(_cfg(task="qqp", glue_dir=str(glue)), seed=0)
    assert len(data.train) == 19  # 20 rows, one broken in two, plus one short row: 3 skipped
    assert any("train.tsv: skipped 3 malformed row(s)" in n for n in data.notes)
    assert not any("dev.tsv" in n for n in data.notes)
    # Other tasks stay strict.
    sst = glue / "SST-2" / "train.tsv"
    sst.write_text(sst.read_text() + "broken row\n")
    with pytest.raises(DataError, match="expected 2 tab-separated fields but got 1"):
        load_task_data(_cfg(task="sst2", glue_dir=str(glue)), seed=0)
