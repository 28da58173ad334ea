"""Your own data: files in every format, a hub-layout folder, task types, labels, metrics."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from objectives.glue.data import check_config, load_task_data
from objectives.glue.metrics import compute_metrics
from sweeper.errors import ConfigError, DataError
from tests.data_fixtures import make_hub_repo, rows, write


def _files(tmp_path: Path, **kwargs: Any) -> dict[str, Any]:
    return {
        "preset": None,
        "source": "files",
        "task": "mine",
        "train_file": None,
        "validation_file": None,
        "test_file": None,
        "format": None,
        "text_columns": ["text"],
        "label_column": "label",
        "task_type": "auto",
        "validation": "dev",
        "validation_size": 0.1,
        "max_train_samples": None,
        "max_eval_samples": None,
        "max_seq_length": 128,
        "cache_dir": str(tmp_path / "cache"),
        **kwargs,
    }


def _hub(tmp_path: Path, repo: Path, **kwargs: Any) -> dict[str, Any]:
    hub = {
        "source": "hub",
        "hub_id": str(repo),
        "hub_config": "reviews",
        "hub_revision": None,
        "hub_cache_dir": str(tmp_path / "hf"),
        "train_split": "train",
        "validation_split": "dev",
        "test_split": None,
        "text_columns": ["review"],
    }
    return _files(tmp_path, **{**hub, **kwargs})


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_every_format_reads_the_same_examples(tmp_path: Path, fmt: str) -> None:
    train = write(tmp_path / f"train.{fmt}", rows(30, pair=True))
    dev = write(tmp_path / f"dev.{fmt}", rows(10, seed=1, pair=True))
    data = load_task_data(
        _files(
            tmp_path,
            train_file=str(train),
            validation_file=str(dev),
            text_columns=["text", "context"],
        ),
        seed=0,
    )
    expected = rows(30, pair=True)
    assert data.source == "files" and data.origin == str(train.resolve())
    assert data.train.text_a == [r["text"] for r in expected]
    assert data.train.text_b == [r["context"] for r in expected]
    # Classes in sorted order of train's labels: neg -> 0, pos -> 1; recorded as names.
    assert data.train.labels == [["neg", "pos"].index(r["label"]) for r in expected]
    assert data.label_names == ("neg", "pos") and data.task.metrics == ("accuracy", "f1")
    assert len(data.evals["validation"]) == 10
    assert "classification, 2 classes ['neg', 'pos'] (inferred" in data.description


def test_format_from_the_option_when_the_extension_says_nothing(tmp_path: Path) -> None:
    train = write(tmp_path / "train.txt", rows(12), fmt="tsv")
    dev = write(tmp_path / "dev.data", rows(6), fmt="tsv")
    cfg = _files(tmp_path, train_file=str(train), validation_file=str(dev))
    with pytest.raises(ConfigError, match=r"data.train_file=.*train.txt: unknown format '.txt'"):
        check_config(cfg)
    assert len(load_task_data({**cfg, "format": "tsv"}, seed=0).train) == 12


QUOTED_TEXTS = ['"hello there', "world", 'say "hi"', '"quoted" thing', "a", "b", '"', "c"]


@pytest.mark.parametrize(("name", "fmt"), [("train.tsv", None), ("train.txt", "tsv")])
def test_tsv_quotes_are_text_and_no_row_is_lost(tmp_path: Path, name: str, fmt: str | None) -> None:
    # CSV quoting would let the first text swallow lines up to the next quote (8 rows -> 5).
    table = [{"text": t, "label": ["neg", "pos"][i % 2]} for i, t in enumerate(QUOTED_TEXTS)]
    train = write(tmp_path / name, table, fmt="tsv")
    cfg = _files(tmp_path, train_file=str(train), validation_file=str(train), format=fmt)
    data = load_task_data(cfg, seed=0)
    assert data.train.text_a == QUOTED_TEXTS
    assert data.train.labels == [i % 2 for i in range(len(QUOTED_TEXTS))]


def test_csv_quoting_is_read_as_csv(tmp_path: Path) -> None:
    train = tmp_path / "train.csv"
    train.write_text(
        'text,label\n"a ""b"" c",pos\n"two\nlines",neg\nx "y" z,pos\n"d, e",neg\n',
        encoding="utf-8",
    )
    data = load_task_data(
        _files(tmp_path, train_file=str(train), validation_file=str(train)), seed=0
    )
    assert data.train.text_a == ['a "b" c', "two\nlines", 'x "y" z', "d, e"]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        # An unterminated quote: the rest of the file would be one text.
        (
            'text,label\nfine,pos\n"hello there,pos\nworld,neg\nsay hi,pos\n',
            r"train.csv:3: a quote opened in the record starting here is never closed",
        ),
        # A stray quote swallows two lines up to the next quote: pandas merges 3 rows into 1.
        (
            'text,label\n"hello there,pos\nworld,neg\n"quoted" thing,pos\nfine,neg\n',
            r"train.csv:2: broken quoting in the record starting here \(line 4: ',' expected",
        ),
        # Text after a closing quote: pandas drops the quotes.
        (
            'text,label\nfine,neg\n"great" film,pos\n',
            r"train.csv:3: broken quoting .*read as is, its quotes would vanish",
        ),
    ],
    ids=["unterminated", "swallowing", "text-after-quote"],
)
def test_broken_csv_quoting_is_refused_with_its_line(
    tmp_path: Path, content: str, match: str
) -> None:
    train = tmp_path / "train.csv"
    train.write_text(content, encoding="utf-8")
    cfg = _files(tmp_path, train_file=str(train), validation_file=str(train))
    with pytest.raises(DataError, match=match):
        load_task_data(cfg, seed=0)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_text_columns_of_numbers_are_read_as_written(tmp_path: Path, fmt: str) -> None:
    texts = ["007", "1.50", "1e3", "-0", "12", "3.0"]
    table = [
        {"text": t, "context": str(i), "label": ["neg", "pos"][i % 2]} for i, t in enumerate(texts)
    ]
    train = write(tmp_path / f"train.{fmt}", table)
    cfg = _files(
        tmp_path,
        train_file=str(train),
        validation_file=str(train),
        text_columns=["text", "context"],
    )
    data = load_task_data(cfg, seed=0)
    assert data.train.text_a == texts
    assert data.train.text_b == [str(i) for i in range(len(texts))]


def test_multiclass_integer_labels_and_macro_f1(tmp_path: Path) -> None:
    table = [{"text": f"t {i}", "label": [3, 7, 5][i % 3]} for i in range(30)]
    train = write(tmp_path / "train.csv", table)
    dev = write(tmp_path / "dev.csv", table[:9])
    data = load_task_data(_files(tmp_path, train_file=str(train), validation_file=str(dev)), seed=0)
    assert data.task.num_labels == 3 and data.label_names == ("3", "5", "7")
    assert data.train.labels[:3] == [0, 2, 1]
    assert data.task.metrics == ("accuracy", "macro_f1")
    metrics = compute_metrics(data.task, [0, 1, 2, 2], [0, 1, 2, 1])
    assert metrics["accuracy"] == 0.75
    assert metrics["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_binary_f1_is_the_second_class(tmp_path: Path) -> None:
    train = write(tmp_path / "train.jsonl", [{"text": "x", "label": b} for b in (True, False) * 5])
    data = load_task_data(
        _files(tmp_path, train_file=str(train), validation="from_train", validation_size=4),
        seed=0,
    )
    assert data.label_names == ("False", "True")
    # Gold [1, 1, 0, 0], predicted [1, 0, 0, 0]: F1 of class 1 is 2/3 (of class 0 it is 0.8).
    assert compute_metrics(data.task, [1, 0, 0, 0], [1, 1, 0, 0])["f1"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("labels", "task_type", "regression"),
    [
        ([0.5, 1.5, 2.25, 4.0], "auto", True),  # floats: regression
        ([0.0, 1.0, 0.0, 1.0], "classification", False),  # floats named classes on request
        ([0.0, 1.0, 0.0, 1.0], "auto", False),  # a few whole numbers: class ids
        ([1.0, 3.0, 2.0, 3.0], "auto", False),
        ([0.0, 1.0, 0.0, 1.0], "regression", True),  # unless the option says otherwise
        ([float(i) for i in range(12)], "auto", True),  # many whole numbers: a score
        (["0.5", "1.5", "2.25", "4"], "regression", True),  # numbers in a text column
        ([1, 2, 3, 4], "regression", True),
        ([1, 2, 3, 4], "auto", False),  # integers: classes
    ],
)
def test_task_type_from_the_label_column_or_the_option(
    tmp_path: Path, labels: list[Any], task_type: str, regression: bool
) -> None:
    train = write(
        tmp_path / "train.parquet",
        [{"text": f"t{i}", "label": x} for i, x in enumerate(labels * 3)],
    )
    data = load_task_data(
        _files(
            tmp_path,
            train_file=str(train),
            task_type=task_type,
            validation="from_train",
            validation_size=3,
        ),
        seed=0,
    )
    assert data.task.is_regression == regression
    if regression:
        assert data.task.metrics == ("pearson", "spearman") and data.label_names is None
        assert all(isinstance(x, float) for x in data.train.labels)
        assert "regression, MSE loss" in data.description
    else:
        assert all(isinstance(x, int) for x in data.train.labels)


def test_class_ids_written_as_floats_are_classes_and_the_start_line_says_so(
    tmp_path: Path,
) -> None:
    table = [{"text": f"t{i}", "label": ["0.0", "1.0"][i % 2]} for i in range(12)]
    train = write(tmp_path / "train.csv", table)
    data = load_task_data(
        _files(tmp_path, train_file=str(train), validation_file=str(train)), seed=0
    )
    assert not data.task.is_regression and data.task.metrics == ("accuracy", "f1")
    assert data.label_names == ("0.0", "1.0")
    assert data.train.labels == [i % 2 for i in range(12)]
    assert data.description == (
        "classification, 2 classes ['0.0', '1.0'] (inferred from label column 'label' of type "
        "float64 holding only the whole numbers [0, 1]: taken as classes; set "
        "data.task_type=regression to regress on them)"
    )


def test_regression_metrics_are_pearson_and_spearman(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", rows(40, task="regression"))
    data = load_task_data(
        _files(tmp_path, train_file=str(train), validation="from_train", validation_size=0.25),
        seed=0,
    )
    metrics = compute_metrics(data.task, [0.1, 0.4, 0.2, 0.9], [1.0, 2.0, 3.0, 4.0])
    assert set(metrics) == {"pearson", "spearman"} and metrics["spearman"] == pytest.approx(0.8)


def test_from_train_holds_out_validation_and_keeps_the_file_as_test(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", rows(100, task="multiclass"))
    dev = write(tmp_path / "dev.csv", rows(20, seed=3, task="multiclass"))
    cfg = _files(tmp_path, train_file=str(train), validation_file=str(dev))
    full = load_task_data(cfg, seed=0)
    data = load_task_data({**cfg, "validation": "from_train", "validation_size": 0.3}, seed=0)
    assert (
        set(data.evals) == {"validation", "test"} and data.evals["test"] == full.evals["validation"]
    )
    assert len(data.train) == 70 and len(data.evals["validation"]) == 30
    assert Counter(data.evals["validation"].labels) == {0: 10, 1: 10, 2: 10}  # stratified
    small = load_task_data({**cfg, "max_train_samples": 30, "max_eval_samples": 6}, seed=1)
    again = load_task_data({**cfg, "max_train_samples": 30, "max_eval_samples": 6}, seed=1)
    assert small.train == again.train and Counter(small.train.labels) == {0: 10, 1: 10, 2: 10}
    with pytest.raises(ConfigError, match=r"data.validation=from_train makes data.validation_file"):
        check_config({**cfg, "validation": "from_train", "test_file": str(dev)})
    with pytest.raises(
        ConfigError, match=r"data.validation_file must be set with data.validation=dev"
    ):
        check_config({**cfg, "validation_file": None})


def test_a_test_file_is_evaluated_too(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", rows(20))
    dev = write(tmp_path / "dev.csv", rows(6, seed=1))
    test = write(tmp_path / "test.json", rows(8, seed=2))
    cfg = _files(tmp_path, train_file=str(train), validation_file=str(dev), test_file=str(test))
    data = load_task_data(cfg, seed=0)
    assert list(data.evals) == ["validation", "test"] and len(data.evals["test"]) == 8


def test_a_local_hub_layout_dataset_loads_with_its_split_names(tmp_path: Path) -> None:
    repo = make_hub_repo(tmp_path / "repo")
    data = load_task_data(_hub(tmp_path, repo), seed=0)
    assert data.source == "hub" and data.origin == f"{repo} (reviews)"
    assert len(data.train) == 40 and len(data.evals["validation"]) == 12
    assert data.label_names == ("neg", "pos")  # the ClassLabel's names, recorded
    assert "type class label" in data.description
    with pytest.raises(DataError, match=r"has no split 'validation'; it has \['train', 'dev'\]"):
        load_task_data(_hub(tmp_path, repo, validation_split="validation"), seed=0)


def test_a_hub_layout_folder_edited_in_place_is_read_again(tmp_path: Path) -> None:
    # datasets would key its cache by the folder's name and README: the old rows, silently.
    repo = make_hub_repo(tmp_path / "repo", n_train=20)
    assert len(load_task_data(_hub(tmp_path, repo), seed=0).train) == 20
    make_hub_repo(tmp_path / "repo", n_train=26)
    assert len(load_task_data(_hub(tmp_path, repo), seed=0).train) == 26
    # Another folder of the same name, same README, other rows: its own rows.
    other = make_hub_repo(tmp_path / "elsewhere" / "repo", n_train=32)
    assert len(load_task_data(_hub(tmp_path, other), seed=0).train) == 32


def test_hub_rows_labelled_minus_one_are_refused_not_made_a_class(tmp_path: Path) -> None:
    # -1 is datasets' "no label" (SNLI): it must not become a third class named after "pos".
    repo = make_hub_repo(tmp_path / "repo", unlabeled=[4, 9, 30])
    with pytest.raises(
        DataError,
        match=r"split 'train': 3 row\(s\) with label -1 \(no label\) in column 'label' \(first: "
        r"row 5\); such rows are refused, not skipped",
    ):
        load_task_data(_hub(tmp_path, repo), seed=0)


def test_an_unreachable_hub_dataset_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"data.hub_id=someone/nothing: cannot load someone/nothing"
    ):
        load_task_data(_hub(tmp_path, Path("someone/nothing"), hub_config=None), seed=0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"text_columns": []}, "data.text_columns must be a list of one or two column names"),
        ({"text_columns": ["a", "b", "c"]}, "data.text_columns must be a list of one or two"),
        ({"text_columns": ["a", "a"]}, "must name two different columns"),
        ({"label_column": "text"}, "data.label_column must not be one of data.text_columns"),
        ({"task_type": "ranking"}, r"data.task_type must be one of \['auto', 'classification'"),
        ({"task": "my task"}, "data.task must name your task"),
        ({"source": "glue_dir"}, r"data.source must be one of \['files', 'hub'\] for your own"),
        ({"train_file": None}, "data.train_file must be a CSV, TSV, JSON"),
        ({"format": "xlsx"}, r"data.format must be one of \['csv', 'tsv'"),
        ({"preset": "superglue"}, r"data.preset must be one of \['glue', None\]"),
    ],
)
def test_config_mistakes_are_caught_before_loading(
    tmp_path: Path, change: dict[str, Any], match: str
) -> None:
    train = write(tmp_path / "train.csv", rows(8))
    cfg = _files(tmp_path, **{"train_file": str(train), "validation_file": str(train), **change})
    with pytest.raises(ConfigError, match=match):
        check_config(cfg)


def test_a_single_text_column_may_be_a_string(tmp_path: Path) -> None:
    train = write(tmp_path / "train.csv", rows(8))
    cfg = _files(tmp_path, train_file=str(train), validation_file=str(train), text_columns="text")
    assert load_task_data(cfg, seed=0).train.text_b is None
