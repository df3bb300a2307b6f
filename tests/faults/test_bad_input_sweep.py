"""Bad-input sweep over the public endpoints with hypothesis-generated requests: the platform API
(driven by its own OpenAPI document), the chat API, WeChat (signed and unsigned), the consumer
case pages and the desk login. Whatever arrives: no 500, errors in Chinese, and no row of the case
store changes. Examples are bounded so the sweep takes seconds; SQLite only (the handlers are the
same on PostgreSQL, and tests/disputes runs the platform API on both)."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from disputes import service
from disputes.negotiation import open_submitted, validate_platform_answer
from disputes.signing import signed_headers
from tests.faults.conftest import row_counts
from tests.helpers import SEVEN_DAY_DECISION, make_facts
from tests.web.conftest import AES_KEY, APP_ID, TOKEN, FakeRasa, sign

SECRET = "sandbox-dev-secret"
OWNER = "web-owner-0001"
STRANGER = "web-stranger-0002"
CJK = re.compile(r"[\u4e00-\u9fff]")
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)
answer_like = st.fixed_dictionaries(
    {"action": st.sampled_from(["accept", "counter_offer", "reject", "request_info", "maybe", "", "ACCEPT"])},
    optional={"amount": json_values, "remedy": json_values, "round": json_values, "law": json_values,
              "article": json_values, "message": json_values},
)
case_numbers = st.one_of(
    st.text(min_size=1, max_size=30),
    st.from_regex(r"ODR-\d{8}-\d{4}", fullmatch=True),
    st.sampled_from(["odr-20260504-0001", "ODR-20260504-0001 ", "..", "%00", "ODR-20260504-00001"]),
)


@pytest.fixture
def site(tmp_path, clock, monkeypatch):
    """The whole web app on a throwaway SQLite store with one negotiating sandbox case of OWNER,
    WeChat configured, Rasa down and cheap password hashes for the desk."""
    import werkzeug.security

    from web import create_app

    monkeypatch.delenv("ODR_SANDBOX_SECRET", raising=False)
    url = f"sqlite:///{tmp_path / 'cases.sqlite3'}"
    app = create_app({
        "TESTING": True, "SECRET_KEY": "faults", "DATABASE_URL": url, "RASA_URL": "http://127.0.0.1:9",
        "RASA_TIMEOUT": 2.0, "UPLOAD_DIR": str(tmp_path / "uploads"), "MAX_CONTENT_LENGTH": 256 * 1024,
        "CLOCK": clock, "WECHAT_PUSH_DELAY": 0, "DESK_LOGIN_LIMIT": "10000/minute",
        "DESK_LOGIN_USER_LIMIT": "10000/minute",
    })
    app.config.update(WECHAT_TOKEN=TOKEN, WECHAT_APP_ID=APP_ID, WECHAT_ENCODING_AES_KEY=AES_KEY,
                      WECHAT_PASSIVE_TIMEOUT=2.0)
    app.extensions["rasa_client"] = FakeRasa()
    from disputes.db import session_factory
    from disputes.desk import create_desk_user

    cheap = werkzeug.security.generate_password_hash("x", method="pbkdf2:sha256:1000")
    monkeypatch.setattr("web.desk._DUMMY_HASH", cheap, raising=False)
    factory = session_factory(url)
    with factory() as db:
        case_no = service.submit_complaint(db, channel="web", sender_id=OWNER, facts=make_facts(platform="沙盒商城"),
                                           decision=SEVEN_DAY_DECISION, clock=clock).case_no
        create_desk_user(db, "agent1", "a long correct password", clock=clock, platform_key="sandbox")
    open_submitted(factory, clock)
    return app, url, case_no


def check(resp, before: dict[str, int], url: str, *, allow: tuple[int, ...] = ()) -> None:
    """The invariants of every refused request."""
    assert resp.status_code < 500 or resp.status_code in allow, (resp.status_code, resp.get_data()[:300])
    if resp.status_code >= 400:
        text = json.dumps(resp.get_json(), ensure_ascii=False) if resp.is_json else resp.get_data(as_text=True)
        assert CJK.search(text), resp.get_data()[:300]
    assert row_counts(url) == before


def is_valid_answer(body: bytes) -> bool:
    try:
        validate_platform_answer(json.loads(body))
    except Exception:
        return False
    return True


def session_as(client, sender: str):
    with client.session_transaction() as s:
        s["sender_id"] = sender
    return client


# ---------------------------------------------------------------- platform API


def test_platform_api_openapi_operations(site) -> None:
    app, url, case_no = site
    client = app.test_client()
    doc = client.get("/api/platform/v1/openapi.json").get_json()
    operations = [(path, method.upper()) for path, item in doc["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete") and "{" in path]
    assert operations, doc["paths"]
    before = row_counts(url)

    @FUZZ
    @given(op=st.sampled_from(operations), case=st.one_of(st.just(case_no), case_numbers),
           auth=st.sampled_from(["none", "garbage", "signed", "wrong-platform", "stale"]),
           body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                          answer_like.map(lambda v: json.dumps(v, ensure_ascii=False).encode())),
           key=st.one_of(st.none(), st.text(max_size=20), st.from_regex(r"[A-Za-z0-9]{8,20}", fullmatch=True)))
    def run(op, case, auth, body, key) -> None:
        path, method = op
        if auth == "signed" and method == "POST" and case == case_no:
            assume(not is_valid_answer(body))  # a valid, signed answer rightly changes the case
        headers: dict[str, str] = {}
        target = re.sub(r"\{[^}]+\}", quote(case, safe=""), path, count=1)
        if auth == "garbage":
            headers = {"X-ODR-Platform": "sandbox", "X-ODR-Timestamp": "abc", "X-ODR-Signature": "sha256=00"}
        elif auth != "none":
            headers = signed_headers(SECRET, body, method=method, url=f"/api/platform/v1{target}",
                                     idempotency_key=key or None,
                                     platform="taobao" if auth == "wrong-platform" else "sandbox",
                                     timestamp=1_000_000_000 if auth == "stale" else None)
        resp = client.open(f"/api/platform/v1{target}", method=method, data=body, headers=headers)
        check(resp, before, url)
        if resp.status_code >= 400:
            assert CJK.search(resp.get_json()["error"]["message"])

    run()


# ---------------------------------------------------------------- chat API


def test_chat_messages(site) -> None:
    app, url, _ = site
    client = app.test_client()
    app.extensions["rasa_client"].fail = True  # every valid message gets the Chinese 503: no turn happens
    before = row_counts(url)

    @FUZZ
    @given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode()),
                          st.text(max_size=2100).map(lambda t: json.dumps({"text": t}).encode())),
           ctype=st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", ""]))
    def run(body, ctype) -> None:
        resp = client.post("/api/chat/messages", data=body, content_type=ctype or None)
        check(resp, before, url, allow=(503,))  # 503 = the documented "dialogue server down" answer
        if resp.status_code >= 400:
            assert CJK.search(resp.get_json()["error"])

    run()


# ---------------------------------------------------------------- WeChat


def test_wechat_signed_and_unsigned(site) -> None:
    app, url, _ = site
    client = app.test_client()
    before = row_counts(url)
    xmlish = st.builds(
        lambda tag, inner: f"<xml><{tag}>{inner}</{tag}></xml>",
        st.sampled_from(["MsgType", "Content", "Encrypt", "FromUserName", "MsgId", "x"]), st.text(max_size=40))

    @FUZZ
    @given(method=st.sampled_from(["GET", "POST", "PUT"]), signed=st.booleans(),
           ts=st.one_of(st.just("1700000000"), st.text(max_size=12)), nonce=st.text(max_size=12),
           extra=st.dictionaries(st.sampled_from(["echostr", "encrypt_type", "msg_signature", "openid"]),
                                 st.text(max_size=20), max_size=3),
           body=st.one_of(st.binary(max_size=300), xmlish.map(str.encode)))
    def run(method, signed, ts, nonce, extra, body) -> None:
        query = {"timestamp": ts, "nonce": nonce, **extra,
                 "signature": sign(TOKEN, ts, nonce) if signed else "0" * 40}
        qs = "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        resp = client.open(f"/wechat?{qs}", method=method, data=body, content_type="text/xml")
        if method == "GET" and resp.status_code == 200:
            return  # a signed server verification with a well-formed echostr: answered, nothing stored
        check(resp, before, url)

    run()


# ---------------------------------------------------------------- consumer case pages


def test_case_pages(site) -> None:
    app, url, case_no = site
    before = row_counts(url)
    owner = session_as(app.test_client(), OWNER)
    html = owner.get(f"/cases/{case_no}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert token
    stranger = session_as(app.test_client(), STRANGER)
    anonymous = app.test_client()

    @FUZZ
    @given(who=st.sampled_from(["owner", "owner-no-csrf", "stranger", "anonymous"]),
           case=st.one_of(st.just(case_no), case_numbers),
           action=st.sampled_from(["GET ", "POST offer", "POST contact", "POST evidence", "GET package.json",
                                   "GET package.pdf", "GET evidence/1"]),
           form=st.dictionaries(st.sampled_from(["offer_id", "decision", "name", "phone", "address",
                                                 "shop_address", "description"]), st.text(max_size=40),
                                max_size=4),
           upload=st.binary(max_size=200))
    def run(who, case, action, form, upload) -> None:
        if who == "owner" and action == "POST contact" and case.strip().upper() == case_no:
            assume(False)  # the owner may legitimately fill in contact details
        client = {"owner": owner, "owner-no-csrf": owner, "stranger": stranger, "anonymous": anonymous}[who]
        method, _, sub = action.partition(" ")
        target = f"/cases/{quote(case, safe='')}" + (f"/{sub}" if sub else "")
        data: dict = dict(form)
        if who == "owner":
            data["csrf_token"] = token.group(1)
        if sub == "evidence":
            data["file"] = (io.BytesIO(upload), "证据.png")
        resp = client.open(target, method=method, data=data if method == "POST" else None,
                           content_type="multipart/form-data" if method == "POST" else None)
        check(resp, before, url)

    run()


# ---------------------------------------------------------------- desk login


def test_desk_login(site) -> None:
    app, url, _ = site
    client = app.test_client()
    html = client.get("/desk/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert token
    before = row_counts(url)

    @FUZZ
    @given(username=st.text(max_size=80), password=st.text(max_size=80), with_token=st.booleans(),
           extra=st.dictionaries(st.sampled_from(["next", "remember", "csrf_token"]), st.text(max_size=20),
                                 max_size=2))
    def run(username, password, with_token, extra) -> None:
        data = {"username": username, "password": password, **extra}
        if with_token:
            data["csrf_token"] = token.group(1)
        resp = client.post("/desk/login", data=data)
        assert resp.status_code != 302 or "/desk/login" in resp.headers.get("Location", ""), "a random login passed"
        check(resp, before, url)

    run()
