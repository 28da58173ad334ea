"""Open the MLflow UI on a sweep's store: ``python -m sweeper.ui`` (or ``scripts/mlflow_ui.py``).

Bound to 127.0.0.1 unless told otherwise, one worker (light on a small machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
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
    mlflow = shutil.which("mlflow") or "mlflow"
    return [
        mlflow,
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


def main(argv: Sequence[str] | None = None) -> int:
    cmd = command(argv)
    host, port = cmd[cmd.index("--host") + 1], cmd[cmd.index("--port") + 1]
    print(f"MLflow UI on http://{host}:{port} for {redact(cmd[3])} (Ctrl-C stops it)", flush=True)
    os.execvp(cmd[0], cmd)  # noqa: S606 - replaces this process with the mlflow server


if __name__ == "__main__":
    sys.exit(main())
