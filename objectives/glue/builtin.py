"""A built-in sentiment task, generated deterministically from a seed (no download).

It stands in when no GLUE data is configured and the hub is unreachable, so the default command
still runs offline; it is announced loudly and recorded as ``data.source=builtin`` so nobody picks
defaults from it by mistake. Sentences combine an aspect, an opinion word with an intensity, and
optionally negation ("not", "hardly") and contrast ("..., but ..."), where the clause after "but"
decides. A fraction of training labels is flipped (noise), so the learning rate, warmup and
epochs visibly matter: too little training underfits the rules, too much memorizes the noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

VERSION = 1

_ASPECTS = [
    "the movie",
    "this film",
    "the plot",
    "the acting",
    "the script",
    "the soundtrack",
    "the ending",
    "the cast",
    "the dialogue",
    "the pacing",
    "the cinematography",
    "the director's latest picture",
    "the sequel",
    "the story",
    "the lead performance",
    "the humor",
    "the visual effects",
    "the screenplay",
    "the editing",
    "the premise",
]
# (word, polarity * intensity): intensity 1 mild, 2 clear, 3 strong.
_OPINIONS = [
    ("good", 2),
    ("great", 3),
    ("fine", 1),
    ("decent", 1),
    ("charming", 2),
    ("brilliant", 3),
    ("moving", 2),
    ("clever", 2),
    ("gripping", 3),
    ("pleasant", 1),
    ("superb", 3),
    ("enjoyable", 2),
    ("bad", -2),
    ("awful", -3),
    ("dull", -2),
    ("boring", -2),
    ("mediocre", -1),
    ("weak", -1),
    ("terrible", -3),
    ("clumsy", -2),
    ("tedious", -2),
    ("forgettable", -1),
    ("painful", -3),
    ("bland", -1),
]
_INTENSIFIERS = [("very", 1), ("truly", 1), ("remarkably", 1), ("somewhat", -1), ("a bit", -1)]
_NEGATIONS = ["not", "hardly", "never", "far from"]
_LINKS = ["is", "was", "feels", "seemed"]
_OPENERS = ["", "honestly, ", "overall, ", "i think ", "in the end, "]


@dataclass(frozen=True)
class Generated:
    train_texts: list[str]
    train_labels: list[int]
    eval_texts: list[str]
    eval_labels: list[int]


def _clause(rng: random.Random) -> tuple[str, float]:
    aspect = rng.choice(_ASPECTS)
    word, score = rng.choice(_OPINIONS)
    value = float(score)
    parts = [aspect, rng.choice(_LINKS)]
    if rng.random() < 0.35:
        adverb, change = rng.choice(_INTENSIFIERS)
        parts.append(adverb)
        value *= 1.5 if change > 0 else 0.5
    if rng.random() < 0.3:
        parts.insert(2, rng.choice(_NEGATIONS))
        value = -value
    parts.append(word)
    return " ".join(parts), value


def _sentence(rng: random.Random) -> tuple[str, int]:
    first, value = _clause(rng)
    if rng.random() < 0.35:
        second, second_value = _clause(rng)
        # Contrast: the clause after "but" decides, unless it is mild and the first strong.
        value = second_value if abs(second_value) >= 0.5 * abs(value) else value
        text = f"{first}, but {second}"
    else:
        text = first
    return rng.choice(_OPENERS) + text + rng.choice([".", "!", " ."]), int(value > 0)


def generate(*, num_train: int, num_eval: int, label_noise: float, seed: int) -> Generated:
    """Generate the task; the same arguments always give the same examples.

    Args:
        num_train: Training examples.
        num_eval: Validation examples (never noisy).
        label_noise: Fraction of training labels flipped, in [0, 0.5).
        seed: Seed of the generator.
    """
    if num_train < 1 or num_eval < 1:
        raise ValueError(f"num_train and num_eval must be >= 1 but got {num_train}, {num_eval}.")
    if not 0.0 <= label_noise < 0.5:
        raise ValueError(f"label_noise must be in [0, 0.5) but got {label_noise}.")
    rng = random.Random(f"sweeper-builtin-v{VERSION}-{seed}")
    train = [_sentence(rng) for _ in range(num_train)]
    evals = [_sentence(rng) for _ in range(num_eval)]
    train_labels = [1 - y if rng.random() < label_noise else y for _, y in train]
    return Generated(
        train_texts=[t for t, _ in train],
        train_labels=train_labels,
        eval_texts=[t for t, _ in evals],
        eval_labels=[y for _, y in evals],
    )
