"""Stores shared by the security tests: the case service on both back-ends, and the throwaway
case store the Rasa actions open (as tests/actions does)."""

from __future__ import annotations

import pytest

from disputes import db as dbmod
from tests.services import postgres_schema_url

ACTION_CLOCK = "2026-11-28T10:00:00+08:00"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """A migrated case store: SQLite, then a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
        dbmod.upgrade(url)
        yield dbmod.session_factory(url)
        dbmod.dispose(url)
        return
    with postgres_schema_url() as url:
        dbmod.upgrade(url)
        yield dbmod.session_factory(url)
        dbmod.dispose(url)


@pytest.fixture
def actions_case_store(tmp_path, monkeypatch):
    """The case store the actions use (env ODR_DATABASE_URL), migrated, with the actions' clock
    frozen at ACTION_CLOCK and no dispatch; returns its session factory."""
    import actions.runtime as runtime

    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    monkeypatch.setenv("ODR_DATABASE_URL", url)
    monkeypatch.setenv("ODR_DISPATCH", "off")
    monkeypatch.setenv("ODR_CLOCK_AT", ACTION_CLOCK)
    monkeypatch.setattr(runtime, "_clock", None)
    dbmod.upgrade(url)
    return dbmod.session_factory(url)
