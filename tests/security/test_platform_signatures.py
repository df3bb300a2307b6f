"""Platform API and webhook signatures.

Reproduced before the fix: the signature covered only timestamp and body, so the signature of one
`GET /cases/A` (empty body) opened every case of that platform for five minutes, and could be
replayed at will; a POST body without `case_no` could be replayed against another case's path;
webhook deliveries followed redirects (a 307 re-posted the signed settlement request, personal
facts included, wherever the platform's server pointed) and went out over plain http. Now the
signed string is METHOD, path, timestamp and body (one scheme, `disputes.signing`, for the API,
the deliveries and the sandbox), `case_no` is required, every signature is used once within the
window, and deliveries never follow redirects and need https outside demo mode.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from types import SimpleNamespace

import pytest
from flask import Flask, redirect, request
from sqlalchemy import select

from disputes import db as dbmod
from disputes import jobs, service
from disputes.models import WebhookDelivery
from disputes.negotiation import open_submitted
from disputes.signing import request_target, sign, signed_headers, target_of, verify
from tests.disputes.conftest import (  # noqa: F401  (fixtures)
    SEVEN_DAY_DECISION,
    ServerThread,
    clock,
    db_url,
    factory,
    make_facts,
    pg_url,
    platform_api_app,
    sqlite_url,
    write_platforms_file,
)
from tests.helpers import ROOT

SECRET = "platform-test-secret-3f9a"
API = "/api/platform/v1"


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("ODR_SANDBOX_SECRET", SECRET)
    monkeypatch.delenv("ODR_PLATFORMS_FILE", raising=False)
    monkeypatch.delenv("ODR_DEMO", raising=False)
    return SECRET


@pytest.fixture
def two_cases(factory, db_url, clock, secret):  # noqa: F811
    """Two negotiating cases of the sandbox platform and a client of the platform API."""
    with factory() as s:
        first = service.submit_complaint(s, channel="web", sender_id="web-alice", facts=make_facts(platform="沙盒商城"),
                                         decision=SEVEN_DAY_DECISION, clock=clock).case_no
        second = service.submit_complaint(s, channel="web", sender_id="web-bob",
                                          facts=make_facts(platform="沙盒商城", order_id="9876543210"),
                                          decision=SEVEN_DAY_DECISION, clock=clock).case_no
    open_submitted(factory, clock)
    return platform_api_app(db_url, clock).test_client(), first, second, factory


def state(factory, case_no: str) -> str:  # noqa: F811
    from disputes.core import get_case

    with factory() as s:
        return get_case(s, case_no).state


def answer(case_no: str, **fields) -> bytes:
    return json.dumps({"case_no": case_no, **fields}, ensure_ascii=False).encode()


def test_the_canonical_string_is_method_path_timestamp_body() -> None:
    body = '{"a":"中文"}'.encode()
    expected = "sha256=" + hmac.new(b"k", b"POST\n/api/platform/v1/cases/X/responses\n1700000000\n" + body,
                                    hashlib.sha256).hexdigest()
    assert sign("k", method="post", target="/api/platform/v1/cases/X/responses", timestamp=1700000000,
                body=body) == expected
    assert request_target("https://platform.example/hooks/%E4%B8%AD?x=1") == "/hooks/中?x=1"
    assert request_target("https://platform.example") == "/" and target_of("/a", "") == "/a"
    with pytest.raises(ValueError):  # the same bytes for another method or path do not verify
        verify("k", "1700000000", body, expected, method="PUT", target="/api/platform/v1/cases/X/responses",
               now=1700000000)


def test_a_get_signature_opens_one_case_once(two_cases) -> None:
    client, first, second, _ = two_cases
    url = f"{API}/cases/{first}"
    headers = signed_headers(SECRET, b"", method="GET", url=url, platform="sandbox")
    stolen = client.get(f"{API}/cases/{second}", headers=headers)
    assert stolen.status_code == 401 and "签名校验失败" in stolen.json["error"]["message"]
    assert client.get(url, headers=headers).json["case_no"] == first
    again = client.get(url, headers=headers)
    assert again.status_code == 409 and "重放" in again.json["error"]["message"]


def test_a_post_signature_is_bound_to_its_path_and_method(two_cases) -> None:
    client, first, second, factory = two_cases  # noqa: F811
    body = answer(first, action="accept")
    headers = signed_headers(SECRET, body, method="POST", url=f"{API}/cases/{first}/responses",
                             idempotency_key="bound-key-0001", platform="sandbox")
    moved = {**headers, "Idempotency-Key": "bound-key-0002"}
    assert client.post(f"{API}/cases/{second}/responses", data=body, headers=moved).status_code == 401
    assert state(factory, second) == "negotiating"
    assert client.post(f"{API}/cases/{first}/responses", data=body, headers=headers).status_code == 200
    assert state(factory, first) == "settled"


def test_case_no_is_required(two_cases) -> None:
    client, first, _, factory = two_cases  # noqa: F811
    body = json.dumps({"action": "accept"}).encode()
    url = f"{API}/cases/{first}/responses"
    resp = client.post(url, data=body, headers=signed_headers(SECRET, body, method="POST", url=url,
                                                              idempotency_key="no-case-no-1", platform="sandbox"))
    assert resp.status_code == 422 and resp.json["error"]["code"] == "case_no_required"
    assert "case_no" in resp.json["error"]["message"] and state(factory, first) == "negotiating"


def test_every_signature_is_used_once_even_when_refused(two_cases) -> None:
    client, first, _, factory = two_cases  # noqa: F811
    url = f"{API}/cases/{first}/responses"
    early = answer(first, action="accept", round=2)  # refused now (round 1), valid once round 2 comes
    headers = signed_headers(SECRET, early, method="POST", url=url, idempotency_key="early-key-01", platform="sandbox")
    assert client.post(url, data=early, headers=headers).status_code == 409
    replay = client.post(url, data=early, headers={**headers, "Idempotency-Key": "other-key-02"})
    assert replay.status_code == 409 and replay.json["error"]["code"] == "replayed"
    assert client.post(url, data=early, headers=headers).json["error"]["code"] == "replayed"
    fixed = answer(first, action="request_info", message="请提供照片")
    resp = client.post(url, data=fixed, headers=signed_headers(SECRET, fixed, method="POST", url=url,
                                                               idempotency_key="early-key-01", platform="sandbox"))
    assert resp.status_code == 200, resp.json


class FakeHttp:
    """Records what the delivery would send instead of sending it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def post(self, url: str, **kwargs):
        self.calls.append((url, kwargs))
        return SimpleNamespace(status_code=202, text="", headers={})


def deliveries(factory) -> list[WebhookDelivery]:  # noqa: F811
    """The settlement requests (a failed one escalates the case, which notifies the platform too)."""
    with factory() as s:
        return list(s.scalars(select(WebhookDelivery).where(WebhookDelivery.kind == "settlement_request")
                              .order_by(WebhookDelivery.id)))


@pytest.fixture
def store(sqlite_url, secret):  # noqa: F811
    dbmod.upgrade(sqlite_url)
    yield dbmod.session_factory(sqlite_url)
    dbmod.dispose(sqlite_url)


def submit(factory, clock, order_id: str = "1234567890") -> str:  # noqa: F811
    with factory() as s:
        return service.submit_complaint(s, channel="web", sender_id="web-alice",
                                        facts=make_facts(platform="沙盒商城", order_id=order_id),
                                        decision=SEVEN_DAY_DECISION, clock=clock).case_no


def test_webhook_deliveries_do_not_follow_redirects(store, clock, tmp_path, monkeypatch) -> None:  # noqa: F811
    seen: list[str] = []
    app = Flask("redirecting-platform")

    @app.post("/settlements")
    def settlements():
        return redirect("/elsewhere", 307)  # a client that follows re-POSTs the signed body there

    @app.route("/elsewhere", methods=["GET", "POST"])
    def elsewhere():
        seen.append(request.get_data(as_text=True))
        return {"ok": True}, 202

    server = ServerThread(app)
    try:
        monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(tmp_path / "platforms.yaml",
                                                                       f"{server.url}/settlements"))
        submit(store, clock)
        jobs.tick(store, clock)
    finally:
        server.close()
    [d] = deliveries(store)
    assert seen == [] and d.status == "dead" and d.response_status == 307
    assert "not followed" in d.last_error


def test_webhooks_need_https_outside_demo_mode(store, clock, tmp_path, monkeypatch) -> None:  # noqa: F811
    from disputes.delivery import url_problem

    assert url_problem("http://platform.example/settlements")
    assert url_problem("https://platform.example/settlements") is None
    for loopback in ("http://127.0.0.1:8100/s", "http://localhost/s", "http://[::1]:8100/s"):
        assert url_problem(loopback) is None  # the traffic never leaves the machine

    http = FakeHttp()
    monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(tmp_path / "plain.yaml",
                                                                   "http://platform.example/settlements"))
    submit(store, clock)
    jobs.tick(store, clock, http=http)
    [d] = deliveries(store)
    assert http.calls == [] and d.status == "dead" and "https" in d.last_error

    monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(tmp_path / "tls.yaml",
                                                                   "https://platform.example/settlements"))
    submit(store, clock, order_id="5555555555")
    jobs.tick(store, clock, http=http)
    [(url, sent)] = [(u, kw) for u, kw in http.calls if json.loads(kw["data"])["type"] == "settlement_request"]
    assert url == "https://platform.example/settlements" and sent["allow_redirects"] is False
    headers = sent["headers"]
    assert verify(SECRET, headers["X-ODR-Timestamp"], sent["data"], headers["X-ODR-Signature"], method="POST",
                  target="/settlements")


def test_plain_http_webhooks_in_demo_mode(store, clock, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("ODR_DEMO", "1")
    http = FakeHttp()
    monkeypatch.setenv("ODR_PLATFORMS_FILE", write_platforms_file(tmp_path / "plain.yaml",
                                                                   "http://platform.example/settlements"))
    submit(store, clock)
    jobs.tick(store, clock, http=http)
    assert len(http.calls) == 1 and deliveries(store)[0].status == "delivered"


def test_the_sandbox_checks_method_and_path(secret) -> None:
    from sandbox.app import create_app

    client = create_app({"SECRET": SECRET, "HELPER_TOKEN": "t", "POLICIES": {"rules": []}}).test_client()
    body = json.dumps({"type": "note", "case_no": "ODR-20260501-0001"}).encode()
    wrong = signed_headers(SECRET, body, method="POST", url="http://sandbox.example/other", idempotency_key="k-1")
    assert client.post("/settlements", data=body, headers=wrong).status_code == 401
    right = signed_headers(SECRET, body, method="POST", url="http://sandbox.example/settlements", idempotency_key="k-1")
    assert client.post("/settlements", data=body, headers=right).status_code == 202


def test_the_documents_state_the_new_scheme() -> None:
    from web.platform_api import openapi_document

    doc = openapi_document()
    description = doc["info"]["description"]
    assert "请求方法" in description and "路径" in description and "只能使用一次" in description
    assert "case_no" in doc["components"]["schemas"]["PlatformAnswer"]["required"]
    api_md = (ROOT / "disputes" / "API.md").read_text(encoding="utf-8")
    assert 'METHOD + "\\n" + path + "\\n" + timestamp + "\\n" + body' in api_md
