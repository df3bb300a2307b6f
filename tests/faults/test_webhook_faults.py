"""A platform webhook that fails with 500, then times out, then accepts; and a platform that,
having seen the request twice, answers twice under different Idempotency-Keys. tests/disputes
covers a refused connection (backoff, escalation), a worker killed mid-delivery and duplicate
answers under the same key; this covers the HTTP 500 and timeout paths and the two-keys double
answer: the same key on every retry, and a single settlement."""

from __future__ import annotations

import json
import threading

from flask import Flask, request
from sqlalchemy import func, select

from disputes import db as dbmod
from disputes import jobs, service
from disputes.core import get_case
from disputes.models import CaseEvent, Notification, WebhookDelivery
from disputes.signing import signed_headers
from tests.disputes.conftest import (
    SEVEN_DAY_DECISION,
    ServerThread,
    make_facts,
    platform_api_app,
    write_platforms_file,
)

SECRET = "sandbox-dev-secret"


class ScriptedPlatform:
    """Answers settlement requests by script: "500", "hang" (until released) or "ok"."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.seen: list[dict] = []
        self.release = threading.Event()
        app = Flask("scripted-platform")

        @app.post("/settlements")
        def settlements():
            self.seen.append({"key": request.headers.get("Idempotency-Key"),
                              "attempt": request.headers.get("X-ODR-Attempt")})
            step = self.script.pop(0) if self.script else "ok"
            if step == "500":
                return {"error": "boom"}, 500
            if step == "hang":
                self.release.wait(30)  # longer than the client's timeout: the sender gives up first
            return {"received": True}, 202

        self.server = ServerThread(app)


def test_500_then_timeout_then_success_then_two_answers_settle_once(tmp_path, monkeypatch, clock) -> None:
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    dbmod.upgrade(url)
    factory = dbmod.session_factory(url)
    platform = ScriptedPlatform(["500", "hang", "ok"])
    monkeypatch.delenv("ODR_SANDBOX_SECRET", raising=False)
    monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(
        tmp_path / "platforms.yaml", f"{platform.server.url}/settlements",
        webhook={"timeout_seconds": 1, "max_attempts": 8, "base_seconds": 5, "max_backoff_seconds": 3600}))
    try:
        with factory() as s:
            case_no = service.submit_complaint(s, channel="web", sender_id="web-alice",
                                               facts=make_facts(platform="沙盒商城"), decision=SEVEN_DAY_DECISION,
                                               clock=clock).case_no

        def delivery() -> WebhookDelivery:
            with factory() as s:
                return s.scalars(select(WebhookDelivery).where(WebhookDelivery.kind == "settlement_request")).one()

        jobs.tick(factory, clock)  # opens the negotiation; attempt 1 gets a 500
        d = delivery()
        assert (d.status, d.attempts, d.response_status) == ("pending", 1, 500)
        clock.set(d.next_attempt_at)
        jobs.tick(factory, clock)  # attempt 2 hangs past the 1 s timeout
        platform.release.set()
        d = delivery()
        assert (d.status, d.attempts) == ("pending", 2) and "Timeout" in (d.last_error or "")
        clock.set(d.next_attempt_at)
        jobs.tick(factory, clock)  # attempt 3 is accepted
        d = delivery()
        assert (d.status, d.attempts) == ("delivered", 3)
        assert [s["attempt"] for s in platform.seen] == ["1", "2", "3"]
        assert {s["key"] for s in platform.seen} == {d.idempotency_key}  # one key across retries

        # The platform processed the timed-out copy and the retry separately and answers twice,
        # at the same moment, under two different keys: one settlement, the other is refused.
        api = platform_api_app(url, clock)
        body = json.dumps({"action": "accept", "case_no": case_no, "message": "同意退货退款"},
                          ensure_ascii=False).encode()
        url = f"/api/platform/v1/cases/{case_no}/responses"
        barrier = threading.Barrier(2)
        answers: list[tuple[int, dict]] = []

        def answer(key: str) -> None:
            client = api.test_client()
            headers = signed_headers(SECRET, body, method="POST", url=url, idempotency_key=key, platform="sandbox")
            barrier.wait(10)
            resp = client.post(url, data=body, headers=headers)
            answers.append((resp.status_code, resp.get_json()))

        threads = [threading.Thread(target=answer, args=(k,)) for k in ("answer-copy-0001", "answer-copy-0002")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(code for code, _ in answers)
        assert codes[0] == 200 and 400 <= codes[1] < 500, answers
        refused = next(body for code, body in answers if code != 200)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in refused["error"]["message"])
        with factory() as s:
            case = get_case(s, case_no)
            assert case.state == "settled"
            types = list(s.scalars(select(CaseEvent.type).where(CaseEvent.case_id == case.id)))
            assert types.count("platform_accepted") == 1 and types.count("webhook_delivered") == 1
            assert types.count("webhook_retry") == 2
            settled_notes = s.scalar(select(func.count()).select_from(Notification).where(
                Notification.case_id == case.id, Notification.kind == "settled"))
            assert settled_notes == 1
    finally:
        platform.release.set()
        platform.server.close()
        dbmod.dispose(url)
