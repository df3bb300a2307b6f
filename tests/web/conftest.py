"""Fixtures of the web tests: a frozen clock on the app, cases in every state, consumers and desk
agents with sessions, CSRF tokens scraped from the pages, and WeChat message builders that use
wechatpy's own crypto."""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from typing import Any

import pytest

from tests.helpers import SEVEN_DAY_DECISION
from tests.helpers import make_facts as shared_facts

ALICE = "web-alice-0001"
BOB = "web-bob-0002"
PASSWORD = "correct horse battery"


def _image(fmt: str, **params: Any) -> bytes:
    """A small real image without metadata: the upload stores it unchanged (re-encoding it, which
    strips EXIF, gives the same bytes)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 60, 40)).save(out, fmt, **params)
    return out.getvalue()


PNG = _image("PNG")
JPEG = _image("JPEG", quality=95)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
WEBP = _image("WEBP", quality=90)


@pytest.fixture
def web(app, clock):
    """The app with a frozen clock and WeChat pushes without the courtesy delay."""
    app.config.update(CLOCK=clock, WECHAT_PUSH_DELAY=0)
    return app


@pytest.fixture
def factory(web):
    from disputes.db import session_factory

    return session_factory(web.config["DATABASE_URL"])


def make_facts(**overrides: Any) -> dict[str, Any]:
    """A quality complaint (the desk and case pages show its problem and description)."""
    return shared_facts(**{"problem": "质量问题", "description": "收到后左耳没有声音", **overrides})


DECISION = SEVEN_DAY_DECISION


class Cases:
    """Creates cases and moves them through the lifecycle with the case service's own code."""

    def __init__(self, factory, clock) -> None:
        self.factory, self.clock = factory, clock

    def submit(self, sender: str = ALICE, channel: str = "web", decision: dict | None = DECISION, **facts: Any) -> str:
        from disputes import service

        with self.factory() as db:
            return service.submit_complaint(db, channel=channel, sender_id=sender, facts=make_facts(**facts),
                                            decision=decision, clock=self.clock).case_no

    def negotiating(self, **kw: Any) -> str:
        from disputes import negotiation

        case_no = self.submit(**kw)
        negotiation.open_submitted(self.factory, self.clock, case_no)
        return case_no

    def answer(self, case_no: str, **answer: Any) -> dict[str, Any]:
        from disputes.core import get_case
        from disputes.negotiation import apply_platform_answer, validate_platform_answer
        from disputes.txn import run_in_transaction

        clean = validate_platform_answer(answer)
        with self.factory() as db:
            return run_in_transaction(db, lambda: apply_platform_answer(db, get_case(db, case_no), clean, self.clock,
                                                                        actor="platform"))

    def with_offer(self, amount: str = "150.00", **kw: Any) -> str:
        case_no = self.negotiating(**kw)
        self.answer(case_no, action="counter_offer", amount=amount, remedy="补偿", message="部分退款")
        return case_no

    def escalated_desk(self, **kw: Any) -> str:
        case_no = self.negotiating(**kw)
        self.answer(case_no, action="reject", message="不同意")
        return case_no

    def escalated_regulator(self, **kw: Any) -> str:
        from disputes.core import get_case
        from disputes.negotiation import escalate_to_regulator
        from disputes.txn import run_in_transaction

        case_no = self.escalated_desk(**kw)
        with self.factory() as db:
            run_in_transaction(db, lambda: escalate_to_regulator(db, get_case(db, case_no), self.clock,
                                                                 reason="test"))
        return case_no

    def state(self, case_no: str) -> str:
        from disputes.core import get_case

        with self.factory() as db:
            return get_case(db, case_no).state

    def snapshot(self, case_no: str) -> tuple:
        """Everything a refused request must leave unchanged."""
        from sqlalchemy import func, select

        from disputes.core import get_case
        from disputes.models import CaseEvent, EvidenceFile, Notification, Offer

        with self.factory() as db:
            case = get_case(db, case_no)
            counts = tuple(db.scalar(select(func.count()).select_from(m).where(m.case_id == case.id))
                           for m in (CaseEvent, Offer, EvidenceFile, Notification))
            return case.state, case.version, counts, case.consumer.name, case.consumer.address


@pytest.fixture
def cases(factory, clock) -> Cases:
    return Cases(factory, clock)


def as_consumer(client, sender_id: str):
    """Give the test client a chat session, as the chat page would."""
    with client.session_transaction() as s:
        s["sender_id"] = sender_id
    return client


def csrf_from(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert m, f"no CSRF token on {url}"
    return m.group(1)


@pytest.fixture
def fast_hashes(monkeypatch):
    """Cheap password hashes: the desk tests log in a lot, and scrypt costs ~0.2 s a check."""
    import functools

    import werkzeug.security

    original = werkzeug.security.generate_password_hash
    monkeypatch.setattr(werkzeug.security, "generate_password_hash",
                        functools.partial(original, method="pbkdf2:sha256:1000"))


@pytest.fixture
def desk_users(factory, clock, fast_hashes):
    """alice: agent of 淘宝 (taobao); bob: agent of 京东 (jd); root: admin."""
    from disputes.desk import create_desk_user

    with factory() as db:
        create_desk_user(db, "alice", PASSWORD, clock=clock, platform_key="taobao", display_name="小王")
        create_desk_user(db, "bob", PASSWORD, clock=clock, platform_key="jd")
        create_desk_user(db, "root", PASSWORD, clock=clock, role="admin")
    return {"alice": "taobao", "bob": "jd", "root": None}


def desk_login(client, username: str, password: str = PASSWORD):
    token = csrf_from(client, "/desk/login")
    return client.post("/desk/login", data={"username": username, "password": password, "csrf_token": token})


# ---------------------------------------------------------------- WeChat


TOKEN = "test-token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oUser1234567890abcdefghijkl"


class FakeRasa:
    """Stands in for the Rasa REST channel: answers after `delay` seconds and records the turns."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.delay = 0.0
        self.reply: list[dict[str, Any]] = [{"text": "您好，请问有什么可以帮您？", "buttons": []}]
        self.fail = False
        self.lock = threading.Lock()

    def send(self, sender_id: str, text: str) -> list[dict[str, Any]]:
        from web.rasa_client import RasaUnavailable

        with self.lock:
            self.calls.append((sender_id, text))
        if self.delay:
            time.sleep(self.delay)
        if self.fail:
            raise RasaUnavailable("down")
        return self.reply


@pytest.fixture
def wx(web):
    """The app configured as a WeChat Official Account with a fake Rasa and the local client. Its
    EncodingAESKey puts it in safe mode: plaintext pushes are refused (tests/web/test_wechat.py
    overrides this fixture with the plaintext account)."""
    web.config.update(WECHAT_TOKEN=TOKEN, WECHAT_APP_ID=APP_ID, WECHAT_ENCODING_AES_KEY=AES_KEY,
                      WECHAT_PASSIVE_TIMEOUT=2.0)
    rasa = FakeRasa()
    web.extensions["rasa_client"] = rasa
    return web


def sign(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, *extra])).encode()).hexdigest()


def wx_query(token: str = TOKEN, timestamp: str | None = None, nonce: str | None = None, **extra: str) -> str:
    """A signed query string; a fresh random nonce unless one is given (as WeChat does: a repeated
    timestamp and nonce with another message is refused as a replay)."""
    ts = timestamp or str(int(time.time()))
    nonce = nonce or uuid.uuid4().hex[:16]
    params = {"signature": sign(token, ts, nonce), "timestamp": ts, "nonce": nonce, **extra}
    return "&".join(f"{k}={v}" for k, v in params.items())


def text_xml(content: str, msg_id: int = 1234567890123456, openid: str = OPENID) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_odr]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def image_xml(media_id: str, msg_id: int = 2234567890123456, openid: str = OPENID) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_odr]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[http://mmbiz.example/pic]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId></xml>")


def post_plain(client, xml: str, **query: str):
    return client.post(f"/wechat?{wx_query(**query)}", data=xml.encode(), content_type="text/xml")


def post_encrypted(client, xml: str, *, token: str = TOKEN, key: str = AES_KEY, app_id: str = APP_ID,
                   tamper: bool = False):
    """Encrypt like WeChat's server does in safe mode, with wechatpy's own crypto."""
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    ts, nonce = str(int(time.time())), "n0nce42"
    envelope = WeChatCrypto(token, key, app_id).encrypt_message(xml, nonce, ts)
    parsed = xmltodict.parse(envelope)["xml"]
    encrypted, msg_signature = parsed["Encrypt"], parsed["MsgSignature"]
    if tamper:
        msg_signature = "0" * 40
    body = f"<xml><ToUserName><![CDATA[gh_odr]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    query = wx_query(token=TOKEN, timestamp=ts, nonce=nonce, encrypt_type="aes", msg_signature=msg_signature)
    return client.post(f"/wechat?{query}", data=body.encode(), content_type="text/xml"), (ts, nonce)


def decrypt_reply(body: str, ts: str, nonce: str) -> dict[str, Any]:
    import xmltodict
    from wechatpy.crypto import WeChatCrypto

    parsed = xmltodict.parse(body)["xml"]
    plain = WeChatCrypto(TOKEN, AES_KEY, APP_ID).decrypt_message(body, parsed["MsgSignature"], ts, nonce)
    return xmltodict.parse(plain)["xml"]
