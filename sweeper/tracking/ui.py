"""Open the MLflow UI on a sweep's store: ``python -m sweeper.ui`` (or ``scripts/mlflow_ui.py``).

Bound to 127.0.0.1 unless told otherwise, one worker (light on a small machine). It prints the
page of each experiment's runs: expand a study's run for its trials, then the chart view
compares them (``lr``, ``val_loss``...).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sweeper.secrets import redact


def default_store() -> str:
    """The embedded default store: ``sqlite:///<SWEEPER_HOME or ./sweeper-runs>/mlflow.db``."""
    home = Path(os.environ.get("SWEEPER_HOME", "sweeper-runs")).expanduser().resolve()
    return f"sqlite:///{home / 'mlflow.db'}"


def command(argv: Sequence[str] | None = None) -> list[str]:
    """The ``mlflow ui`` command line for ``argv``."""
    parser = argparse.ArgumentParser(prog="python -m sweeper.ui", description=__doc__)
    parser.add_argument(
        "--backend-store-uri", default=None, help="MLflow store (default: the sweep's sqlite store)"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1: this machine only)",
    )
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    store = args.backend_store_uri or default_store()
    if store.startswith("sqlite:///") and not Path(store.removeprefix("sqlite:///")).is_file():
        parser.error(f"no MLflow store at {store}: run a sweep first, or pass --backend-store-uri")
    # This interpreter's MLflow: works without the venv's bin/ on PATH.
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        store,
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
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


def main(argv: Sequence[str] | None = None) -> int:
    cmd = command(argv)
    host, port = cmd[cmd.index("--host") + 1], cmd[cmd.index("--port") + 1]
    store = cmd[cmd.index("--backend-store-uri") + 1]
    print(f"MLflow UI on http://{host}:{port} for {redact(store)} (Ctrl-C stops it)", flush=True)
    # A browser on this machine reaches a server bound to every interface through loopback.
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared, not bound
    local = f"[{local}]" if ":" in local else local  # an IPv6 address in a URL
    for page in experiment_pages(store, f"http://{local}:{port}"):
        print(f"  experiment {page}", flush=True)
    # MLflow's job runner (GenAI judges and scorers, several worker processes) is not needed to
    # look at training runs; unless asked for, the UI starts without it: faster, less memory.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    os.execvp(cmd[0], cmd)  # noqa: S606 - replaces this process with the mlflow server


if __name__ == "__main__":
    sys.exit(main())
