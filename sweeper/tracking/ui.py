"""The MLflow UI on a sweep's store (``python -m sweeper.ui``, or ``scripts/mlflow_ui.py``).

Bound to 127.0.0.1 unless told otherwise, one worker (light on a small machine). It prints the
page of each experiment's runs: expand a study's run for its trials, then the chart view
compares them (``lr``, ``val_loss``...).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn


def default_store() -> str:
    """The embedded default store: ``sqlite:///<SWEEPER_HOME or ./sweeper-runs>/mlflow.db``."""
    home = Path(os.environ.get("SWEEPER_HOME", "sweeper-runs")).expanduser().resolve()
    return f"sqlite:///{home / 'mlflow.db'}"


def ui_command(*, store: str, host: str, port: int, workers: int) -> list[str]:
    """The ``mlflow ui`` command line that serves ``store``."""
    # This interpreter's MLflow: works without the venv's bin/ on PATH.
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        store,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


def experiment_pages(store: str, base: str) -> list[str]:
    """``NAME: URL`` of the runs page of each experiment in ``store`` ([] if it cannot be read)."""
    # Before MLflow is imported: its own INFO lines (store set-up) are not for this console.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    try:
        from mlflow import MlflowClient

        experiments = MlflowClient(tracking_uri=store).search_experiments()
    except Exception:  # the server reports the problem itself, in full
        return []
    return [
        f"{e.name}: {base}/#/experiments/{e.experiment_id}/runs"
        for e in experiments
        if e.name != "Default"  # the empty experiment MLflow creates in every store
    ]


def serve(cmd: list[str]) -> NoReturn:
    """Replace this process with the MLflow server ``cmd`` (from :func:`ui_command`)."""
    # MLflow's job runner (GenAI judges and scorers, several worker processes) is not needed to
    # look at training runs; unless asked for, the UI starts without it: faster, less memory.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    os.execvp(cmd[0], cmd)  # noqa: S606 - replaces this process with the mlflow server


__all__ = ["default_store", "experiment_pages", "serve", "ui_command"]
