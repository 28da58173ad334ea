"""Loopback servers for tests: a free port, a process served until it answers, MLflow's server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    argv: list[str], probe: str, log: Path, *, timeout: float = 180, cwd: Path | None = None
) -> Iterator[None]:
    """Run a server until ``probe`` (a loopback URL) answers 200; stop it on exit.

    Its output goes to ``log``, shown when it does not come up.
    """
    # Without MLflow's job runner (several worker processes for GenAI features), as sweeper.ui.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with log.open("wb") as out:
        server = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(probe, timeout=2) as r:  # noqa: S310 - loopback
                    if r.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"{argv[0]} did not come up:\n{log.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.5)
        yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


@contextmanager
def mlflow_server(store_uri: str, log: Path, *extra: str, cwd: Path | None = None) -> Iterator[str]:
    """``mlflow server`` on a free loopback port over ``store_uri``; yields its base URL."""
    port = free_port()
    argv = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri, *extra]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    base = f"http://127.0.0.1:{port}"
    with serve(argv, f"{base}/health", log, cwd=cwd):
        yield base
