"""A user's data files and a hub-layout dataset folder, generated here (tiny, seeded)."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.glue_fixtures import WORDS

ROWS_PER_FORMAT = {"csv": ",", "tsv": "\t"}


def rows(
    n: int, *, task: str = "classification", seed: int = 0, pair: bool = False
) -> list[dict[str, Any]]:
    """``n`` rows: ``text`` (and ``context``), ``label`` (pos/neg/mixed, or a float score)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        row: dict[str, Any] = {
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
        }
        if pair:
            row["context"] = " ".join(rng.choice(WORDS) for _ in range(4))
        if task == "regression":
            row["label"] = round((i * 0.37) % 5, 3)
        elif task == "multiclass":
            row["label"] = ["neg", "pos", "mixed"][i % 3]
        else:
            row["label"] = ["neg", "pos"][i % 2]
        out.append(row)
    return out


def write(path: Path, table: Sequence[dict[str, Any]], *, fmt: str | None = None) -> Path:
    """``table`` in the format of ``path``'s extension (or ``fmt``)."""
    fmt = fmt or path.suffix.lstrip(".")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ROWS_PER_FORMAT:
        sep = ROWS_PER_FORMAT[fmt]
        columns = list(table[0])
        lines = [sep.join(columns)]
        lines += [sep.join("" if r[c] is None else str(r[c]) for c in columns) for r in table]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in table), encoding="utf-8")
    elif fmt == "json":
        path.write_text(json.dumps(list(table)), encoding="utf-8")
    elif fmt == "parquet":
        import datasets

        datasets.Dataset.from_list(list(table)).to_parquet(str(path))
    else:
        raise ValueError(fmt)
    return path


def make_hub_repo(
    root: Path,
    *,
    config: str = "reviews",
    n_train: int = 40,
    n_eval: int = 12,
    unlabeled: Sequence[int] = (),
) -> Path:
    """A folder laid out like a hub dataset repository: parquet per split, a README with configs.

    Splits ``train`` and ``dev``; ``label`` is a ``ClassLabel`` (neg, pos), as hub datasets have;
    train's rows at the 0-based ``unlabeled`` positions hold -1 (no label, as in SNLI).
    """
    import datasets

    features = datasets.Features(
        {
            "review": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["neg", "pos"]),
        }
    )
    (root / config).mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_eval)):
        table = rows(n, seed=len(split))
        labels = [["neg", "pos"].index(r["label"]) for r in table]
        for i in unlabeled if split == "train" else ():
            labels[i] = -1
        ds = datasets.Dataset.from_dict(
            {"review": [r["text"] for r in table], "label": labels},
            features=features,
        )
        ds.to_parquet(str(root / config / f"{split}-00000-of-00001.parquet"))
    (root / "README.md").write_text(
        f"---\nconfigs:\n- config_name: {config}\n  data_files:\n"
        f"  - split: train\n    path: {config}/train-*\n"
        f"  - split: dev\n    path: {config}/dev-*\n---\n",
        encoding="utf-8",
    )
    return root
