"""sweeper: hyperparameter sweeps and epoch tuning for fine-tuning transformer models.

Hydra configs define the search space, Optuna runs trials with early stopping and pruning,
MLflow records every trial; ``python -m sweeper +experiment=glue`` runs the default sweep.
"""

__version__ = "0.1.0"
