"""A function objective without ``prepare()``: sweeper knows no data size before training."""

from __future__ import annotations

from sweeper import Decision, Reporter, TrainSettings

NUM_EXAMPLES = 64


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    plan = settings.plan(NUM_EXAMPLES)
    reporter.start(plan)
    evals = set(plan.eval_steps(settings.evals_per_epoch))
    for step in range(plan.num_training_steps):
        reporter.log_lr(step, settings.lr)
        if step + 1 in evals:
            loss = 1.0 / (step + 2)
            if reporter.evaluate(step=step + 1, val_loss=loss, metrics={}) is not Decision.CONTINUE:
                return


def positional_only(settings: TrainSettings) -> None:
    """Misses the reporter and the device."""
