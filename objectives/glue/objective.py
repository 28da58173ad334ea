"""The text-classification objective: data and tokenizer prepared once per sweep, one fine-tuning
per trial. GLUE is its preset (``data=glue``); a user's files (``data=files``) or hub dataset
(``data=hub``) run the same path."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from objectives.glue.data import load_task_data
from objectives.glue.encode import Encoded, encode, tokenizer_identity
from objectives.glue.examples import TaskData
from objectives.glue.metrics import chance_metrics
from objectives.glue.model import load_model, load_tokenizer
from sweeper.objective import Reporter, TaskInfo
from sweeper.settings import TrainSettings

log = logging.getLogger(__name__)


class GlueObjective:
    """Fine-tunes a sequence-classification model on a GLUE task or on a user's own data
    (classification or regression).

    Args:
        data: The ``data`` config node (plain mapping).
        model: The ``model`` config node (plain mapping).
        seed: Seed of the data subsets and the built-in task.
    """

    def __init__(self, *, data: Mapping[str, Any], model: Mapping[str, Any], seed: int) -> None:
        self.data_cfg = dict(data)
        self.model_cfg = dict(model)
        self.seed = seed
        self._data: TaskData | None = None
        self._train: Encoded | None = None
        self._evals: dict[str, Encoded] = {}
        self._tokenizer: Any = None

    @staticmethod
    def check_config(*, data: Mapping[str, Any], model: Mapping[str, Any]) -> None:
        """Check the data and model nodes before anything loads (files, task, columns, model
        path)."""
        from objectives.glue.data import check_config
        from objectives.glue.model import check_model_config

        check_config(data)
        check_model_config(model)

    def prepare(self) -> TaskInfo:
        """Load the examples, tokenize them (cached) and check that the model loads."""
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # (log levels are the caller's: sweeper's job_logging)
        started = time.perf_counter()
        data = load_task_data(self.data_cfg, seed=self.seed)
        if data.description:
            log.info("task %s: %s", data.task.name, data.description)
        tokenizer = load_tokenizer(self.model_cfg)
        tokenizer_id = tokenizer_identity(tokenizer)
        cache_dir = Path(str(self.data_cfg.get("cache_dir") or "sweeper-runs/cache"))
        max_length = int(self.data_cfg.get("max_seq_length", 128))
        self._train = encode(
            data.train,
            tokenizer,
            max_length=max_length,
            cache_dir=cache_dir,
            tokenizer_id=tokenizer_id,
        )
        self._evals = {
            name: encode(
                split,
                tokenizer,
                max_length=max_length,
                cache_dir=cache_dir,
                tokenizer_id=tokenizer_id,
            )
            for name, split in data.evals.items()
        }
        hits = [self._train.cache_hit, *(e.cache_hit for e in self._evals.values())]
        log.info(
            "tokenized data: %s (%s)",
            "cache hit"
            if all(hits)
            else "tokenized and cached"
            if not any(hits)
            else "partly cached",
            self._train.path.parent,
        )
        # Load once now so a broken checkpoint fails before any trial starts.
        load_model(self.model_cfg, num_labels=data.task.num_labels)
        self._data, self._tokenizer = data, tokenizer
        log.debug("prepared in %.1fs", time.perf_counter() - started)
        details: dict[str, Any] = {
            "eval_splits": {name: len(e) for name, e in self._evals.items()},
            "tokenized_cache_hit": all(hits),
            "task_type": "regression" if data.task.is_regression else "classification",
            # In the study fingerprint: resuming on edited data files is refused.
            "content": data.digest(),
        }
        if data.label_names is not None:
            details["label_mapping"] = {name: i for i, name in enumerate(data.label_names)}
        return TaskInfo(
            task=data.task.name,
            source=data.source,
            origin=data.origin,
            model=str(self.model_cfg.get("name_or_path")),
            num_train=len(data.train),
            num_eval=len(data.evals["validation"]),
            metric=data.task.main_metric,
            is_regression=data.task.is_regression,
            metrics=tuple(data.task.metrics),
            notes=tuple(data.notes),
            details=details,
            chance=chance_metrics(data.task, data.train.labels, data.evals["validation"]),
        )

    @property
    def tokenized(self) -> tuple[Encoded, dict[str, Encoded]]:
        """The tokenized train split and eval splits (after :meth:`prepare`)."""
        if self._train is None:
            raise RuntimeError("call prepare() first")
        return self._train, self._evals

    def train(self, settings: TrainSettings, reporter: Reporter, *, device: str) -> None:
        """Fine-tune from the pretrained weights with ``settings`` (one trial)."""
        import torch
        from transformers import set_seed

        from objectives.glue.train import fine_tune

        if self._data is None or self._train is None:
            raise RuntimeError("call prepare() first")
        # Seeded before the model is built, so the new head's weights follow the seed too.
        set_seed(settings.seed)
        model = load_model(
            self.model_cfg, num_labels=self._data.task.num_labels, dropout=settings.dropout
        )
        fine_tune(
            model,
            tokenizer=self._tokenizer,
            train_data=self._train,
            eval_data=self._evals,
            task=self._data.task,
            settings=settings,
            reporter=reporter,
            device=torch.device(device),
        )
