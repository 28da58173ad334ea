"""Open the MLflow UI on a sweep's store: ``python -m sweeper.ui`` (or ``scripts/mlflow_ui.py``).

Bound to 127.0.0.1 unless told otherwise, one worker (light on a small machine). It prints the
page of each experiment's runs: expand a study's run for its trials, then the chart view
compares them (``lr``, ``val_loss``...).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sweeper.secrets import redact
from sweeper.tracking.ui import default_store, experiment_pages, serve, ui_command


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
    return ui_command(store=store, host=args.host, port=args.port, workers=args.workers)


def main(argv: Sequence[str] | None = None) -> int:
    """Print where the UI and each experiment's runs are, then become the MLflow server."""
    cmd = command(argv)
    host, port = cmd[cmd.index("--host") + 1], cmd[cmd.index("--port") + 1]
    store = cmd[cmd.index("--backend-store-uri") + 1]
    print(f"MLflow UI on http://{host}:{port} for {redact(store)} (Ctrl-C stops it)", flush=True)
    # A browser on this machine reaches a server bound to every interface through loopback.
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - compared, not bound
    local = f"[{local}]" if ":" in local else local  # an IPv6 address in a URL
    for page in experiment_pages(store, f"http://{local}:{port}"):
        print(f"  experiment {page}", flush=True)
    serve(cmd)


__all__ = ["command", "main"]
