"""External services for tests (PostgreSQL, Redis): skip with a clear message when one is not
reachable, unless ODR_REQUIRE_SERVICES=1, which turns its absence into a failure (CI)."""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

POSTGRES_URL = os.environ.get("ODR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ODR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def services_required() -> bool:
    return os.environ.get("ODR_REQUIRE_SERVICES") == "1"


def unavailable(what: str, why: str) -> None:
    """Skip (default) or fail (ODR_REQUIRE_SERVICES=1) because a service is missing."""
    msg = f"{what} not reachable ({why}); start it or set ODR_TEST_* URLs. ODR_REQUIRE_SERVICES=1 makes this fail."
    if services_required():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


@functools.cache
def _postgres_problem() -> str | None:
    try:
        import psycopg

        parts = urlsplit(POSTGRES_URL.replace("+psycopg", ""))
        with psycopg.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=parts.username or "postgres",
            password=parts.password, dbname=(parts.path or "/test").lstrip("/"), connect_timeout=3,
        ) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # any failure means "not usable here"
        return f"{exc.__class__.__name__}: {str(exc).strip()[:200]}"


@functools.cache
def _redis_problem() -> str | None:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                return "no PONG"
        return None
    except OSError as exc:
        return str(exc)


def require_postgres() -> str:
    """The base PostgreSQL URL, or skip/fail."""
    problem = _postgres_problem()
    if problem:
        unavailable(f"PostgreSQL at {POSTGRES_URL}", problem)
    return POSTGRES_URL


def require_redis() -> str:
    problem = _redis_problem()
    if problem:
        unavailable(f"Redis at {REDIS_URL}", problem)
    return REDIS_URL


@contextmanager
def postgres_schema_url(prefix: str = "odr_t") -> Iterator[str]:
    """A throwaway schema on the test database; yields a URL whose search_path points at it and
    drops the schema (CASCADE) afterwards."""
    import psycopg

    base = require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    raw = base.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    finally:
        with psycopg.connect(raw, autocommit=True) as conn:
            # connections a test leaked would block the DROP: end them first
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = %s AND pid <> pg_backend_pid()", (schema,))
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
