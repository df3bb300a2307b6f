"""Schemathesis against the platform API's own OpenAPI document (/api/platform/v1/openapi.json),
with the whole web app in-process (WSGI).

Every operation is called with requests generated from the document, schema-conforming
(positive) and not (negative), three ways:

- unsigned: the security headers as schemathesis makes them up (random X-ODR-Platform,
  X-ODR-Timestamp, X-ODR-Signature), or none;
- badly signed: the wrong secret, a timestamp outside the window, a signature over another
  method, path or body, garbage, or the name of a platform without a signing key;
- signed: each generated request signed with the scheme of `disputes.signing` (method, path,
  timestamp, body), on the real case numbers of a case of the signing platform and of a case of
  another platform, or on generated ones. The signature covers the exact body bytes, so `call`
  serialises the generated body once and sends those bytes with the headers signed over them
  (an auth provider sets headers before the body is serialised).

Checks: no 500; the answer conforms to the document (status code, content type, schema); every
error is JSON in the documented shape `{"error": {"code": …, "message": <Chinese>}}`; an unsigned
or badly signed call changes nothing at all, a signed call that is refused changes nothing but
the replay mark of its own signature (a signature is used once, refused or not), and no call
touches the case of another platform. The number of examples is bounded so that the file runs in
well under a minute.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from disputes.signing import (  # noqa: E402
    HEADER_PLATFORM,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    sign,
    signed_headers,
)
from tests.web.conftest import Cases  # noqa: E402

OPENAPI = "/api/platform/v1/openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CJK = re.compile(r"[\u4e00-\u9fff]")
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
TABLES = ("cases", "case_events", "offers", "notifications", "escalations", "evidence_files", "platform_requests",
          "webhook_deliveries", "consumers", "merchants", "replay_marks")
CALLS: dict[str, int] = {"unsigned": 0, "bad_signature": 0, "signed": 0, "signed_ok": 0}
_TICKS = itertools.count()
STATUSES: dict[str, Counter] = {"unsigned": Counter(), "bad_signature": Counter(), "signed": Counter()}


def fuzz_settings(examples: int):
    return settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def api(app, clock):
    """A negotiating case of the sandbox platform (the one that signs) with a pending offer, and a
    negotiating case of 京东 (another platform), on a throwaway database."""
    from disputes.config import load_platforms
    from disputes.db import session_factory

    app.config.update(CLOCK=clock)
    factory = session_factory(app.config["DATABASE_URL"])
    cases = Cases(factory, clock)
    own = cases.with_offer(sender="web-st-alice", platform="沙盒商城")
    other = cases.with_offer(sender="web-st-bob", platform="京东")
    schema = schemathesis.openapi.from_wsgi(OPENAPI, app)
    return {"app": app, "factory": factory, "schema": schema, "own": own, "other": other,
            "secret": load_platforms().platforms["sandbox"].secret}


def operations(schema) -> list[Any]:
    ops = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in ops} >= {("GET", "/cases/{case_no}"),
                                                           ("POST", "/cases/{case_no}/responses")}
    return ops


def snapshot(factory) -> dict[str, Any]:
    """Row counts of every table a call could touch, and each case's state and version."""
    from sqlalchemy import text

    with factory() as db:
        counts = {t: db.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES}
        cases = sorted(db.execute(text("SELECT case_no, state, version, round FROM cases")).all())
    return {"counts": counts, "cases": [tuple(c) for c in cases]}


def without_replay_marks(snap: dict[str, Any]) -> dict[str, Any]:
    return {"counts": {k: v for k, v in snap["counts"].items() if k != "replay_marks"}, "cases": snap["cases"]}


def body_bytes(case) -> bytes:
    from schemathesis.core import NotSet

    if isinstance(case.body, NotSet):
        return b""
    try:
        return json.dumps(case.body).encode()
    except (TypeError, ValueError):
        return str(case.body).encode()


def target_of(case) -> str:
    """The request target as the app sees it (the signature covers the decoded path)."""
    kwargs = case.as_transport_kwargs()
    query = kwargs.get("query_string")
    if isinstance(query, dict) and query:
        from urllib.parse import urlencode

        return kwargs["path"] + "?" + urlencode(query, doseq=True)
    return kwargs["path"]


def fresh_timestamp() -> int:
    """A timestamp inside the 5-minute window, a different one for each call: two generated calls
    with the same method, path and body in the same second would otherwise carry the same
    signature, and the second be refused as a replay."""
    return int(time.time()) - next(_TICKS) % 240


def dropped_security_headers(case) -> set[str]:
    """The signature headers a negative case leaves out on purpose (a missing required header)."""
    from schemathesis.transport.prepare import get_exclude_headers

    security = {HEADER_PLATFORM.lower(), HEADER_TIMESTAMP.lower(), HEADER_SIGNATURE.lower()}
    return {name.lower() for name in get_exclude_headers(case)} & security


def check_error_shape(resp) -> None:
    """Every error of the platform API: JSON {"error": {"code": str, "message": Chinese str}}."""
    if resp.status_code < 400:
        return
    assert resp.headers.get("content-type", [""])[0].startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and CJK.search(error["message"]), body


def call(case, body: bytes, headers: dict[str, str] | None):
    """Send the case with exactly `body` (the bytes a signature covers) and validate the answer."""
    response = case.call(headers=headers, data=body)
    case.validate_response(response, checks=CHECKS)
    check_error_shape(response)
    return response


# ---------------------------------------------------------------- unsigned calls


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_unsigned_calls_are_refused_and_change_nothing(api, mode) -> None:
    for op in operations(api["schema"]):

        @fuzz_settings(25)
        @given(case=op.as_strategy(generation_mode=mode), drop=st.booleans())
        def run(case, drop: bool) -> None:
            if drop:  # no security headers at all
                for name in (HEADER_PLATFORM, HEADER_TIMESTAMP, HEADER_SIGNATURE):
                    case.headers.pop(name, None)
            before = snapshot(api["factory"])
            resp = call(case, body_bytes(case), None)
            CALLS["unsigned"] += 1
            STATUSES["unsigned"][resp.status_code] += 1
            assert resp.status_code in (401, 404), (resp.status_code, resp.text[:300])
            assert snapshot(api["factory"]) == before

        run()


# ---------------------------------------------------------------- badly signed calls

CORRUPTIONS = ("wrong_secret", "stale", "future", "other_method", "other_path", "tampered_body", "no_prefix_garbage",
               "other_platform")


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_badly_signed_calls_are_refused_and_change_nothing(api, mode) -> None:
    for op in operations(api["schema"]):

        @fuzz_settings(25)
        @given(case=op.as_strategy(generation_mode=mode), how=st.sampled_from(CORRUPTIONS), real=st.booleans())
        def run(case, how: str, real: bool) -> None:
            if real:  # on the signing platform's own case: the signature is all that stands in the way
                case.path_parameters["case_no"] = api["own"]
                if isinstance(case.body, dict):
                    case.body["case_no"] = api["own"]
            body, target = body_bytes(case), target_of(case)
            now = int(time.time())
            secret, platform, ts, method = api["secret"], "sandbox", now, case.method.upper()
            signed_body, signed_target = body, target
            if how == "wrong_secret":
                secret = "not-" + secret
            elif how == "stale":
                ts = now - 301
            elif how == "future":
                ts = now + 301
            elif how == "other_method":
                method = "GET" if method == "POST" else "POST"
            elif how == "other_path":
                signed_target = target.replace("/cases/", "/cases/X", 1)
            elif how == "tampered_body":
                signed_body = body + b" "
            elif how == "other_platform":
                platform = "jd"  # a platform without a signing secret: no key of its own
            signature = sign(secret, method=method, target=signed_target, timestamp=ts, body=signed_body)
            if how == "no_prefix_garbage":
                signature = "sha256=" + uuid.uuid4().hex * 2
            headers = {HEADER_PLATFORM: platform, HEADER_TIMESTAMP: str(ts), HEADER_SIGNATURE: signature}
            before = snapshot(api["factory"])
            resp = call(case, body, headers)
            CALLS["bad_signature"] += 1
            STATUSES["bad_signature"][resp.status_code] += 1
            assert resp.status_code in (401, 404), (how, resp.status_code, resp.text[:300])
            if resp.status_code == 401:
                assert resp.json()["error"]["code"] in ("unauthenticated", "bad_signature")
            assert snapshot(api["factory"]) == before, how

        run()


# ---------------------------------------------------------------- signed calls


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_signed_calls_never_fail_and_refusals_change_nothing(api, mode) -> None:
    """Signed with the sandbox platform's secret: on its own case, on another platform's case, or
    on a generated number. A refused call leaves every case as it was (only its signature is used
    up); the other platform's case is never touched."""
    for op in operations(api["schema"]):

        @fuzz_settings(40)
        @given(case=op.as_strategy(generation_mode=mode), which=st.sampled_from(["own", "other", "generated"]),
               named=st.booleans())
        def run(case, which: str, named: bool) -> None:
            if which != "generated":
                case.path_parameters["case_no"] = api[which]
                if named and isinstance(case.body, dict):
                    case.body["case_no"] = api[which]
            body, target = body_bytes(case), target_of(case)
            headers = signed_headers(api["secret"], body, method=case.method.upper(), url=target, platform="sandbox",
                                     timestamp=fresh_timestamp())
            headers.pop("Content-Type", None)  # the case's own media type goes with its body
            before = snapshot(api["factory"])
            other_before = [c for c in before["cases"] if c[0] == api["other"]]
            resp = call(case, body, headers)
            CALLS["signed"] += 1
            STATUSES["signed"][(resp.status_code, resp.json().get("error", {}).get("code", "ok"))] += 1
            after = snapshot(api["factory"])
            assert [c for c in after["cases"] if c[0] == api["other"]] == other_before
            if dropped_security_headers(case):  # a negative case without a signature header: unsigned
                assert resp.status_code == 401 and after == before, resp.text[:300]
            elif resp.status_code >= 400:
                assert without_replay_marks(after) == without_replay_marks(before), resp.text[:300]
                assert resp.json()["error"]["code"] != "bad_signature", "the signing helper and the app disagree"
            else:
                CALLS["signed_ok"] += 1
                assert which == "own", (which, resp.status_code, resp.text[:300])

        run()


def test_a_valid_signed_answer_goes_through(api) -> None:
    """The control for the above: the signing scheme used here is the app's. A counter-offer on the
    sandbox case is applied once; the same request again is an idempotent retry (the stored answer,
    nothing applied twice); its signature with another Idempotency-Key is a replay (409)."""
    op = api["schema"]["/cases/{case_no}/responses"]["POST"]
    case = op.Case(path_parameters={"case_no": api["own"]}, headers={"Idempotency-Key": "st-control-0001"},
                   body={"case_no": api["own"], "action": "counter_offer", "amount": "80", "remedy": "补偿"},
                   media_type="application/json")
    body = body_bytes(case)
    headers = signed_headers(api["secret"], body, method="POST", url=target_of(case), platform="sandbox")
    before = snapshot(api["factory"])
    resp = call(case, body, headers)
    assert resp.status_code == 200 and resp.json()["ok"] is True, resp.text
    applied = snapshot(api["factory"])
    assert applied["counts"]["offers"] == before["counts"]["offers"] + 1
    retry = call(case, body, headers)
    assert retry.status_code == 200 and retry.json() == resp.json()
    assert retry.headers.get("idempotent-replayed") == ["true"]
    replay = call(case, body, {**headers, "Idempotency-Key": "st-control-0002"})
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "replayed"
    assert snapshot(api["factory"]) == applied


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"a":' * 3000 + b"1" + b"}" * 3000,
                                  b"not json", b"\xff\xfe", b"x" * (1024 * 1024 + 1)],
                         ids=["nested-arrays", "nested-objects", "text", "not-utf8", "over-max-content-length"])
def test_hostile_signed_bodies_get_the_error_shape(api, body: bytes) -> None:
    """What the generator does not make: JSON nested thousands deep (the parser's recursion limit),
    bytes that are not JSON or not UTF-8, a body over MAX_CONTENT_LENGTH. Each a JSON error in the
    documented shape, never a 500, and nothing changes but the signature's replay mark."""
    op = api["schema"]["/cases/{case_no}/responses"]["POST"]
    case = op.Case(path_parameters={"case_no": api["own"]}, headers={"Idempotency-Key": f"st-{uuid.uuid4().hex}"},
                   body={}, media_type="application/json")
    headers = signed_headers(api["secret"], body, method="POST", url=target_of(case), platform="sandbox")
    before = snapshot(api["factory"])
    resp = case.call(headers=headers, data=body)
    check_error_shape(resp)
    assert resp.status_code in (400, 413), resp.text[:300]
    assert resp.json()["error"]["code"] in ("bad_json", "payload_too_large")
    assert without_replay_marks(snapshot(api["factory"])) == without_replay_marks(before)


def test_report_schemathesis_calls(record_property) -> None:
    """Last in the file: how many generated calls were made (see `-rA` or the junit report)."""
    for kind, n in CALLS.items():
        record_property(f"platform_api_{kind}_calls", n)
    print("platform API schemathesis calls: " + ", ".join(f"{kind} {n}" for kind, n in CALLS.items()))
    for kind, statuses in STATUSES.items():
        print(f"  {kind}: " + ", ".join(f"{k} ×{n}" for k, n in statuses.most_common()))
