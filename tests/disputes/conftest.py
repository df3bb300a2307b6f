"""Fixtures of the case-service tests: a throwaway database per test (SQLite file, or a fresh
PostgreSQL schema), a frozen clock, and a dispatcher that records jobs instead of queueing them."""

from __future__ import annotations

from typing import Any

import pytest

from disputes import db as dbmod
from disputes.clock import FrozenClock
from tests.helpers import SEVEN_DAY_DECISION, ServerThread, make_facts  # noqa: F401  (shared)
from tests.services import postgres_schema_url

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock("2026-05-01T10:00:00+08:00")


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cases.sqlite3'}"


@pytest.fixture
def pg_url():
    with postgres_schema_url() as url:
        yield url
        dbmod.dispose(url)


@pytest.fixture(params=BACKENDS)
def db_url(request) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def factory(db_url):
    dbmod.upgrade(db_url)
    yield dbmod.session_factory(db_url)
    dbmod.dispose(db_url)


@pytest.fixture
def session(factory):
    with factory() as s:
        yield s


# ---------------------------------------------------------------- in-process servers




def platform_api_app(db_url: str, clock=None):
    """A minimal Flask app mounting only the platform API blueprint."""
    from flask import Flask

    from web.platform_api import bp

    app = Flask("platform-api-test")
    app.config.update(TESTING=True, DATABASE_URL=db_url, CLOCK=clock)
    app.register_blueprint(bp)
    return app


def write_platforms_file(path, sandbox_url: str, **sandbox_overrides: Any) -> str:
    """A platforms.yaml whose sandbox points at `sandbox_url` (other settings from the default)."""
    import yaml

    from disputes.config import DEFAULT_FILE

    data = yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))
    data["platforms"]["sandbox"].update(url=sandbox_url, **sandbox_overrides)
    data["defaults"]["webhook"].update(timeout_seconds=5)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


class World:
    """Platform API + sandbox platform on loopback, a case store, a frozen clock, and helpers
    that run the worker's jobs in-process."""

    def __init__(self, factory, db_url: str, clock, sandbox_app, api_server: ServerThread,
                 sandbox_server: ServerThread) -> None:
        self.factory, self.db_url, self.clock = factory, db_url, clock
        self.sandbox_app, self.api, self.sandbox = sandbox_app, api_server, sandbox_server

    @property
    def ledger(self):
        return self.sandbox_app.extensions["ledger"]

    def submit(self, sender: str = "web-alice", decision: dict | None = None, **facts: Any) -> str:
        from disputes import service

        facts.setdefault("platform", "沙盒商城")
        with self.factory() as s:
            return service.submit_complaint(s, channel="web", sender_id=sender, facts=make_facts(**facts),
                                            decision=decision, clock=self.clock).case_no

    def pump(self) -> dict[str, Any]:
        """What the worker does on each tick."""
        from disputes import jobs

        return jobs.tick(self.factory, self.clock)

    def case(self, case_no: str):
        from disputes.core import get_case

        with self.factory() as s:
            return get_case(s, case_no)

    def state(self, case_no: str) -> str:
        with self.factory() as s:
            from disputes.core import get_case

            return get_case(s, case_no).state

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition") -> None:
        import time

        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def wait_state(self, case_no: str, state: str, timeout: float = 15.0) -> None:
        self.wait_for(lambda: self.state(case_no) == state, timeout, f"{case_no} to become {state}")

    def wait_answers(self, n: int, timeout: float = 15.0) -> None:
        self.wait_for(lambda: len(self.ledger.snapshot()["answers"]) >= n, timeout, f"{n} sandbox answers")

    def notifications(self, sender: str = "web-alice") -> list[dict[str, Any]]:
        from disputes import service

        with self.factory() as s:
            return service.pending_notifications(s, "web", sender)


@pytest.fixture
def world(factory, db_url, clock, tmp_path, monkeypatch):
    from sandbox.app import create_app, load_policies

    api = ServerThread(platform_api_app(db_url, clock))
    sandbox_app = create_app({"API_BASE": f"{api.url}/api/platform/v1", "DELAY_SECONDS": 0,
                              "POLICIES": load_policies(), "SECRET": "sandbox-dev-secret"})
    sandbox = ServerThread(sandbox_app)
    monkeypatch.delenv("ODR_SANDBOX_SECRET", raising=False)
    monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(tmp_path / "platforms.yaml",
                                                                   f"{sandbox.url}/settlements"))
    w = World(factory, db_url, clock, sandbox_app, api, sandbox)
    yield w
    sandbox.close()
    api.close()
