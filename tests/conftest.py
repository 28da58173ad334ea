"""Shared fixtures: the composed config (shrunk for tests), a tiny model, the shared GLUE data.

Tests never touch the network (HF_HUB_OFFLINE=1) and never write outside their temp dirs.
"""

from __future__ import annotations

import os
from pathlib import Path

# Imported before any sweep in this process calls gc.freeze(): imported later (pytest imports it
# for its summary), its trio hook misjudges a frozen object as garbage and warns (an error here).
import hypothesis  # noqa: F401
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent
SHARED_GLUE = Path(os.environ.get("SWEEPER_TEST_GLUE", ROOT.parent / "shared" / "data" / "glue"))


@pytest.fixture(scope="session")
def glue_dir() -> Path:
    """The real GLUE folder shared beside the project (never part of it); skips without it."""
    if not (SHARED_GLUE / "SST-2" / "train.tsv").is_file():
        pytest.skip(f"shared GLUE data not found at {SHARED_GLUE}")
    return SHARED_GLUE


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide random BERT (see :mod:`tests.tiny_model`)."""
    from tests.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-bert"))


def tiny_overrides(results_dir: Path, model_dir: Path, *extra: str) -> list[str]:
    """Overrides that shrink the default config to a sweep that runs in seconds."""
    return [
        f"results_dir={results_dir}",
        "data=builtin",
        "data.builtin.num_train=192",
        "data.builtin.num_eval=64",
        f"model.name_or_path={model_dir}",
        "train.batch_size=16",
        "train.eval_batch_size=64",
        "train.num_epochs=2",
        "train.precision=fp32",
        "train.log_every_steps=4",
        "search_space.num_epochs.high=2",
        "sweep.n_trials=3",
        "quiet=true",
        "sweep.portfolio=none",  # the recipes' long schedules are not what these tests run
        "sweep.objective=val_loss",  # what these tests select on (auto: the task metric)
        "++search_space.batch_size=null",  # at train.batch_size=16
        *extra,
    ]


@pytest.fixture
def tiny(tmp_path: Path, tiny_model_dir: Path) -> list[str]:
    """Tiny-sweep overrides writing under this test's temp dir."""
    return tiny_overrides(tmp_path / "runs", tiny_model_dir)


@pytest.fixture
def base_train() -> dict[str, object]:
    """The default train node, resolved (the seed interpolation filled in)."""
    from sweeper.config import compose, resolve

    return dict(resolve(compose([]))["train"])
