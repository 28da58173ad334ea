"""Loopback servers for tests: MLflow's server here; a free port, a served process and the
proxy live in :mod:`sweeper.testing.servers` (the benchmarks use them too)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sweeper.testing.servers import Proxy, free_port, serve

__all__ = ["Proxy", "free_port", "mlflow_server", "serve"]


@contextmanager
def mlflow_server(store_uri: str, log: Path, *extra: str, cwd: Path | None = None) -> Iterator[str]:
    """``mlflow server`` on a free loopback port over ``store_uri``; yields its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri, *extra]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    base = f"http://127.0.0.1:{port}"
    # Without MLflow's job runner (several worker processes for GenAI features), as sweeper.ui.
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with serve(argv, f"{base}/health", log, cwd=cwd, env=env):
        yield base
