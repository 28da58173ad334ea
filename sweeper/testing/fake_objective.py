"""A scripted objective for fast, deterministic tests of the sweep machinery (no model).

It follows the reporter contract exactly like the real loop (step plan, one LR per update,
train loss per interval, evaluations at the plan's points) but its "validation loss" is a
closed-form function of the hyperparameters and the epoch:

    loss(epoch) = 0.3 + (log10(lr) + 4)^2 / 4 + 0.2 / (1 + 2 epoch) + overfit * max(0, epoch - 1.5)

so lr=1e-4 is best, epochs past 1.5 overfit, and lr >= 0.5 produces NaN (non-finite loss).
For ``data.task=mrpc`` the best lr moves to about 3e-4 (``+ 0.5`` inside the square), so
tasks disagree, as real ones do.
A trial whose ``weight_decay`` is exactly 0.123 raises one update after its first evaluation (a
trial failing mid-training, with curves recorded up to there).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from sweeper.errors import NonFiniteLossError
from sweeper.objective import Decision, Reporter, TaskInfo
from sweeper.schedule import lr_curve
from sweeper.settings import TrainSettings

CALLS: list[dict[str, Any]] = []  # what each train() call saw (for assertions)


class QuadraticObjective:
    def __init__(self, *, data: Mapping[str, Any], model: Mapping[str, Any], seed: int) -> None:
        self.data = dict(data)
        self.seed = seed
        self.num_train = int((data.get("builtin") or {}).get("num_train", 320))
        self.overfit = float(data.get("overfit", 0.1))
        self.sleep = float(data.get("sleep_per_eval", 0.0))
        self.task = str(data.get("task", "sst2"))
        self.shift = 0.5 if self.task == "mrpc" else 0.0
        # +data.chance=X: the val_loss a run that learned nothing scores (none: unknown).
        self.chance = data.get("chance")
        self.prepared = 0

    def prepare(self) -> TaskInfo:
        self.prepared += 1
        return TaskInfo(
            task=self.task,
            source="scripted",
            origin="sweeper.testing.fake_objective",
            model="none",
            num_train=self.num_train,
            num_eval=10,
            metric="accuracy",
            chance={} if self.chance is None else {"val_loss": float(self.chance)},
        )

    def loss(self, settings: TrainSettings, epoch: float) -> float:
        distance = math.log10(settings.lr) + 4 - self.shift
        base = 0.3 + distance**2 / 4 + 0.2 / (1 + 2 * epoch)
        return base + self.overfit * max(0.0, epoch - 1.5) + 0.01 * settings.warmup_ratio

    def train(self, settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
        plan = settings.plan(self.num_train)
        CALLS.append({"settings": settings, "plan": plan, "seed": settings.seed})
        curve = lr_curve(
            name=settings.scheduler,
            plan=plan,
            base_lr=settings.lr,
            kwargs=settings.scheduler_kwargs,
        )
        evals = set(plan.eval_steps(settings.evals_per_epoch))
        reporter.start(plan)
        for step in range(plan.num_training_steps):
            reporter.log_lr(step, curve[step])
            if settings.lr >= 0.5 and step == 3:
                raise NonFiniteLossError(step)
            if settings.weight_decay == 0.123 and step == min(evals):
                raise RuntimeError("scripted failure")
            done = step + 1
            if done % settings.log_every_steps == 0:
                reporter.log_train_loss(done, 0.7)
            if done in evals:
                if self.sleep:
                    time.sleep(self.sleep)
                loss = self.loss(settings, plan.epochs_at(done))
                decision = reporter.evaluate(
                    step=done, val_loss=loss, metrics={"accuracy": max(0.0, 1.0 - loss)}
                )
                if decision is not Decision.CONTINUE:
                    return


def fake_overrides(root: object, *extra: str) -> list[str]:
    """Overrides for a sweep of this objective writing under ``root``: 320 examples, batch 32
    (10 steps per epoch, 2 evaluations per epoch), train loss every 5 steps, plain lines."""
    return [
        f"results_dir={root}",
        "objective=sweeper.testing.fake_objective.QuadraticObjective",
        "data=builtin",
        "data.builtin.num_train=320",
        "train.batch_size=32",
        "train.log_every_steps=5",
        "quiet=true",
        "sweep.portfolio=none",  # tests of the sweep machinery start from their own draws
        "sweep.objective=val_loss",  # and select on the loss (its accuracy is 1 - loss)
        "++search_space.batch_size=null",  # at train.batch_size (the step counts tests pin)
        *extra,
    ]
