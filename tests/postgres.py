"""Throwaway PostgreSQL databases for tests: one database and one user (with a password) each.

The server comes from ``SWEEPER_TEST_PG_ADMIN``, an admin connection URL (``.ci/run`` starts a
cluster of its own and exports it, e.g. ``postgresql://postgres@127.0.0.1:55432/postgres``).
Without it the tests that need PostgreSQL are skipped. Everything created here is dropped
afterwards, even while workers still hold connections.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

ADMIN_ENV = "SWEEPER_TEST_PG_ADMIN"


@dataclass(frozen=True)
class Database:
    """A database owned by its own user; ``url`` is what sweeper's storage is given."""

    name: str
    user: str
    password: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return (
            f"postgresql+psycopg://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"
        )


def admin_url() -> str:
    """The admin connection URL, or a skip when no PostgreSQL server is configured."""
    url = os.environ.get(ADMIN_ENV)
    if not url:
        pytest.skip(f"{ADMIN_ENV} is not set (no PostgreSQL server for this test)")
    return url


@contextmanager
def temp_database() -> Iterator[Database]:
    """Create a user with a random password and a database it owns; drop both afterwards."""
    import psycopg
    from psycopg import sql

    admin = admin_url()
    parts = urlsplit(admin)
    token = secrets.token_hex(6)
    db = Database(
        name=f"sweeper_test_{token}",
        user=f"sweeper_user_{token}",
        # Distinctive, so a leak is found by a plain search of every file the sweep writes.
        password=f"pw-{secrets.token_hex(12)}",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(db.user), sql.Literal(db.password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db.name), sql.Identifier(db.user)
            )
        )
    try:
        yield db
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            # FORCE ends connections a killed or still-running worker left behind.
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db.name))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(db.user)))


def exists(db: Database) -> tuple[bool, bool]:
    """Whether the database and the user still exist (for the fixture's own test)."""
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True) as conn:
        has_db = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.name,)).fetchone()
        has_user = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db.user,)).fetchone()
    return has_db is not None, has_user is not None
