"""The real worker process (`python -m disputes.worker`): killed mid-delivery it loses nothing and
the platform sees the settlement request processed once; and the scaled set-up (RedisHuey +
PostgreSQL) runs a case end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from disputes import db as dbmod
from disputes import service
from disputes.clock import SystemClock
from disputes.models import CaseEvent, WebhookDelivery
from disputes.states import State
from tests.disputes.conftest import (
    SEVEN_DAY_DECISION,
    ServerThread,
    make_facts,
    platform_api_app,
    write_platforms_file,
)
from tests.services import postgres_schema_url, require_redis

REPO = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "disputes.worker", "--workers", "2"], cwd=REPO, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up, exactly like a crash or an OOM kill."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:  # pragma: no cover
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()


def wait_for(predicate, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def setup_world(db_url: str, tmp_path: Path, monkeypatch, receive_delay: float, queue_env: dict[str, str]):
    from sandbox.app import create_app, load_policies

    dbmod.upgrade(db_url)
    api = ServerThread(platform_api_app(db_url, None))
    # The worker process is not in demo mode: it gets a secret of its own, never the public demo one.
    secret = f"worker-test-{os.urandom(8).hex()}"
    sandbox_app = create_app({"API_BASE": f"{api.url}/api/platform/v1", "DELAY_SECONDS": 0,
                              "POLICIES": load_policies(), "SECRET": secret,
                              "RECEIVE_DELAY_SECONDS": receive_delay})
    sandbox = ServerThread(sandbox_app)
    platforms = write_platforms_file(tmp_path / "platforms.yaml", f"{sandbox.url}/settlements")
    monkeypatch.setenv("ODR_PLATFORMS_FILE", platforms)
    monkeypatch.setenv("ODR_SANDBOX_SECRET", secret)
    monkeypatch.delenv("ODR_DEMO", raising=False)
    env = {**os.environ, "ODR_DATABASE_URL": db_url, "ODR_PLATFORMS_FILE": platforms,
           "ODR_DELIVERY_LEASE_SECONDS": "2", "PYTHONUNBUFFERED": "1", **queue_env}
    return api, sandbox, sandbox_app.extensions["ledger"], env


def submit(db_url: str) -> str:
    with dbmod.session_factory(db_url)() as s:
        return service.submit_complaint(s, channel="web", sender_id="web-alice",
                                        facts=make_facts(platform="沙盒商城"), decision=SEVEN_DAY_DECISION,
                                        clock=SystemClock()).case_no


def rows(db_url: str, case_no: str):
    with dbmod.session_factory(db_url)() as s:
        from disputes.core import get_case

        case = get_case(s, case_no)
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
        deliveries = list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.case_id == case.id)
                                    .order_by(WebhookDelivery.id)))
        return case, events, deliveries


def test_worker_killed_mid_delivery_loses_nothing_and_delivers_once(sqlite_url, tmp_path, monkeypatch) -> None:
    api, sandbox, ledger, env = setup_world(sqlite_url, tmp_path, monkeypatch, receive_delay=3.0,
                                            queue_env={"ODR_QUEUE_FILE": str(tmp_path / "queue.sqlite3"),
                                                       "ODR_QUEUE_URL": ""})
    try:
        case_no = submit(sqlite_url)
        first = Worker(env, tmp_path / "worker1.log")
        # the worker opens the case and POSTs; the sandbox is slow to answer, and we kill -9 the
        # worker while the request is in flight
        wait_for(lambda: len(ledger.snapshot()["received"]) >= 1, 60, "the first delivery attempt")
        first.kill()
        case, events, deliveries = rows(sqlite_url, case_no)
        sr = [d for d in deliveries if d.kind == "settlement_request"]
        assert len(sr) == 1 and sr[0].status == "sending" and sr[0].attempts == 1  # outcome never recorded
        assert [e.type for e in events][:4] == ["case_created", "state_changed", "state_changed",
                                                "settlement_requested"]

        # the platform still processes the first copy and answers through our API
        wait_for(lambda: rows(sqlite_url, case_no)[0].state == State.SETTLED, 30, "settlement")
        time.sleep(2.2)  # let the dead worker's lease expire
        second = Worker(env, tmp_path / "worker2.log")
        try:
            wait_for(lambda: rows(sqlite_url, case_no)[2][0].status == "delivered", 60, "re-delivery")
        finally:
            second.stop()

        snap = ledger.snapshot()
        keys = [r["key"] for r in snap["received"] if r["type"] == "settlement_request"]
        assert len(keys) == 2 and len(set(keys)) == 1  # sent twice, same Idempotency-Key
        assert [p["type"] for p in snap["processed"].values()].count("settlement_request") == 1
        assert len(snap["answers"]) == 1  # ... and acted on once
        case, events, deliveries = rows(sqlite_url, case_no)
        sr = deliveries[0]
        assert sr.status == "delivered" and sr.attempts == 2 and sr.idempotency_key == keys[0]
        types = [e.type for e in events]
        for t in ("case_created", "settlement_requested", "platform_accepted", "webhook_delivered"):
            assert types.count(t) == 1, (t, types)
        chain = [e.payload["to"] for e in events if e.type == "state_changed"]
        assert chain == ["submitted", "negotiating", "settled"]
    finally:
        sandbox.close()
        api.close()
        dbmod.dispose(sqlite_url)


def _submit_in_fresh_process(env: dict[str, str]) -> str:
    """Submit like the chat action server does: another process, enqueueing to the configured queue."""
    code = ("from tests.disputes.test_disputes_worker import submit; import os; "
            "print(submit(os.environ['ODR_DATABASE_URL']))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_scaled_setup_redis_queue_and_postgres(tmp_path, monkeypatch) -> None:
    redis_url = require_redis()
    with postgres_schema_url() as pg_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        api, sandbox, ledger, env = setup_world(pg_url, tmp_path, monkeypatch, receive_delay=0,
                                                queue_env={"ODR_QUEUE_URL": redis_url})
        worker = Worker(env, tmp_path / "worker.log")
        try:
            time.sleep(1.0)  # let the start-up sweep finish: the case must come through the queue
            started = time.monotonic()
            case_no = _submit_in_fresh_process(env)
            wait_for(lambda: rows(pg_url, case_no)[0].state == State.SETTLED, 60, "settlement via the worker")
            elapsed = time.monotonic() - started
        finally:
            worker.stop()
            sandbox.close()
            api.close()
            dbmod.dispose(pg_url)
        log = (tmp_path / "worker.log").read_text(errors="replace")
        assert "open_case_task" in log and "deliver_task" in log  # the jobs came through Redis
        print(f"\nRedis queue + PostgreSQL: submitted → settled in {elapsed:.2f}s")
