"""The small task both classic loops train on: short generated movie reviews, no download.

A review is "<subject> was [not] [very] <adjective>"; the label is its sentiment (a negation
flips it) with 5% of labels flipped at random, so no model reaches 100%.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Dataset

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

NUM_TRAIN = 600
NUM_VAL = 200
SUBJECTS = ("the film", "this movie", "the plot", "the acting", "the ending", "the music")
POSITIVE = ("great", "wonderful", "moving", "brilliant", "fun", "superb", "charming")
NEGATIVE = ("dull", "awful", "boring", "clumsy", "weak", "tedious", "bland")
INTENSITY = ("", "very ", "really ", "quite ")


def model_path(name_or_path: str) -> str:
    """A model folder or hub id; ``pkg:MODULE`` is the folder a package ships (as in
    ``conf/model/*.yaml``)."""
    if name_or_path.startswith("pkg:"):
        return str(Path(importlib.import_module(name_or_path[4:]).get_model_path()))
    return name_or_path


def reviews(n: int, *, seed: int) -> list[tuple[str, int]]:
    """``n`` (text, label) pairs, the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        positive = rng.random() < 0.5
        negated = rng.random() < 0.3
        adjective = rng.choice(POSITIVE if positive != negated else NEGATIVE)
        text = (
            f"{rng.choice(SUBJECTS)} was {'not ' if negated else ''}"
            f"{rng.choice(INTENSITY)}{adjective}"
        )
        label = int(positive) if rng.random() >= 0.05 else int(not positive)
        out.append((text, label))
    return out


class Examples(Dataset[dict[str, Any]]):
    """Tokenized examples, unpadded (the DataLoader's collator pads each batch)."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.rows[index]


def load_data(tokenizer: PreTrainedTokenizerBase, *, seed: int = 0) -> tuple[Examples, Examples]:
    """Tokenized train and validation examples."""

    def encode(pairs: list[tuple[str, int]]) -> Examples:
        enc = tokenizer([text for text, _ in pairs], truncation=True, max_length=32)
        return Examples(
            [
                {"input_ids": ids, "attention_mask": mask, "labels": label}
                for ids, mask, (_, label) in zip(
                    enc["input_ids"], enc["attention_mask"], pairs, strict=True
                )
            ]
        )

    data = reviews(NUM_TRAIN + NUM_VAL, seed=seed)
    return encode(data[:NUM_TRAIN]), encode(data[NUM_TRAIN:])


def evaluate(
    model: torch.nn.Module, loader: DataLoader[Any], device: str | torch.device
) -> tuple[float, float]:
    """Mean validation loss and accuracy; leaves the model in eval mode."""
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            out = model(**batch)
            n = len(batch["labels"])
            total += float(out.loss) * n
            correct += int((out.logits.argmax(-1) == batch["labels"]).sum())
            count += n
    return total / count, correct / count
