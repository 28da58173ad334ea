"""Shared fixtures: the composed config (shrunk for tests), a tiny model, the shared GLUE data.

Tests never touch the network (HF_HUB_OFFLINE=1) and never write outside their temp dirs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

# Imported before any sweep in this process calls gc.freeze(): imported later (pytest imports it
# for its summary), its trio hook misjudges a frozen object as garbage and warns (an error here).
import hypothesis  # noqa: F401
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

ROOT = Path(__file__).resolve().parent.parent
SHARED_GLUE = Path(os.environ.get("SWEEPER_TEST_GLUE", ROOT.parent / "shared" / "data" / "glue"))


@pytest.fixture(scope="session", autouse=True)
def _mlflow_tables_from_a_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every new MLflow SQLite store (most sweeps here track to a fresh ``mlflow.db``) gets its
    tables copied, through SQLite's backup API, from one store migrated once per session, instead
    of running MLflow's Alembic migrations again: they cost about 3 s of CPU per store, a third of
    a tracked sweep. The copy is that migrated database page for page; other databases (and
    MLflow servers, which are separate processes) migrate as usual."""
    import sqlite3
    import threading

    import mlflow.store.db.utils as db_utils
    import sqlalchemy

    migrate = db_utils._initialize_tables
    template = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    made = sqlalchemy.create_engine(f"sqlite:///{template}")
    migrate(made)
    made.dispose()
    copying = threading.Lock()

    def from_template(engine: sqlalchemy.engine.Engine) -> None:
        url = engine.url
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            migrate(engine)
            return
        with copying:  # two stores opening one new file in this process: one copy, never over rows
            if db_utils._all_tables_exist(engine):
                return
            db_utils._logger.info("Creating initial MLflow database tables...")
            source = sqlite3.connect(template)
            target = engine.raw_connection()
            try:
                source.backup(target.driver_connection)
            finally:
                target.close()
                source.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(db_utils, "_initialize_tables", from_template)
        yield


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
