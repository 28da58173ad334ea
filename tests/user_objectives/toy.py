"""A user's own loop that makes its own data: logistic regression on a seeded toy problem.

Self-contained (torch and sweeper only) so that the packaging tests and CI can copy it into a
folder outside the clone and put that folder on PYTHONPATH.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from sweeper import Decision, Reporter, TaskInfo, TrainSettings, build_scheduler, is_update_batch

NUM_TRAIN, NUM_VAL, FEATURES = 256, 64, 8


def prepare(*, seed: int) -> TaskInfo:
    return TaskInfo(
        task="toy",
        source="generated",
        origin=__name__,
        model="linear",
        num_train=NUM_TRAIN,
        num_eval=NUM_VAL,
        metric="accuracy",
    )


def _data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(NUM_TRAIN + NUM_VAL, FEATURES, generator=generator)
    w = torch.randn(FEATURES, generator=generator)
    return x, (x @ w > 0).long()


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
    torch.manual_seed(settings.seed)
    x, y = _data(0)
    loader = DataLoader(
        TensorDataset(x[:NUM_TRAIN], y[:NUM_TRAIN]),
        batch_size=settings.batch_size,
        shuffle=True,
        drop_last=settings.drop_last,
    )
    model = torch.nn.Linear(FEATURES, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr)
    plan = settings.plan(NUM_TRAIN)
    scheduler = build_scheduler(optimizer, settings=settings, plan=plan)
    eval_at = set(plan.eval_steps(settings.evals_per_epoch))
    reporter.start(plan)
    step, last = 0, len(loader) - 1
    for _epoch in range(plan.num_epochs):
        for i, (xb, yb) in enumerate(loader):
            loss = torch.nn.functional.cross_entropy(model(xb), yb) / settings.grad_accum
            loss.backward()
            if not is_update_batch(i, grad_accum=settings.grad_accum, last=last):
                continue
            reporter.log_lr(step, float(scheduler.get_last_lr()[0]))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step in eval_at:
                with torch.no_grad():
                    logits = model(x[NUM_TRAIN:])
                    val_loss = float(torch.nn.functional.cross_entropy(logits, y[NUM_TRAIN:]))
                    accuracy = float((logits.argmax(-1) == y[NUM_TRAIN:]).float().mean())
                decision = reporter.evaluate(
                    step=step, val_loss=val_loss, metrics={"accuracy": accuracy}
                )
                if decision is not Decision.CONTINUE:
                    return
