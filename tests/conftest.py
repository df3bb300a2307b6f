"""Shared fixtures: a Flask app on a throwaway SQLite database per test, and its test client; the
scaled-out stack (tests/e2e/scaled.py), shared by the end-to-end and the fault tests."""

from __future__ import annotations

import os

import pytest

from tests.e2e.scaled import scaled, scaled_stack  # noqa: F401  (shared by e2e and faults)
from tests.helpers import release_unused

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def jobs():
    """Background jobs the case service asks for after commit are recorded, never queued."""
    from disputes import dispatch

    seen: list[tuple[str, dict]] = []
    old = dispatch.set_dispatcher(lambda job, kwargs: seen.append((job, kwargs)))
    yield seen
    dispatch.set_dispatcher(old)


@pytest.fixture
def clock():
    from disputes.clock import FrozenClock

    return FrozenClock("2026-05-04T10:00:00+08:00")


@pytest.fixture
def database_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'odr-test.sqlite3'}"


@pytest.fixture
def app(database_url, tmp_path):
    from web import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "RASA_URL": "http://127.0.0.1:9",  # nothing listens there: Rasa is "down" unless a test says otherwise
            "RASA_TIMEOUT": 2.0,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            "MAX_CONTENT_LENGTH": 1024 * 1024,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


def pytest_runtest_teardown(item, nextitem):
    release_unused(item)  # stop session-scoped server stacks after their last test
