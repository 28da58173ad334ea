"""The search space: YAML entries -> a validated :class:`SearchSpace` -> sampled params.

Pure: sampling goes through the :class:`Suggest` protocol (which ``optuna.Trial`` satisfies), so
this package never imports Optuna. One entry per hyperparameter, keyed by the train setting it
sets (dotted for scheduler parameters), sampled in the order written::

    lr:           {type: float, low: 1.0e-5, high: 3.0e-4, log: true}
    num_epochs:   {type: int, low: 1, high: 4}
    scheduler:    {type: categorical, choices: [linear, cosine, step]}
    scheduler_kwargs:
      gamma: {type: float, low: 0.3, high: 0.9, when: {scheduler: [step]}}  # only with step

An entry set to ``null`` is not searched (the train value is used).

``num_epochs.high: auto`` fits the epoch range to the data (:func:`fit_space`): small training
sets get more epochs, so the longest schedule sees about :data:`FIT_EXAMPLES` examples.
``batch_size.choices: auto`` searches batch :data:`FIT_BATCH_CHOICES` on small training sets
(below :data:`FIT_BATCH_EXAMPLES`) and leaves the batch to ``train.batch_size`` above. Until the
data size is known (the config checks), ``auto`` stands for the widest such range.

One concept per module, all re-exported here (``from sweeper.space import X``):

- :mod:`~sweeper.space.spec`: :class:`ParamSpec`, :class:`SearchSpace`, the :class:`Suggest`
  protocol;
- :mod:`~sweeper.space.parse`: YAML entries validated into a :class:`SearchSpace`;
- :mod:`~sweeper.space.fit`: ``auto`` bounds fitted to the data size.
"""

from __future__ import annotations

from sweeper.space.fit import (
    AUTO,
    FIT_BATCH_CHOICES,
    FIT_BATCH_EXAMPLES,
    FIT_EXAMPLES,
    FIT_MAX_EPOCHS,
    FIT_MIN_EPOCHS,
    fit_space,
    fitted_batch_sizes,
    fitted_epochs,
)
from sweeper.space.parse import TYPES, parse_space
from sweeper.space.spec import ParamSpec, SearchSpace, Suggest

__all__ = [
    "AUTO",
    "FIT_BATCH_CHOICES",
    "FIT_BATCH_EXAMPLES",
    "FIT_EXAMPLES",
    "FIT_MAX_EPOCHS",
    "FIT_MIN_EPOCHS",
    "TYPES",
    "ParamSpec",
    "SearchSpace",
    "Suggest",
    "fit_space",
    "fitted_batch_sizes",
    "fitted_epochs",
    "parse_space",
]
