"""Task metrics (GLUE's, and those of a user's classification or regression task), computed
with scikit-learn and SciPy (the `evaluate` hub loaders need the network)."""

from __future__ import annotations

import math
from collections.abc import Sequence

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
