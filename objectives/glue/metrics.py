"""Task metrics (GLUE's, and those of a user's classification or regression task), computed
with scikit-learn and SciPy (the `evaluate` hub loaders need the network)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from objectives.glue.tasks import TaskSpec


def compute_metrics(
    task: TaskSpec, predictions: Sequence[float], labels: Sequence[float]
) -> dict[str, float]:
    """The task's metrics (GLUE conventions) for predictions against labels.

    Classification predictions are class ids; regression predictions are scores. ``f1`` is the
    F1 of class 1 (binary tasks), ``macro_f1`` the unweighted mean F1 over the classes. A
    correlation that is undefined (constant predictions) is reported as 0.0: no linear relation.
    """
    preds = np.asarray(predictions)
    gold = np.asarray(labels)
    out: dict[str, float] = {}
    for name in task.metrics:
        if name == "accuracy":
            value = float((preds == gold).mean())
        elif name == "f1":
            from sklearn.metrics import f1_score

            value = float(f1_score(gold, preds, zero_division=0.0))
        elif name == "macro_f1":
            from sklearn.metrics import f1_score

            value = float(
                f1_score(
                    gold,
                    preds,
                    labels=list(range(task.num_labels)),
                    average="macro",
                    zero_division=0.0,
                )
            )
        elif name == "matthews_corr":
            from sklearn.metrics import matthews_corrcoef

            value = float(matthews_corrcoef(gold, preds))
        elif name in ("pearson", "spearman"):
            import warnings

            from scipy.stats import ConstantInputWarning, pearsonr, spearmanr

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConstantInputWarning)
                fn = pearsonr if name == "pearson" else spearmanr
                value = float(fn(preds, gold)[0])
        else:
            raise ValueError(f"unknown metric {name!r}")
        out[name] = 0.0 if math.isnan(value) else value
    return out


def chance_metrics(
    task: TaskSpec, train_labels: Sequence[float], evaluated: Any
) -> dict[str, float]:
    """What a run that learned nothing scores on ``evaluated`` (a split with ``labels``): the
    task's metrics and ``val_loss``.

    Classification: the metrics of the training set's majority class predicted for every
    example, and the cross-entropy of the training label prior (ln 2 on a balanced binary task;
    counts + 0.5, so a class the training set lacks costs a finite loss); regression: the
    metrics (correlations 0) and mean squared error of the training mean. A seed race
    (``sweeper.seedrace``) counts a seed ending near these as failed; the sweep summary and
    recommend say when no trial left them.
    """
    labels = list(evaluated.labels)
    if not labels or not train_labels:
        return {}
    if task.is_regression:
        constant: float = float(np.mean(np.asarray(train_labels, dtype=float)))
        gold = np.asarray(labels, dtype=float)
        loss = float(np.mean((gold - constant) ** 2))
    else:
        values, counts = np.unique(np.asarray(train_labels), return_counts=True)
        constant = values[int(np.argmax(counts))].item()
        prior = np.full(task.num_labels, 0.5)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            prior[int(value)] += count
        prior /= prior.sum()
        loss = float(-np.mean(np.log(prior[np.asarray(labels, dtype=int)])))
    return {**compute_metrics(task, [constant] * len(labels), labels), "val_loss": loss}
