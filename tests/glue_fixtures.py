"""Small GLUE folders in the original TSV layouts, generated here (never copies of real data)."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = [
    "the",
    "a",
    "film",
    "plot",
    "cast",
    "is",
    "was",
    "good",
    "bad",
    "great",
    "dull",
    "fine",
    "clever",
    "story",
    "ends",
    "quickly",
    "slowly",
]


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))


def _rows(
    task: str, n: int, rng: random.Random, *, dev: bool
) -> tuple[list[str] | None, list[list[str]]]:
    """Header (or None) and rows of one split in the task's original layout."""
    s = _sentence
    if task == "CoLA":
        return None, [["gj04", str(i % 2), "" if i % 2 else "*", s(rng)] for i in range(n)]
    if task == "SST-2":
        return ["sentence", "label"], [[s(rng), str(i % 2)] for i in range(n)]
    if task == "MRPC":
        head = ["\ufeffQuality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
        return head, [[str(i % 2), str(100 + i), str(200 + i), s(rng), s(rng)] for i in range(n)]
    if task == "STS-B":
        head = [
            "index",
            "genre",
            "filename",
            "year",
            "old_index",
            "source1",
            "source2",
            "sentence1",
            "sentence2",
            "score",
        ]
        return head, [
            [
                str(i),
                "main-news",
                "f",
                "2012",
                str(i),
                "none",
                "none",
                s(rng),
                s(rng),
                f"{(i * 0.37) % 5:.3f}",
            ]
            for i in range(n)
        ]
    if task == "QQP":
        head = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
        return head, [
            [str(i), str(2 * i), str(2 * i + 1), s(rng) + "?", s(rng) + "?", str(i % 2)]
            for i in range(n)
        ]
    if task == "MNLI":
        labels = ["entailment", "neutral", "contradiction"]
        extra = ["label1", "label2", "label3", "label4", "label5"] if dev else ["label1"]
        head = [
            "index",
            "promptID",
            "pairID",
            "genre",
            "sentence1_binary_parse",
            "sentence2_binary_parse",
            "sentence1_parse",
            "sentence2_parse",
            "sentence1",
            "sentence2",
            *extra,
            "gold_label",
        ]
        rows = []
        for i in range(n):
            lab = labels[i % 3]
            rows.append(
                [
                    str(i),
                    str(i),
                    f"{i}e",
                    "fiction",
                    "( x )",
                    "( y )",
                    "(ROOT x)",
                    "(ROOT y)",
                    s(rng),
                    s(rng),
                    *([lab] * len(extra)),
                    lab,
                ]
            )
        return head, rows
    if task == "QNLI":
        head = ["index", "question", "sentence", "label"]
        return head, [
            [str(i), s(rng) + "?", s(rng), ["entailment", "not_entailment"][i % 2]]
            for i in range(n)
        ]
    if task in ("RTE", "WNLI"):
        head = ["index", "sentence1", "sentence2", "label"]
        lab = (
            (lambda i: ["entailment", "not_entailment"][i % 2])
            if task == "RTE"
            else (lambda i: str(i % 2))
        )
        return head, [[str(i), s(rng), s(rng), lab(i)] for i in range(n)]
    raise ValueError(task)


DEV_FILES = {"MNLI": ["dev_matched.tsv", "dev_mismatched.tsv"]}
TASK_FOLDERS = ["CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI"]


def write_tsv(path: Path, header: list[str] | None, rows: list[list[str]]) -> None:
    lines = (["\t".join(header)] if header else []) + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_glue_dir(
    root: Path, *, n_train: int = 40, n_dev: int = 12, seed: int = 0, tasks: list[str] | None = None
) -> Path:
    """A glue_data/ folder with every task (or ``tasks``) in its original layout."""
    rng = random.Random(seed)
    for task in tasks or TASK_FOLDERS:
        folder = root / task
        folder.mkdir(parents=True, exist_ok=True)
        write_tsv(folder / "train.tsv", *_rows(task, n_train, rng, dev=False))
        for name in DEV_FILES.get(task, ["dev.tsv"]):
            write_tsv(folder / name, *_rows(task, n_dev, rng, dev=True))
    return root
